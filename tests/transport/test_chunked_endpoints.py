"""Envelopes above max_message_bytes cross every transport in chunks, and bad chunks are
dropped at the receiving endpoint (logged, counted, never delivered)."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest

from transport import (
    DEFAULT_MAX_MESSAGE_BYTES,
    BrokerAddress,
    ChunkError,
    Endpoint,
    EndpointBase,
    Envelope,
    EnvelopeError,
    Kind,
    MemoryBus,
    MqttTransport,
    Transport,
    encode,
    pack_floats,
    split,
    unpack_floats,
)
from transport._chunks import HEADER

WAIT = 10.0
DIM = 100_000
"""A d = 100,000 float state: 800 KB, over three times the default limit."""


def state(run: str, values: np.ndarray, k: int = 1) -> Envelope:
    return Envelope(
        run=run,
        iteration=k,
        sender="a",
        receiver="b",
        kind=Kind.STATE,
        payload={"x": pack_floats(values)},
    )


async def receive(endpoint: Endpoint) -> Envelope:
    async with asyncio.timeout(WAIT):
        return await endpoint.receive()


async def exchange(transport: Transport, run: str) -> None:
    values = np.random.default_rng(1).normal(size=DIM)
    big = state(run, values)
    small = state(run, values[:10], k=2)
    async with (
        transport.endpoint("a", neighbours=["b"]) as a,
        transport.endpoint("b", neighbours=["a"]) as b,
    ):
        await a.send(big)
        await a.send(small)
        got = await receive(b)
        second = await receive(b)
    assert got.iteration == 1 and second.iteration == 2
    np.testing.assert_array_equal(unpack_floats(got.payload["x"], count=DIM), values)
    frames = -(-len(encode(big)) // (DEFAULT_MAX_MESSAGE_BYTES - HEADER.size))
    assert frames >= 4
    assert (a.counters.messages_sent, a.counters.chunks_sent) == (2, frames)
    assert (b.counters.messages_received, b.counters.chunks_received) == (2, frames)
    assert a.counters.bytes_sent == b.counters.bytes_received
    assert b.counters.dropped == 0


@pytest.mark.asyncio
async def test_a_large_state_crosses_a_broker_in_chunks(broker: BrokerAddress, run_id: str) -> None:
    transport = MqttTransport(run_id, broker)
    assert transport.max_message_bytes == DEFAULT_MAX_MESSAGE_BYTES
    await exchange(transport, run_id)


@pytest.mark.asyncio
async def test_a_large_state_crosses_the_memory_bus_in_chunks(run_id: str) -> None:
    await exchange(MemoryBus(run_id, max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES), run_id)


@pytest.mark.asyncio
async def test_without_a_limit_nothing_is_split(run_id: str) -> None:
    bus = MemoryBus(run_id)
    seen: list[bytes] = []
    bus.subscribe(bus.topics.inbox_filter("b"), lambda _t, d: seen.append(d))
    async with bus.endpoint("a", neighbours=["b"]) as a, bus.endpoint("b", neighbours=["a"]) as b:
        await a.send(state(run_id, np.zeros(DIM)))
        await receive(b)
    assert len(seen) == 1 and a.counters.chunks_sent == 0


def test_limits_are_checked() -> None:
    with pytest.raises(ChunkError, match="max_message_bytes"):
        MemoryBus("r", max_message_bytes=100)
    with pytest.raises(ChunkError, match="max_message_bytes"):
        MqttTransport("r", BrokerAddress(host="127.0.0.1", port=1), max_message_bytes=10**9)


@pytest.mark.asyncio
async def test_retained_envelopes_are_not_split(run_id: str) -> None:
    bus = MemoryBus(run_id, max_message_bytes=1024)
    async with bus.endpoint("a", neighbours=["b"]) as a:
        bye = Envelope(
            run=run_id,
            iteration=0,
            sender="a",
            receiver="b",
            kind=Kind.BYE,
            payload={"why": "x" * 2000},
        )
        with pytest.raises(EnvelopeError, match="retained and cannot be split"):
            await a.send(bye)
        assert a.counters.messages_sent == 0


async def inject_and_check(
    bus: MemoryBus, b: EndpointBase, frames: list[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    topic = bus.topics.inbox("b", "a")
    for frame in frames:
        bus.inject(topic, frame)
    await asyncio.sleep(0)
    assert b.counters.messages_received == 0
    assert b.counters.dropped == 1
    assert len([r for r in caplog.records if "dropped a message" in r.message]) == 1


def _tamper(frame: bytes, **changes: object) -> bytes:
    names = ("mark", "version", "message_id", "index", "total", "length", "digest")
    fields = dict(zip(names, HEADER.unpack_from(frame), strict=True))
    fields.update(changes)
    return HEADER.pack(*fields.values()) + frame[HEADER.size :]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "damage",
    ["duplicate", "out_of_range", "inconsistent", "oversized", "bad_digest"],
)
async def test_bad_chunks_are_dropped_once(
    damage: str, run_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hemesh.transport")
    bus = MemoryBus(run_id, max_message_bytes=4096)
    frames = split(encode(state(run_id, np.arange(2000.0))), 4096, message_id=1)
    if damage == "duplicate":
        frames = [frames[0], *frames]
    elif damage == "out_of_range":
        frames[1] = _tamper(frames[1], index=len(frames) + 3)
    elif damage == "inconsistent":
        frames[2] = _tamper(frames[2], total=len(frames) + 1)
    elif damage == "oversized":
        frames[1] = frames[1] + b"x" * 10
    else:
        frames = [_tamper(f, digest=bytes(32)) for f in frames]
    async with bus.endpoint("b", neighbours=["a"]) as b:
        await inject_and_check(bus, b, frames, caplog)


@pytest.mark.asyncio
async def test_a_missing_chunk_times_out(run_id: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="hemesh.transport")
    bus = MemoryBus(run_id, max_message_bytes=4096, chunk_timeout=0.2)
    frames = split(encode(state(run_id, np.arange(2000.0))), 4096, message_id=1)
    async with bus.endpoint("b", neighbours=["a"]) as b:
        topic = bus.topics.inbox("b", "a")
        for frame in frames[:-1]:
            bus.inject(topic, frame)
        assert b.counters.dropped == 0
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await b.receive()
        assert b.counters.dropped == 1
        assert any("incomplete after 0.2 s" in r.message for r in caplog.records)
        bus.inject(topic, frames[-1])  # too late: ignored, not delivered
        await asyncio.sleep(0)
        assert b.counters.messages_received == 0 and b.counters.dropped == 1


@pytest.mark.asyncio
async def test_chunks_on_another_topic_are_refused(
    run_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    bus = MemoryBus(run_id, max_message_bytes=4096)
    frames = split(encode(state(run_id, np.arange(2000.0))), 4096, message_id=1)
    async with bus.endpoint("b", neighbours=["a"]) as b:
        bus.inject(bus.topics.key("a"), frames[0])
        assert b.counters.dropped == 1
        assert "only travel through this agent's inbox" in caplog.text
