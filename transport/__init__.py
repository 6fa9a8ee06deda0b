"""How bytes move between agents: envelopes, topics, and the transports that carry them.

Knows nothing of agents or cryptography.
"""

from ._embedded import EmbeddedBroker
from ._endpoint import Endpoint, EndpointBase, TrafficCounters, Transport, route
from ._envelope import (
    BROADCAST,
    MAX_ENVELOPE_BYTES,
    VERSION,
    Envelope,
    Kind,
    decode,
    encode,
    pack_floats,
    pack_ints,
    unpack_floats,
    unpack_ints,
    validate_id,
)
from ._errors import BrokerError, ConnectionLost, EnvelopeError, TransportError
from ._memory import MemoryBus, MemoryEndpoint
from ._mqtt import BrokerAddress, MqttEndpoint, MqttTransport
from ._topics import Topics, topic_matches

__all__ = [
    "BROADCAST",
    "MAX_ENVELOPE_BYTES",
    "VERSION",
    "BrokerAddress",
    "BrokerError",
    "ConnectionLost",
    "EmbeddedBroker",
    "Endpoint",
    "EndpointBase",
    "Envelope",
    "EnvelopeError",
    "Kind",
    "MemoryBus",
    "MemoryEndpoint",
    "MqttEndpoint",
    "MqttTransport",
    "Topics",
    "TrafficCounters",
    "Transport",
    "TransportError",
    "decode",
    "encode",
    "pack_floats",
    "pack_ints",
    "route",
    "topic_matches",
    "unpack_floats",
    "unpack_ints",
    "validate_id",
]
