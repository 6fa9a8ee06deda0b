"""What an agent hands out: its counters while it runs, its report at the end, and
what it shows an observer each iteration."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from transport import TrafficCounters

from ..objectives import FloatArray

T = TypeVar("T")
log = logging.getLogger("hemesh.agent")


class Observer(Protocol):
    """Receives, each iteration, everything the agent itself knows or decrypted: its
    state, quantized state and weight halves, and per neighbour the decrypted reply
    ``[a_ji]([x_j] - [x_i])`` (edge protocol) or the state received (baselines). Honest
    agents have none; colluders record it (see the adversaries of :mod:`scenarios`)."""

    def __call__(self, record: dict[str, Any]) -> None: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentReport:
    """What an agent hands back when its run is over."""

    agent_id: str
    iterations: int
    x: FloatArray
    traffic: TrafficCounters
    skipped: int
    dropped: int
    crypto_seconds: float
    wait_seconds: float
    jumped: int = 0
    """Iterations jumped over to catch up with neighbours (state unchanged)."""
    resumed_at: int | None = None
    """The iteration this agent resumed at from its checkpoint, if it did."""


@dataclass(slots=True)
class AgentStats:
    """An agent's running counters (the report's, before the endpoint's are added)."""

    dropped: int = 0
    """Inbound messages this agent refused (the endpoint counts its own drops)."""
    skipped: int = 0
    """Neighbour terms not applied, summed over iterations."""
    crypto_seconds: float = 0.0
    wait_seconds: float = 0.0
    jumped: int = 0

    async def timed(self, operation: Awaitable[T]) -> T:
        """Await a crypto operation, counting its time as crypto time."""
        started = time.perf_counter()
        try:
            return await operation
        finally:
            self.crypto_seconds += time.perf_counter() - started

    def note_skipped(
        self, agent: str, k: int, neighbours: list[str], used: list[str], *, round_timeout: float
    ) -> list[str]:
        """The neighbours whose term of iteration k was not applied (counted, logged): a
        neighbour that said goodbye did run iteration k, so its unused term is a skip too."""
        skipped = [n for n in neighbours if n not in used]
        if skipped:
            self.skipped += len(skipped)
            log.warning(
                "agent %s skipped %s at iteration %d (silent for %.1f s or retracted)",
                agent,
                skipped,
                k,
                round_timeout,
            )
        return skipped

    def meter(self, counters: TrafficCounters) -> IterationMeter:
        """Start measuring one iteration: its traffic, crypto, wait and wall time."""
        return IterationMeter(
            traffic=copy_traffic(counters),
            crypto=self.crypto_seconds,
            wait=self.wait_seconds,
            started=time.perf_counter(),
        )

    def report(
        self,
        *,
        agent_id: str,
        iterations: int,
        x: FloatArray,
        traffic: TrafficCounters,
        resumed_at: int | None,
    ) -> AgentReport:
        """The report at the end; ``traffic``: the endpoint's counters."""
        return AgentReport(
            agent_id=agent_id,
            iterations=iterations,
            x=x,
            traffic=copy_traffic(traffic),
            skipped=self.skipped,
            dropped=self.dropped + traffic.dropped,
            crypto_seconds=self.crypto_seconds,
            wait_seconds=self.wait_seconds,
            jumped=self.jumped,
            resumed_at=resumed_at,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class IterationMeter:
    """The counters when an iteration began."""

    traffic: TrafficCounters
    crypto: float
    wait: float
    started: float
    """``time.perf_counter()``."""

    def read(self, stats: AgentStats, counters: TrafficCounters) -> dict[str, Any]:
        """The iteration's journal fields ``traffic``, ``crypto``, ``wait``, ``elapsed``."""
        elapsed = time.perf_counter() - self.started
        return {
            "traffic": traffic_since(counters, self.traffic),
            "crypto": stats.crypto_seconds - self.crypto,
            "wait": stats.wait_seconds - self.wait,
            "elapsed": elapsed,
        }


def copy_traffic(c: TrafficCounters) -> TrafficCounters:
    return dataclasses.replace(c)


def traffic_since(a: TrafficCounters, b: TrafficCounters) -> TrafficCounters:
    """The traffic counted in ``a`` since the snapshot ``b`` (every counter)."""
    return TrafficCounters(
        **{f.name: getattr(a, f.name) - getattr(b, f.name) for f in dataclasses.fields(a)}
    )
