"""Faults above the broker: a transport wrapper that loses, duplicates, delays and reorders.

    transport = FaultyTransport(MemoryBus(run), FaultSpec(loss=0.05), seed=1)

Every endpoint it hands out wraps the inner transport's endpoint and disturbs what the
agent *sends* (so each message is disturbed once, whoever receives it). Public keys
are exempt: they are retained messages that a real broker keeps and re-delivers, and
a run without them cannot start; every other kind (request, reply, state, skip, bye)
is fair game. Decisions come from a :class:`random.Random` per endpoint seeded with
the run's seed and the agent id, so a fault pattern is reproducible: the same seed and
the same sequence of sends give the same losses, copies and delays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields
from types import TracebackType

from ._endpoint import Endpoint, EndpointWrapper, Transport
from ._envelope import Envelope, Kind
from ._errors import TransportError

log = logging.getLogger("hemesh.transport.faults")

MAX_DELAY = 60.0
"""Upper bound on :attr:`FaultSpec.delay` (seconds)."""
REORDER_HOLD = 0.02
"""A message held back for reordering goes out right after the endpoint's next message,
or after this many seconds if there is none."""
CLOSE_GRACE = 1.0
"""On leaving, delayed messages get up to ``delay + CLOSE_GRACE`` seconds to go out."""


DISTURBED = frozenset(Kind) - {Kind.KEY}
"""The kinds of message faults apply to unless a spec names others."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FaultSpec:
    """What to inject, per message sent: probabilities in [0, 1), a delay bound in seconds.

    - ``loss``: the message is never sent.
    - ``duplicate``: it is sent twice.
    - ``delay``: each copy goes out after a uniform random delay in [0, delay]
      (messages overtake one another when their delays differ).
    - ``reorder``: it is held back and sent right after the endpoint's next message.
    - ``kinds``: the kinds of message disturbed (default: all but ``key``).
    """

    loss: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    reorder: float = 0.0
    kinds: frozenset[Kind] = DISTURBED

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TransportError(f"fault {name} must be a number, got {value!r}")
            if not 0.0 <= value < 1.0:
                raise TransportError(f"fault {name} must be a probability in [0, 1), got {value!r}")
        delay = self.delay
        if isinstance(delay, bool) or not isinstance(delay, int | float):
            raise TransportError(f"fault delay must be a number of seconds, got {delay!r}")
        if not (math.isfinite(delay) and 0.0 <= delay <= MAX_DELAY):
            raise TransportError(f"fault delay must be in [0, {MAX_DELAY}] seconds, got {delay!r}")
        try:
            kinds = frozenset(Kind(k) for k in self.kinds)
        except (TypeError, ValueError):
            raise TransportError(f"fault kinds must be message kinds, got {self.kinds!r}") from None
        if Kind.KEY in kinds:
            raise TransportError(
                "fault kinds cannot include 'key': a run cannot start without keys"
            )
        object.__setattr__(self, "kinds", kinds)

    @property
    def active(self) -> bool:
        return any((self.loss, self.duplicate, self.delay, self.reorder))


@dataclass(slots=True)
class FaultCounters:
    """What an endpoint (or a whole :class:`FaultyTransport`) injected."""

    messages: int = 0
    """Messages the agent sent that were subject to faults (keys excluded)."""
    lost: int = 0
    duplicated: int = 0
    delayed: int = 0
    reordered: int = 0
    failed: int = 0
    """Delayed or held messages that could not go out (the endpoint had closed)."""
    lost_by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, other: FaultCounters) -> None:
        for f in fields(self):
            if f.name != "lost_by_kind":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        for kind, count in other.lost_by_kind.items():
            self.lost_by_kind[kind] = self.lost_by_kind.get(kind, 0) + count


