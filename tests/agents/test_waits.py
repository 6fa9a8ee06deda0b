"""Waits on their own: a condition, a round table and counters; the event loop drives
the changes a receive loop would make."""

from __future__ import annotations

import asyncio
import time

import pytest

from agents import Algorithm
from agents.runtime._report import AgentStats
from agents.runtime._rounds import RoundTable
from agents.runtime._waits import Waits

BOUND = 5.0


def setup(round_timeout: float) -> tuple[asyncio.Condition, RoundTable, AgentStats, Waits]:
    changed = asyncio.Condition()
    table = RoundTable(neighbours=["a1", "a2"], algorithm=Algorithm.PAILLIER, iterations=9, dim=2)
    stats = AgentStats()
    return changed, table, stats, Waits(changed, table, stats, round_timeout=round_timeout)


async def later(changed: asyncio.Condition, delay: float, change: list[str]) -> None:
    await asyncio.sleep(delay)
    async with changed:
        change.pop()
        changed.notify_all()


@pytest.mark.asyncio
async def test_a_wait_for_neighbours_ends_when_none_is_missing() -> None:
    changed, _, stats, waits = setup(round_timeout=BOUND)
    missing = ["a1", "a2"]
    async with asyncio.TaskGroup() as group, asyncio.timeout(BOUND):
        group.create_task(later(changed, 0.02, missing))
        group.create_task(later(changed, 0.04, missing))
        assert await waits.for_neighbours(lambda: list(missing)) == []
    assert 0.03 < stats.wait_seconds < BOUND


@pytest.mark.asyncio
async def test_a_wait_for_neighbours_gives_up_at_the_round_timeout() -> None:
    _, _, stats, waits = setup(round_timeout=0.05)
    started = time.monotonic()
    assert await waits.for_neighbours(lambda: ["a2"]) == ["a2"]
    assert 0.04 < time.monotonic() - started < BOUND
    assert stats.wait_seconds >= 0.04


@pytest.mark.asyncio
async def test_until_returns_what_is_still_missing_after_its_bound() -> None:
    changed, _, stats, waits = setup(round_timeout=BOUND)
    missing = ["a1", "a2"]
    async with asyncio.TaskGroup() as group:
        group.create_task(later(changed, 0.01, missing))
        assert await waits.until(lambda: list(missing), 0.1) == ["a1"]
    assert stats.wait_seconds >= 0.09


@pytest.mark.asyncio
async def test_for_round_waits_until_the_round_is_open_and_returns_it() -> None:
    changed, table, _, waits = setup(round_timeout=BOUND)

    async def open_round() -> None:
        await asyncio.sleep(0.02)
        async with changed:
            table.begin(3)
            table.open_round(3, [1, 2], {"a1": [5], "a2": [6]})
            changed.notify_all()

    async with asyncio.TaskGroup() as group, asyncio.timeout(BOUND):
        group.create_task(open_round())
        round_ = await waits.for_round(3)
    assert round_ is not None and round_.quantized == [1, 2]


@pytest.mark.asyncio
async def test_for_round_of_a_round_that_never_opens_is_none_after_three_timeouts() -> None:
    _, _, _, waits = setup(round_timeout=0.02)
    started = time.monotonic()
    assert await waits.for_round(3) is None
    assert 0.05 < time.monotonic() - started < BOUND
