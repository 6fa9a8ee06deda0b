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
from ._faults import FaultCounters, FaultSpec, FaultyEndpoint, FaultyTransport
from ._memory import MemoryBus, MemoryEndpoint
from ._mosquitto import BrokerRights, ManagedMosquitto, MosquittoFiles, MosquittoSetup
from ._mqtt import BrokerAddress, MqttEndpoint, MqttTransport
from ._padding import PaddedEndpoint, PaddedTransport
from ._processes import settle_tasks, stop_processes
from ._topics import Topics, topic_matches

__all__ = [
    "BROADCAST",
    "MAX_ENVELOPE_BYTES",
    "VERSION",
    "BrokerAddress",
    "BrokerError",
    "BrokerRights",
    "ConnectionLost",
    "EmbeddedBroker",
    "Endpoint",
    "EndpointBase",
    "Envelope",
    "EnvelopeError",
    "FaultCounters",
    "FaultSpec",
    "FaultyEndpoint",
    "FaultyTransport",
    "Kind",
    "ManagedMosquitto",
    "MemoryBus",
    "MemoryEndpoint",
    "MosquittoFiles",
    "MosquittoSetup",
    "MqttEndpoint",
    "MqttTransport",
    "PaddedEndpoint",
    "PaddedTransport",
    "Topics",
    "TrafficCounters",
    "Transport",
    "TransportError",
    "decode",
    "encode",
    "pack_floats",
    "pack_ints",
    "route",
    "settle_tasks",
    "stop_processes",
    "topic_matches",
    "unpack_floats",
    "unpack_ints",
    "validate_id",
]
