"""The agent: an ``async with`` object that runs DSGD with its neighbours.

    async with Agent(config, objective, endpoint, identity=me, roster=roster) as agent:
        report = await agent.run()

Entering connects the endpoint, opens the journal, generates the key pair and
starts the receive loop in a TaskGroup; ``run()`` announces the key, waits for
the neighbours' (bounded), iterates, and serves the neighbours' last requests;
leaving cancels the loops and closes everything. Constructing does nothing.

The agent does the lifecycle, the loops and the messages; the rest is in its
collaborators: the update rule (:mod:`._update`, pure functions), the round table
(:mod:`._rounds`), the coupling ledger of applied terms and skip notices
(:mod:`._ledger`), the decryption of replies (:mod:`._opening`), the waits
(:mod:`._waits`), the key and identity set-up (:mod:`._keys`), the journal and
checkpoints (:mod:`._recorder`) and the counters (:mod:`._report`).

Given an ``identity`` and the run's ``roster`` (the runner always gives both), the
agent seals every envelope it sends and verifies every one it receives before
anything else looks at it (:mod:`agents.identity`); an agent without them is refused
unless built ``unauthenticated=True`` (protocol unit tests: envelopes travel
untagged). Every inbound message is then checked (neighbour, iteration window,
duplicates, sizes, ciphertext range); a bad one costs a log line and changes nothing.

Agents fall apart in time when one crashes, or a group is cut off from the
broker: the others skip them and go on, and an agent that finds a neighbour two
or more iterations ahead jumps there, as far as its own evidence allows (a second
neighbour's word, or its own waits run out: see :mod:`._rounds`). With a ``checkpoint``
path the agent writes an atomic checkpoint after every ``checkpoint_every``
iterations and, entered again with the same path (a restarted process), resumes
from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Container, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np

from transport import BROADCAST, Endpoint, Envelope, EnvelopeError, Kind, pack_floats

from .._config import AgentConfig
from .._crypto import CryptoBackend, InlineCrypto
from .._edge import EdgeProtocol, Payload
from .._errors import AgentError, ProtocolError
from ..identity import Authenticator, Identity, Roster
from ..objectives import FloatArray, Objective
from ._checkpoint import Checkpoint
from ._keys import authenticator, check_identity, open_edge
from ._ledger import CouplingLedger
from ._opening import ReplyOpener
from ._recorder import Recorder
from ._report import AgentReport, AgentStats, Observer
from ._rounds import Admission, RoundTable
from ._update import (
    baseline_observation,
    baseline_update,
    check_state,
    draw_baseline,
    draw_edge,
    edge_observation,
    edge_update,
    listify,
    mixing_terms,
    shared_state,
)
from ._waits import Waits

log = logging.getLogger("hemesh.agent")
Step = tuple[FloatArray, float | list[float], float, list[str]]
"""x(k+1), the stepsize and gamma of iteration k, and the neighbours skipped in it."""


class Agent:
    """One participant of a run. See the module docstring for its lifecycle."""

    def __init__(
        self,
        config: AgentConfig,
        objective: Objective,
        endpoint: Endpoint,
        *,
        crypto: CryptoBackend | None = None,
        journal: Path | None = None,
        on_iteration: Callable[[int], None] | None = None,
        observer: Observer | None = None,
        checkpoint: Path | None = None,
        checkpoint_every: int = 1,
        identity: Identity | None = None,
        roster: Roster | None = None,
        unauthenticated: bool = False,
    ) -> None:
        self._rng = np.random.default_rng(np.random.SeedSequence(list(config.seed)))
        self._ledger = CouplingLedger.for_agent(config)
        self._recorder = Recorder(
            config,
            objective,
            journal=journal,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            on_iteration=on_iteration,
            rng=self._rng,
            ledger=self._ledger,
        )
        if objective.dim != config.dim:
            raise AgentError(f"objective has dimension {objective.dim}, x0 has {config.dim}")
        if endpoint.agent_id != config.agent_id:
            raise AgentError(f"endpoint of {endpoint.agent_id!r} given to {config.agent_id!r}")
        # no identity, or a mismatch: refused before connecting
        check_identity(config, identity, roster, unauthenticated=unauthenticated)
        self.config = config
        self._identity = identity
        self._roster = roster
        self._auth: Authenticator | None = None
        self._objective = objective
        self._endpoint = endpoint
        self._crypto = crypto or InlineCrypto()
        self._observer = observer
        self._resume: Checkpoint | None = None
        self._neighbours = sorted(config.neighbours)
        self._quantizer = config.quantizer()
        # a single edge's term is decrypted only to undo it; an observer (a colluder
        # sharing every decrypted reply) and a checkpoint (keeping terms in the clear)
        # need each one, so they decrypt per edge
        self._aggregate = config.aggregates and observer is None and checkpoint is None
        self._edge: EdgeProtocol | None = None
        self._opener: ReplyOpener | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._entered = False
        self._tasks: asyncio.TaskGroup | None = None
        self._loops: set[asyncio.Task[None]] = set()
        self._stats = AgentStats()
        # Everything runs on the event loop, so no state needs a lock for mutual
        # exclusion: code between two awaits is atomic. _changed is the condition the
        # waits (:mod:`._waits`, _serve) sleep on; every message handled and every
        # iteration begun notifies it. The receive loop updates the table and ledger
        # under it; the iteration loop also reads and writes them outside it (sends,
        # skip notices, the lead, checkpoints), which is safe for the same reason.
        self._changed = asyncio.Condition()
        self._table = RoundTable.for_agent(config)
        self._waits = Waits(
            self._changed, self._table, self._stats, round_timeout=config.round_timeout
        )

    # lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._entered:
            raise AgentError(f"agent {self.config.agent_id!r} cannot be entered twice")
        self._entered = True
        self._resume = self._recorder.restore()
        if self._resume is not None:  # before the receive loop: it judges iterations
            self._table.k = self._resume.k - 1
        self._auth = authenticator(
            self.config, self._identity, self._roster, self._recorder.checkpointer, self._resume
        )
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self._endpoint)
            stack.enter_context(self._recorder)
            self._edge = await open_edge(
                self.config,
                self._crypto,
                value_bound=self._quantizer.bound,
                checkpointer=self._recorder.checkpointer,
                resume=self._resume,
                stats=self._stats,
            )
            self._opener = ReplyOpener(
                self.config,
                value_bound=self._quantizer.bound,
                edge=self._edge,
                ledger=self._ledger,
                stats=self._stats,
                notify=self._notify_skip,
            )
            self._tasks = await stack.enter_async_context(asyncio.TaskGroup())
            stack.push_async_callback(self._cancel_loops)
            self._spawn(self._receive_loop(), "receive")
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is None:
            return
        try:
            await stack.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # the TaskGroup wraps what went wrong; hand back the error itself
            if exc is not None and group.exceptions == (exc,):
                return
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    async def _cancel_loops(self) -> None:
        for task in list(self._loops):
            task.cancel()

    def _spawn(self, coroutine: Coroutine[None, None, None], name: str) -> None:
        assert self._tasks is not None
        task = self._tasks.create_task(coroutine, name=f"{self.config.agent_id}.{name}")
        self._loops.add(task)
        task.add_done_callback(self._loops.discard)

    # the run -------------------------------------------------------------------

    async def run(self) -> AgentReport:
        """Iterate ``config.iterations`` times; returns the final state and counters."""
        if self._edge is None or self._tasks is None:
            raise AgentError("use the agent as 'async with Agent(...) as agent'")
        cfg, stats = self.config, self._stats
        await self._announce()
        start, x = self._recorder.start(self._resume)
        step = self._step_edge if cfg.algorithm.uses_edge_protocol else self._step_baseline
        k = start
        if start == cfg.iterations:  # it had finished: only the goodbyes may be missing
            await self._finish(start - 1, serve=False)
        while k < cfg.iterations:
            if (target := self._table.lead(k)) > k:
                await self._jump(k, target, x)
                k = target
            meter = stats.meter(self._endpoint.counters)
            x, stepsize, gamma, skipped = await step(k, x)
            check_state(cfg, k + 1, x)
            if k == cfg.iterations - 1:
                x = x - await self._finish(k)
            measured = meter.read(stats, self._endpoint.counters)
            k += 1
            await self._recorder.done(
                k, x, stepsize=stepsize, gamma=gamma, skipped=skipped, **measured
            )
        return stats.report(
            agent_id=cfg.agent_id,
            iterations=cfg.iterations,
            x=x,
            traffic=self._endpoint.counters,
            resumed_at=start if self._resume is not None else None,
        )

    async def _jump(self, k: int, target: int, x: FloatArray) -> None:
        """Skip iterations k .. target - 1: the state stays, each gets its log line."""
        log.warning(
            "agent %s: neighbours are at iteration %d, jumping there from %d",
            self.config.agent_id,
            target,
            k,
        )
        self._table.jumped()
        self._ledger.jumped(k, target)
        self._stats.jumped += target - k
        await self._recorder.jumped(k, target, x, self._neighbours)

    async def _announce(self) -> None:
        assert self._edge is not None
        edge = self._edge
        await self._send(Kind.KEY, 0, BROADCAST, edge.announcement())
        missing = await self._waits.until(
            lambda: [n for n in self._neighbours if not edge.knows(n)],
            self.config.startup_timeout,
        )
        if missing:
            raise AgentError(
                f"agent {self.config.agent_id}: no key from {missing} "
                f"within {self.config.startup_timeout} s"
            )

    async def _step_edge(self, k: int, x: FloatArray) -> Step:
        cfg, edge, ledger = self.config, self._edge, self._ledger
        assert edge is not None
        draws = draw_edge(self._rng, cfg, self._quantizer, x, self._objective.samples)
        async with self._changed:
            self._table.open_round(k, draws.quantized, draws.weights)
            self._begin(k)
        await self._repeat_notices(k)
        request = await self._stats.timed(edge.request(draws.quantized))
        replies = self._table.replies(k)
        await self._exchange(k, Kind.REQUEST, request, replies)
        gamma, opener = cfg.attenuation(k), self._opener
        assert opener is not None
        opened = await opener.open(k, replies, draws.weights, aggregate=self._aggregate)
        async with self._changed:
            coupling, used = await opener.apply(k, opened, replies, draws.weights, gamma=gamma)
            correction = ledger.take_correction()
        stepsize = cfg.stepsize.base(k) * draws.theta
        gradient = self._objective.gradient(x, draws.batch)
        x_next = edge_update(x, coupling, correction, gamma=gamma, step=stepsize, gradient=gradient)
        if self._observer is not None:
            self._observer(
                edge_observation(
                    k, cfg, x, draws, decrypted=opened.decrypted, used=used, gamma=gamma
                )
            )
        return x_next, listify(stepsize), gamma, self._note_skipped(k, used)

    async def _step_baseline(self, k: int, x: FloatArray) -> Step:
        cfg = self.config
        draws = draw_baseline(self._rng, cfg, self._objective.samples)
        shared = shared_state(cfg, x, draws.noise)
        async with self._changed:
            self._begin(k)
        await self._repeat_notices(k)
        states = self._table.states(k)
        await self._exchange(k, Kind.STATE, {"x": pack_floats(shared)}, states)
        terms = mixing_terms(cfg, x, states)
        async with self._changed:
            used = self._ledger.usable(k, terms)
            self._ledger.apply(k, {n: terms[n] for n in used})
            correction = self._ledger.take_correction()
        stepsize = cfg.stepsize.base(k)
        gradient = self._objective.gradient(x, draws.batch)
        x_next = baseline_update(x, terms, used, correction, step=stepsize, gradient=gradient)
        if self._observer is not None:
            self._observer(baseline_observation(k, cfg, x, states, used))
        return x_next, stepsize, 1.0, self._note_skipped(k, used)

    def _begin(self, k: int) -> None:
        """Enter iteration k (under the lock): forget old rounds, take in what a
        neighbour sent for k or k + 1 while this agent was further behind."""
        released = self._table.begin(k)
        self._ledger.prune(k)
        for envelope in released:
            try:
                self._take(envelope)
            except AgentError as exc:
                self._drop(envelope, exc)
        self._changed.notify_all()

    async def _notify_skip(self, k: int, neighbour: str) -> None:
        await self._send(Kind.SKIP, k, neighbour, {})

    async def _repeat_notices_to(self, neighbour: str) -> None:
        for i in self._ledger.notices_to(neighbour):
            await self._send(Kind.SKIP, i, neighbour, {})

    async def _repeat_notices(self, k: int) -> None:
        for i, n in self._ledger.notices_due(k):
            await self._send(Kind.SKIP, i, n, {})

    async def _exchange(
        self, k: int, kind: Kind, payload: Payload, arrived: Container[str]
    ) -> None:
        """Send iteration k's message to every live neighbour and wait for theirs (to
        arrive in ``arrived``); tell the late ones that their term is dropped, so they
        drop ours (the coupling stays symmetric)."""
        for n in self._neighbours:
            if not self._table.gone(n):
                await self._send(kind, k, n, payload)
        skipped_by = self._ledger.notices_from(k)

        def late() -> list[str]:
            return [n for n in self._neighbours if n not in arrived and n not in skipped_by]

        await self._waits.for_neighbours(
            lambda: [n for n in late() if not self._table.hopeless(n, k)]
        )
        missing = late()
        self._ledger.skipping(k, missing)
        for n in missing:
            await self._send(Kind.SKIP, k, n, {})

    def _note_skipped(self, k: int, used: list[str]) -> list[str]:
        cfg = self.config
        return self._stats.note_skipped(
            cfg.agent_id, k, self._neighbours, used, round_timeout=cfg.round_timeout
        )

    async def _finish(self, last: int, *, serve: bool = True) -> FloatArray:
        """Serve the neighbours' last requests, say goodbye, and wait for their goodbyes:
        a skip notice for the last iteration comes before its sender's goodbye, so the
        returned correction (to subtract from the final state) keeps the last coupling
        symmetric too. ``serve=False``: resumed after the end, only say goodbye."""
        table = self._table
        if serve and self.config.algorithm.uses_edge_protocol:
            skipped_by = self._ledger.notices_from(last)
            missing = await self._waits.for_neighbours(lambda: table.unserved(last, skipped_by))
            if missing:
                log.warning(
                    "agent %s: %s never asked for the last iteration", self.config.agent_id, missing
                )
        for n in self._neighbours:  # to all: one that said goodbye still waits for ours
            await self._send(Kind.BYE, last + 1, n, self._ledger.goodbye(n, last))
        await self._waits.for_neighbours(table.live)
        assert self._opener is not None
        await self._opener.unseal()
        async with self._changed:
            return self._ledger.take_correction()

    # messages ------------------------------------------------------------------

    async def _send(self, kind: Kind, k: int, receiver: str, payload: Payload) -> None:
        envelope = Envelope(
            run=self.config.run,
            iteration=k,
            sender=self.config.agent_id,
            receiver=receiver,
            kind=kind,
            payload=payload,
        )
        if self._auth is not None:
            envelope = self._auth.seal(envelope)
        await self._endpoint.send(envelope)

    async def _receive_loop(self) -> None:
        while True:
            envelope = await self._endpoint.receive()
            try:
                if self._auth is not None:  # before anything else looks at it
                    self._auth.verify(envelope)
                await self._dispatch(envelope)
            except (AgentError, EnvelopeError) as exc:
                self._drop(envelope, exc)

    def _drop(self, envelope: Envelope, reason: Exception) -> None:
        self._stats.dropped += 1
        log.warning(
            "agent %s dropped %s from %s at iteration %d: %s",
            self.config.agent_id,
            envelope.kind,
            envelope.sender,
            envelope.iteration,
            reason,
        )

    async def _dispatch(self, envelope: Envelope) -> None:
        sender, k = envelope.sender, envelope.iteration
        if sender not in self.config.neighbours:
            raise ProtocolError(f"{sender!r} is not a neighbour")
        edge, table = self._edge, self._table
        assert edge is not None and self._tasks is not None
        async with self._changed:
            table.hear(sender, time.monotonic())
            if envelope.kind in (Kind.REPLY, Kind.STATE) and self._ledger.retracted(sender, k):
                raise ProtocolError(f"{envelope.kind} after its skip notice for iteration {k}")
            match envelope.kind:
                case Kind.KEY:
                    again = edge.knows(sender)
                    edge.learn(sender, envelope.payload)
                    if again and table.k >= 0:  # it restarted: it missed our notices
                        self._spawn(self._repeat_notices_to(sender), f"notices.{sender}")
                case Kind.REQUEST | Kind.STATE:
                    self._take(envelope)
                case Kind.REPLY:
                    table.admit_reply(envelope, edge.check_reply)
                case Kind.SKIP:
                    self._retract(sender, k)
                case Kind.BYE:
                    for i in self._ledger.read_goodbye(envelope.payload):
                        self._retract(sender, i)
                    table.leave(sender)
            self._changed.notify_all()

    def _retract(self, neighbour: str, k: int) -> None:
        """A neighbour's skip notice for iteration k (it has started k, unless this agent
        jumped over k)."""
        if self._ledger.retract(neighbour, k, current=self._table.k):
            self._table.began(neighbour, k)

    def _take(self, envelope: Envelope) -> None:
        """A neighbour's request or state (under the lock): see :meth:`RoundTable.admit`."""
        assert self._edge is not None
        if self._table.admit(envelope, self._edge.check_request) is Admission.SERVE:
            self._spawn(self._serve(envelope), f"serve.{envelope.sender}.{envelope.iteration}")

    async def _serve(self, envelope: Envelope) -> None:
        sender, k = envelope.sender, envelope.iteration
        assert self._edge is not None
        round_ = await self._waits.for_round(k)
        if round_ is None:
            log.warning(
                "agent %s: request of %s for iteration %d expired unserved",
                self.config.agent_id,
                sender,
                k,
            )
            return
        reply = await self._stats.timed(
            self._edge.serve(sender, envelope.payload, round_.quantized, round_.weights[sender])
        )
        await self._send(Kind.REPLY, k, sender, reply)
        async with self._changed:
            round_.served.add(sender)
            self._changed.notify_all()
