"""Fixed-size envelopes: exact sizes, round trips, clear refusals."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transport import Envelope, EnvelopeError, Kind, MemoryBus, PaddedTransport, encode
from transport._padding import MIN_FILLER, pad, unpad


def envelope(payload_bytes: int, kind: Kind = Kind.REQUEST) -> Envelope:
    return Envelope(
        run="r1",
        iteration=7,
        sender="a0",
        receiver="a1",
        kind=kind,
        payload={"c": bytes(payload_bytes)} if payload_bytes else {},
    )


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(min_value=0, max_value=70_000),
    extra=st.integers(min_value=MIN_FILLER, max_value=70_000),
)
def test_padding_reaches_the_exact_size_and_strips_off(size: int, extra: int) -> None:
    original = envelope(size)
    target = len(encode(original)) + extra
    padded = pad(original, target)
    assert len(encode(padded)) == target
    assert unpad(padded) == original


@pytest.mark.parametrize("extra", range(1, MIN_FILLER - 1))
def test_too_little_room_is_refused_with_the_rule(extra: int) -> None:
    original = envelope(100)
    with pytest.raises(EnvelopeError, match="must exceed every envelope by at least 8"):
        pad(original, len(encode(original)) + extra)


def test_an_envelope_larger_than_pad_to_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="does not fit pad_to = 100"):
        pad(envelope(500), 100)


@pytest.mark.asyncio
async def test_every_message_on_the_wire_has_one_size() -> None:
    bus = MemoryBus("r1")
    sizes: list[int] = []
    bus.subscribe("hemesh/r1/#", lambda _topic, data: sizes.append(len(data)))
    padded = PaddedTransport(bus, 600)
    async with (
        padded.endpoint("a0", neighbours=["a1"]) as a0,
        padded.endpoint("a1", neighbours=["a0"]) as a1,
    ):
        sent = [
            envelope(n, kind) for n, kind in ((0, Kind.SKIP), (0, Kind.BYE), (400, Kind.REQUEST))
        ]
        for e in sent:
            await a0.send(e)
        async with asyncio.timeout(5):
            received = [await a1.receive() for _ in sent]
    assert received == sent
    assert sizes == [600, 600, 600]
    assert a0.counters.bytes_sent == 1800


def test_pad_to_below_64_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="at least 64"):
        PaddedTransport(MemoryBus("r1"), 32)
