"""The in-memory bus behind the Endpoint interface, and the inbound checks every endpoint makes."""

from __future__ import annotations

import asyncio
import logging

import pytest

from transport import (
    BROADCAST,
    Envelope,
    EnvelopeError,
    Kind,
    MemoryBus,
    MemoryEndpoint,
    TransportError,
    encode,
)

WAIT = 1.0


def envelope(
    run: str, sender: str, receiver: str, k: int = 0, kind: Kind = Kind.REQUEST
) -> Envelope:
    return Envelope(run=run, iteration=k, sender=sender, receiver=receiver, kind=kind, payload={})


async def receive(endpoint: MemoryEndpoint) -> Envelope:
    async with asyncio.timeout(WAIT):
        return await endpoint.receive()


@pytest.mark.asyncio
async def test_request_and_reply(run_id: str) -> None:
    bus = MemoryBus(run_id)
    async with (
        bus.endpoint("a", neighbours=["b"]) as a,
        bus.endpoint("b", neighbours=["a"]) as b,
    ):
        request = Envelope(
            run=run_id,
            iteration=3,
            sender="a",
            receiver="b",
            kind=Kind.REQUEST,
            payload={"c": b"x"},
        )
        await a.send(request)
        assert await receive(b) == request
        reply = envelope(run_id, "b", "a", 3, Kind.REPLY)
        await b.send(reply)
        assert await receive(a) == reply
        size = len(encode(request))
        assert (a.counters.messages_sent, a.counters.bytes_sent) == (1, size)
        assert (b.counters.messages_received, b.counters.bytes_received) == (1, size)
        assert a.counters.dropped == b.counters.dropped == 0


@pytest.mark.asyncio
async def test_retained_key_reaches_a_later_endpoint(run_id: str) -> None:
    bus = MemoryBus(run_id)
    key = Envelope(
        run=run_id, iteration=0, sender="a", receiver=BROADCAST, kind=Kind.KEY, payload={"n": b"k"}
    )
    async with bus.endpoint("a", neighbours=["b"]) as a:
        await a.send(key)
    async with bus.endpoint("b", neighbours=["a"]) as b:
        assert await receive(b) == key


@pytest.mark.asyncio
async def test_only_neighbours_keys_arrive(run_id: str) -> None:
    bus = MemoryBus(run_id)
    async with (
        bus.endpoint("b", neighbours=["a"]) as b,
        bus.endpoint("z", neighbours=[]) as z,
        bus.endpoint("a", neighbours=["b"]) as a,
    ):
        await z.send(envelope(run_id, "z", BROADCAST, kind=Kind.KEY))
        await a.send(envelope(run_id, "a", BROADCAST, kind=Kind.KEY))
        assert (await receive(b)).sender == "a"
        assert b.counters.messages_received == 1


def raw_garbage(run_id: str) -> bytes:
    return b"\xc1 garbage"


def raw_wrong_run(run_id: str) -> bytes:
    return encode(envelope("another-run", "a", "b"))


def raw_wrong_sender(run_id: str) -> bytes:
    return encode(envelope(run_id, "c", "b"))  # c's envelope on the a->b edge


def raw_wrong_receiver(run_id: str) -> bytes:
    return encode(envelope(run_id, "a", "d"))


