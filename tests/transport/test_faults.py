"""The fault-injecting transport wrapper on the in-memory bus: what it does; a seed fixes it."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
import uuid

import pytest

from transport import (
    BROADCAST,
    Envelope,
    FaultCounters,
    FaultSpec,
    FaultyTransport,
    Kind,
    MemoryBus,
    TransportError,
)

MESSAGES = 2000


def unique_run() -> str:
    return f"f-{uuid.uuid4().hex[:12]}"


def message(run: str, k: int, kind: Kind = Kind.REQUEST) -> Envelope:
    return Envelope(run=run, iteration=k, sender="a", receiver="b", kind=kind, payload={"i": k})


async def drain(endpoint: object, *, settle: float = 0.05) -> list[Envelope]:
    """Everything queued at ``endpoint`` once the bus has been quiet for ``settle`` s."""
    received = []
    while True:
        try:
            async with asyncio.timeout(settle):
                received.append(await endpoint.receive())  # type: ignore[attr-defined]
        except TimeoutError:
            return received


async def send_all(
    spec: FaultSpec, *, seed: int, count: int = MESSAGES
) -> tuple[list[int], FaultCounters]:
    """Send ``count`` requests a -> b through faults; the iterations b got, in order."""
    run = unique_run()
    faulty = FaultyTransport(MemoryBus(run), spec, seed=seed)
    async with (
        faulty.endpoint("a", neighbours=["b"]) as a,
        faulty.endpoint("b", neighbours=["a"]) as b,
    ):
        for k in range(count):
            await a.send(message(run, k))
        await asyncio.sleep(spec.delay)
        got = [e.iteration for e in await drain(b)]
    return got, faulty.faults()


def binomial_bound(p: float, n: int) -> float:
    """Six standard deviations: a correct injector is outside this once in ~10^9 runs."""
    return 6 * math.sqrt(n * p * (1 - p)) + 1


@pytest.mark.asyncio
async def test_loss_drops_about_the_requested_share_and_counts_each() -> None:
    got, faults = await send_all(FaultSpec(loss=0.1), seed=1)
    assert faults.messages == MESSAGES
    assert faults.lost == MESSAGES - len(got)
    assert faults.lost_by_kind == {"request": faults.lost}
    assert abs(faults.lost - 0.1 * MESSAGES) < binomial_bound(0.1, MESSAGES)
    assert got == sorted(got)  # loss alone keeps the order


@pytest.mark.asyncio
async def test_duplicates_arrive_twice_and_nothing_else_changes() -> None:
    got, faults = await send_all(FaultSpec(duplicate=0.2), seed=2)
    twice = [k for k in range(MESSAGES) if got.count(k) == 2]
    assert len(got) == MESSAGES + faults.duplicated
    assert len(twice) == faults.duplicated
    assert sorted(set(got)) == list(range(MESSAGES))
    assert abs(faults.duplicated - 0.2 * MESSAGES) < binomial_bound(0.2, MESSAGES)


@pytest.mark.asyncio
async def test_reorder_swaps_a_held_message_with_the_next_one() -> None:
    got, faults = await send_all(FaultSpec(reorder=0.2), seed=3)
    assert sorted(got) == list(range(MESSAGES))  # nothing lost, nothing doubled
    inversions = sum(1 for x, y in itertools.pairwise(got) if x > y)
    assert inversions == faults.reordered > 0
    # a held message goes out right after the next one: it is never more than one late
    assert all(abs(position - k) <= 1 for position, k in enumerate(got))


@pytest.mark.asyncio
async def test_delay_is_bounded_and_reorders_by_itself() -> None:
    delay, count = 0.05, 200
    run = unique_run()
    faulty = FaultyTransport(MemoryBus(run), FaultSpec(delay=delay), seed=4)
    async with (
        faulty.endpoint("a", neighbours=["b"]) as a,
        faulty.endpoint("b", neighbours=["a"]) as b,
    ):
        started = time.monotonic()
        for k in range(count):
            await a.send(message(run, k))
        got: list[int] = []
        async with asyncio.timeout(delay + 2.0):
            while len(got) < count:
                got.append((await b.receive()).iteration)
        elapsed = time.monotonic() - started
    assert sorted(got) == list(range(count))
    assert got != sorted(got)  # independent delays let messages overtake each other
    assert faulty.faults().delayed == count
    assert elapsed < delay + 1.0


@pytest.mark.asyncio
async def test_keys_and_unlisted_kinds_pass_untouched() -> None:
    run = unique_run()
    spec = FaultSpec(loss=0.99, kinds=frozenset({Kind.REPLY}))
    faulty = FaultyTransport(MemoryBus(run), spec, seed=5)
    async with (
        faulty.endpoint("a", neighbours=["b"]) as a,
        faulty.endpoint("b", neighbours=["a"]) as b,
    ):
        key = Envelope(run=run, iteration=0, sender="a", receiver=BROADCAST, kind=Kind.KEY)
        await a.send(key)
        for k in range(50):
            await a.send(message(run, k, Kind.REQUEST))
            await a.send(message(run, k, Kind.REPLY))
        got = await drain(b)
    assert [e.kind for e in got].count(Kind.KEY) == 1
    assert [e.iteration for e in got if e.kind is Kind.REQUEST] == list(range(50))
    assert faulty.faults().messages == 50  # the replies only
    assert faulty.faults().lost_by_kind.get("reply", 0) >= 45


@pytest.mark.asyncio
async def test_the_seed_fixes_the_fault_pattern() -> None:
    spec = FaultSpec(loss=0.1, duplicate=0.1, reorder=0.1)
    first, _ = await send_all(spec, seed=7, count=500)
    second, _ = await send_all(spec, seed=7, count=500)
    other, _ = await send_all(spec, seed=8, count=500)
    assert first == second
    assert first != other


@pytest.mark.asyncio
async def test_on_loss_sees_every_lost_envelope() -> None:
    run = unique_run()
    lost: list[Envelope] = []
    faulty = FaultyTransport(MemoryBus(run), FaultSpec(loss=0.3), seed=9, on_loss=lost.append)
    async with (
        faulty.endpoint("a", neighbours=["b"]) as a,
        faulty.endpoint("b", neighbours=["a"]) as b,
    ):
        for k in range(300):
            await a.send(message(run, k))
        got = {e.iteration for e in await drain(b)}
    assert len(lost) == faulty.faults().lost > 0
    assert {e.iteration for e in lost} == set(range(300)) - got


@pytest.mark.asyncio
async def test_leaving_sends_what_is_still_delayed_or_held() -> None:
    run = unique_run()
    bus = MemoryBus(run)
    faulty = FaultyTransport(bus, FaultSpec(delay=0.2, reorder=0.5), seed=10)
    async with bus.endpoint("b", neighbours=["a"]) as b:
        async with faulty.endpoint("a", neighbours=["b"]) as a:
            for k in range(20):
                await a.send(message(run, k))
        got = await drain(b)
    assert sorted(e.iteration for e in got) == list(range(20))
    assert faulty.faults().failed == 0


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"loss": 1.0}, "loss"),
        ({"loss": -0.1}, "loss"),
        ({"duplicate": 1.5}, "duplicate"),
        ({"reorder": float("nan")}, "reorder"),
        ({"loss": "0.1"}, "loss"),
        ({"delay": -1.0}, "delay"),
        ({"delay": float("inf")}, "delay"),
        ({"delay": True}, "delay"),
        ({"kinds": frozenset({"gossip"})}, "kinds"),
        ({"kinds": frozenset({Kind.KEY})}, "key"),
    ],
)
def test_bad_fault_specs_are_refused(kwargs: dict[str, object], word: str) -> None:
    with pytest.raises(TransportError, match=word):
        FaultSpec(**kwargs)  # type: ignore[arg-type]


def test_transport_checks_its_arguments() -> None:
    bus = MemoryBus(unique_run())
    with pytest.raises(TransportError, match="FaultSpec"):
        FaultyTransport(bus, {"loss": 0.1}, seed=1)  # type: ignore[arg-type]
    with pytest.raises(TransportError, match="seed"):
        FaultyTransport(bus, FaultSpec(), seed="1")  # type: ignore[arg-type]
    faulty = FaultyTransport(bus, FaultSpec(loss=0.5), seed=1)
    assert faulty.run == bus.run
    assert faulty.inner is bus
    assert faulty.spec.active and not FaultSpec().active