class FaultyEndpoint(EndpointWrapper):
    """An endpoint that passes receiving through and disturbs sending (see the module)."""

    def __init__(
        self,
        inner: Endpoint,
        spec: FaultSpec,
        rng: random.Random,
        *,
        on_loss: Callable[[Envelope], None] | None = None,
    ) -> None:
        super().__init__(inner)
        self._on_loss = on_loss
        self._spec = spec
        self._rng = rng
        self._faults = FaultCounters()
        self._pending: set[asyncio.Task[None]] = set()
        self._held: tuple[Envelope, asyncio.Task[None]] | None = None

    @property
    def faults(self) -> FaultCounters:
        return self._faults

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._drain()
        finally:
            await super().__aexit__(exc_type, exc, tb)

    async def send(self, envelope: Envelope) -> None:
        spec, rng = self._spec, self._rng
        if envelope.kind not in spec.kinds or not spec.active:
            await self._inner.send(envelope)
            return
        self._faults.messages += 1
        if rng.random() < spec.loss:
            self._faults.lost += 1
            kinds = self._faults.lost_by_kind
            kinds[envelope.kind.value] = kinds.get(envelope.kind.value, 0) + 1
            log.debug("fault: lost %s", _describe(envelope))
            if self._on_loss is not None:
                self._on_loss(envelope)
            return
        copies = 1
        if rng.random() < spec.duplicate:
            copies = 2
            self._faults.duplicated += 1
        for _ in range(copies):
            await self._forward(envelope)

    async def _forward(self, envelope: Envelope) -> None:
        spec, rng = self._spec, self._rng
        delay = rng.uniform(0.0, spec.delay) if spec.delay > 0 else 0.0
        hold = rng.random() < spec.reorder
        held, self._held = self._held, None
        if hold and held is None:
            self._faults.reordered += 1
            self._held = (envelope, self._later(envelope, REORDER_HOLD + delay))
            return
        if delay > 0:
            self._faults.delayed += 1
            self._later(envelope, delay)
        else:
            await self._inner.send(envelope)
        if held is not None:  # the one held back goes out after this one
            held_envelope, timer = held
            if timer.cancel():
                await self._inner.send(held_envelope)

    def _later(self, envelope: Envelope, delay: float) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(
            self._send_after(envelope, delay), name=f"{self.agent_id}.fault-delay"
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def _send_after(self, envelope: Envelope, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._held is not None and self._held[0] is envelope:
            self._held = None
        try:
            await self._inner.send(envelope)
        except TransportError as exc:
            self._faults.failed += 1
            log.warning("fault: delayed %s not sent: %s", _describe(envelope), exc)

    async def _drain(self) -> None:
        """Let delayed messages go out (bounded), then cancel what is left."""
        if self._held is not None:
            envelope, timer = self._held
            self._held = None
            if timer.cancel():
                with contextlib.suppress(TransportError):
                    await self._inner.send(envelope)
        if not self._pending:
            return
        _, late = await asyncio.wait(set(self._pending), timeout=self._spec.delay + CLOSE_GRACE)
        for task in late:
            task.cancel()
            self._faults.failed += 1
        if late:
            await asyncio.wait(late, timeout=CLOSE_GRACE)


class FaultyTransport:
    """A :class:`Transport` whose endpoints disturb what they send (see the module)."""

    def __init__(
        self,
        inner: Transport,
        spec: FaultSpec,
        *,
        seed: int,
        on_loss: Callable[[Envelope], None] | None = None,
    ) -> None:
        """``on_loss`` is called with every envelope lost (to measure what a loss costs)."""
        if not isinstance(spec, FaultSpec):
            raise TransportError(f"spec must be a FaultSpec, got {type(spec).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TransportError(f"seed must be an int, got {seed!r}")
        self._inner = inner
        self._spec = spec
        self._seed = seed
        self._on_loss = on_loss
        self._endpoints: list[FaultyEndpoint] = []

    @property
    def run(self) -> str:
        return self._inner.run

    @property
    def inner(self) -> Transport:
        return self._inner

    @property
    def spec(self) -> FaultSpec:
        return self._spec

    def endpoint(self, agent_id: str, *, neighbours: Collection[str]) -> FaultyEndpoint:
        inner = self._inner.endpoint(agent_id, neighbours=neighbours)
        rng = random.Random(f"hemesh-faults/{self._seed}/{agent_id}")
        endpoint = FaultyEndpoint(inner, self._spec, rng, on_loss=self._on_loss)
        self._endpoints.append(endpoint)
        return endpoint

    def faults(self) -> FaultCounters:
        """The totals over every endpoint handed out so far."""
        total = FaultCounters()
        for endpoint in self._endpoints:
            total.add(endpoint.faults)
        return total


def _describe(envelope: Envelope) -> str:
    return f"{envelope.kind} {envelope.sender}->{envelope.receiver} k={envelope.iteration}"
