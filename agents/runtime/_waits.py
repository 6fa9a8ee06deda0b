"""An agent's waits: for its neighbours' messages of a round (bounded by the round
table's deadline) and for anything else it can state as "who is still missing".

Everything runs on the event loop: the waits sleep on the agent's one condition,
which every message handled and every iteration begun notifies, and re-ask who is
missing each time they wake. The time spent waiting counts in the agent's counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from ._report import AgentStats
from ._rounds import Round, RoundTable

Missing = Callable[[], list[str]]


class Waits:
    """The waits of one agent, on its condition ``changed`` and its round table."""

    def __init__(
        self,
        changed: asyncio.Condition,
        table: RoundTable,
        stats: AgentStats,
        *,
        round_timeout: float,
    ) -> None:
        self._changed = changed
        self._table = table
        self._stats = stats
        self._round_timeout = round_timeout

    async def for_neighbours(self, missing: Missing) -> list[str]:
        """Wait for the neighbours in ``missing()`` until :meth:`RoundTable.deadline`
        (``round_timeout`` as the bound); returns who is still missing."""
        bound = self._round_timeout
        started = time.monotonic()
        async with self._changed:
            while waiting := missing():
                deadline = self._table.deadline(waiting, started=started, bound=bound)
                now = time.monotonic()
                if now >= deadline:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(deadline - now):
                        await self._changed.wait()
            self._table.waited_out(waiting)  # empty unless the deadline passed
        self._stats.wait_seconds += time.monotonic() - started
        return missing()

    async def until(self, missing: Missing, bound: float) -> list[str]:
        """Wait until ``missing()`` is empty or ``bound`` seconds pass; return what is
        missing."""
        started = time.perf_counter()
        try:
            async with self._changed, asyncio.timeout(bound):
                await self._changed.wait_for(lambda: not missing())
        except TimeoutError:
            pass
        self._stats.wait_seconds += time.perf_counter() - started
        return missing()

    async def for_round(self, k: int) -> Round | None:
        """This agent's own round k once it is settled, to serve a neighbour's request
        of k with: this agent may be a round behind, waiting out a neighbour, so up to
        3 round timeouts; None if round k is gone meanwhile (expired unserved)."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(3 * self._round_timeout):
                    await self._changed.wait_for(lambda: self._table.settled(k))
            return self._table.round(k)
