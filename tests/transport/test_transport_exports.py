"""The public face of the transport package (STYLE.md, 1)."""

from __future__ import annotations

import transport

EXPECTED = [
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


def test_all_is_exactly_the_public_api() -> None:
    assert transport.__all__ == EXPECTED


def test_every_public_name_exists_and_nothing_private_leaks() -> None:
    for name in transport.__all__:
        assert hasattr(transport, name), name
    public = {n for n in vars(transport) if not n.startswith("_")}
    assert public == set(EXPECTED)


def test_errors_share_one_root() -> None:
    for name in ("BrokerError", "ConnectionLost", "EnvelopeError"):
        assert issubclass(getattr(transport, name), transport.TransportError)