def raw_key_in_inbox(run_id: str) -> bytes:
    return encode(envelope(run_id, "a", BROADCAST, kind=Kind.KEY))


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (raw_garbage, "not a msgpack envelope"),
        (raw_wrong_run, "wrong run id 'another-run'"),
        (raw_wrong_sender, "envelope 'c'->'b' on inbox topic 'a'->'b'"),
        (raw_wrong_receiver, "envelope 'a'->'d' on inbox topic 'a'->'b'"),
        (raw_key_in_inbox, "envelope 'a'->'*'"),
    ],
)
async def test_bad_inbox_messages_are_dropped_counted_and_logged(
    make: object, reason: str, run_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert callable(make)
    bus = MemoryBus(run_id)
    caplog.set_level(logging.WARNING, logger="hemesh.transport")
    async with bus.endpoint("b", neighbours=["a"]) as b:
        bus.inject(bus.topics.inbox("b", "a"), make(run_id))
        assert b.counters.dropped == 1
        assert b.counters.messages_received == 0
        good = envelope(run_id, "a", "b", k=1)
        bus.inject(bus.topics.inbox("b", "a"), encode(good))
        assert await receive(b) == good  # still working
        assert b.counters.dropped == 1
    (record,) = [r for r in caplog.records if r.name == "hemesh.transport"]
    assert record.levelno == logging.WARNING
    assert "agent b dropped a message on hemesh/" in record.getMessage()
    assert reason in record.getMessage()


@pytest.mark.asyncio
async def test_forged_key_is_dropped(run_id: str, caplog: pytest.LogCaptureFixture) -> None:
    bus = MemoryBus(run_id)
    caplog.set_level(logging.WARNING, logger="hemesh.transport")
    async with bus.endpoint("b", neighbours=["a"]) as b:
        forged = envelope(run_id, "c", BROADCAST, kind=Kind.KEY)  # c's key on a's topic
        bus.inject(bus.topics.key("a"), encode(forged), retain=True)
        not_a_key = envelope(run_id, "a", "b")
        bus.inject(bus.topics.key("a"), encode(not_a_key))
        assert b.counters.dropped == 2
    assert len([r for r in caplog.records if "key topic of 'a'" in r.getMessage()]) == 2


@pytest.mark.asyncio
async def test_status_messages_are_not_envelopes(run_id: str) -> None:
    bus = MemoryBus(run_id)
    async with bus.endpoint("b", neighbours=["a"]) as b:
        b._deliver(bus.topics.status("a"), b"online")
        assert b.counters.dropped == b.counters.messages_received == 0
        b._deliver("elsewhere/x", b"x")
        assert b.counters.dropped == 1


@pytest.mark.asyncio
async def test_eavesdropper_sees_the_raw_traffic(run_id: str) -> None:
    bus = MemoryBus(run_id)
    seen: list[tuple[str, bytes]] = []
    unsubscribe = bus.subscribe(bus.topics.everything, lambda t, d: seen.append((t, d)))
    async with bus.endpoint("a", neighbours=["b"]) as a:
        message = envelope(run_id, "a", "b")
        await a.send(message)
        unsubscribe()
        await a.send(message)
    assert seen == [(bus.topics.inbox("b", "a"), encode(message))]


@pytest.mark.asyncio
async def test_reentry_is_refused(run_id: str) -> None:
    endpoint = MemoryBus(run_id).endpoint("a", neighbours=["b"])
    async with endpoint:
        with pytest.raises(TransportError, match="twice"):
            await endpoint.__aenter__()
    with pytest.raises(TransportError, match="twice"):
        await endpoint.__aenter__()


@pytest.mark.asyncio
async def test_sending_as_someone_else_or_elsewhere_is_refused(run_id: str) -> None:
    bus = MemoryBus(run_id)
    seen: list[str] = []
    bus.subscribe(bus.topics.everything, lambda t, d: seen.append(t))
    async with bus.endpoint("a", neighbours=["b"]) as a:
        with pytest.raises(EnvelopeError, match="cannot send as 'c'"):
            await a.send(envelope(run_id, "c", "b"))
        with pytest.raises(EnvelopeError, match="in run 'other'"):
            await a.send(envelope("other", "a", "b"))
        with pytest.raises(EnvelopeError, match="broadcast"):
            await a.send(envelope(run_id, "a", "b", kind=Kind.KEY))
        with pytest.raises(EnvelopeError, match="needs one receiver"):
            await a.send(envelope(run_id, "a", BROADCAST))
        assert a.counters.messages_sent == 0
    assert seen == []


@pytest.mark.asyncio
async def test_closed_or_unopened_endpoint_refuses_to_send(run_id: str) -> None:
    bus = MemoryBus(run_id)
    endpoint = bus.endpoint("a", neighbours=["b"])
    with pytest.raises(TransportError, match="not open"):
        await endpoint.send(envelope(run_id, "a", "b"))
    async with endpoint:
        pass
    with pytest.raises(TransportError, match="not open"):
        await endpoint.send(envelope(run_id, "a", "b"))
    bus.inject(bus.topics.inbox("a", "b"), encode(envelope(run_id, "b", "a")))
    assert endpoint.counters.messages_received == 0  # unsubscribed on exit


def test_bad_endpoints_are_refused(run_id: str) -> None:
    bus = MemoryBus(run_id)
    with pytest.raises(TransportError, match="itself"):
        bus.endpoint("a", neighbours=["a", "b"])
    with pytest.raises(EnvelopeError):
        bus.endpoint("a/b", neighbours=[])
    with pytest.raises(EnvelopeError):
        bus.endpoint("a", neighbours=["#"])
    with pytest.raises(EnvelopeError):
        MemoryBus("bad run")


@pytest.mark.asyncio
async def test_routes_follow_subscriptions(run_id: str) -> None:
    """The bus remembers each topic's listeners; (un)subscribing changes who hears."""
    bus = MemoryBus(run_id)
    heard: list[str] = []
    topic = bus.topics.inbox("b", "a")
    first = bus.subscribe(bus.topics.inbox_filter("b"), lambda _t, _d: heard.append("first"))
    bus.inject(topic, b"1")
    second = bus.subscribe(topic, lambda _t, _d: heard.append("second"))
    bus.inject(topic, b"2")
    first()
    bus.inject(topic, b"3")
    second()
    bus.inject(topic, b"4")
    assert heard == ["first", "first", "second", "second"]
