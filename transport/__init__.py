"""How bytes move between agents: envelopes, topics, and the transports that carry them.

Knows nothing of agents or cryptography. Sub-packages: :mod:`transport.mqtt` (the
client side: addresses, clients, endpoints, taps), :mod:`transport.mosquitto`
(a locked-down Mosquitto and its files) and :mod:`transport.embedded` (amqtt in a
child process, open or locked down like the Mosquitto).
"""

from ._chunks import DEFAULT_MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES, Reassembler, is_chunk, split
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
    signed_bytes,
    unpack_floats,
    unpack_ints,
    validate_id,
)
from ._errors import BrokerError, ChunkError, ConnectionLost, EnvelopeError, TransportError
from ._faults import FaultCounters, FaultSpec, FaultyEndpoint, FaultyTransport
from ._memory import MemoryBus, MemoryEndpoint
from ._padding import PaddedEndpoint, PaddedTransport
from ._processes import settle_tasks, stop_processes
from ._topics import Topics, topic_matches
from ._values import validate_host, validate_port, validate_seconds
from .embedded import EmbeddedBroker
from .mosquitto import BrokerRights, ManagedMosquitto, MosquittoFiles, MosquittoSetup
from .mqtt import BrokerAddress, MqttEndpoint, MqttTap, MqttTransport, mqtt_client

__all__ = [
    "BROADCAST",
    "DEFAULT_MAX_MESSAGE_BYTES",
    "MAX_ENVELOPE_BYTES",
    "MIN_MESSAGE_BYTES",
    "VERSION",
    "BrokerAddress",
    "BrokerError",
    "BrokerRights",
    "ChunkError",
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
    "MqttTap",
    "MqttTransport",
    "PaddedEndpoint",
    "PaddedTransport",
    "Reassembler",
    "Topics",
    "TrafficCounters",
    "Transport",
    "TransportError",
    "decode",
    "encode",
    "is_chunk",
    "mqtt_client",
    "pack_floats",
    "pack_ints",
    "route",
    "settle_tasks",
    "signed_bytes",
    "split",
    "stop_processes",
    "topic_matches",
    "unpack_floats",
    "unpack_ints",
    "validate_host",
    "validate_id",
    "validate_port",
    "validate_seconds",
]
