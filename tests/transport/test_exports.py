"""The public face of the transport package (STYLE.md, 1)."""

from __future__ import annotations

import importlib

import pytest

import transport

SUBPACKAGES = {
    "embedded": ["EmbeddedBroker"],
    "mosquitto": ["BrokerRights", "ManagedMosquitto", "MosquittoFiles", "MosquittoSetup"],
    "mqtt": ["BrokerAddress", "MqttEndpoint", "MqttTap", "MqttTransport", "mqtt_client"],
}
"""Each part's public face; transport re-exports every name of it."""

EXPECTED = [
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


def test_all_is_exactly_the_public_api() -> None:
    assert transport.__all__ == EXPECTED


def test_every_public_name_exists_and_nothing_private_leaks() -> None:
    for name in transport.__all__:
        assert hasattr(transport, name), name
    public = {n for n in vars(transport) if not n.startswith("_")}
    assert public == set(EXPECTED) | set(SUBPACKAGES)


@pytest.mark.parametrize(("name", "expected"), sorted(SUBPACKAGES.items()))
def test_each_subpackage_has_its_own_face_reexported_by_transport(
    name: str, expected: list[str]
) -> None:
    part = importlib.import_module(f"transport.{name}")
    assert part.__all__ == expected
    assert {n for n in vars(part) if not n.startswith("_")} == set(expected)
    for public in expected:
        assert getattr(transport, public) is getattr(part, public)


def test_errors_share_one_root() -> None:
    for name in ("BrokerError", "ConnectionLost", "EnvelopeError"):
        assert issubclass(getattr(transport, name), transport.TransportError)
