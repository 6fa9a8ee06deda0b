"""The agent: an ``async with`` object that runs DSGD with its neighbours.

    async with Agent(config, objective, endpoint) as agent:
        report = await agent.run()

Entering connects the endpoint, opens the journal, generates the key pair and
starts the receive loop in a TaskGroup; ``run()`` announces the key, waits for
the neighbours' (bounded), iterates, and serves the neighbours' last requests;
leaving cancels the loops and closes everything. Constructing does nothing.

Iteration k, for the edge-protocol algorithms (paillier, clear)::

    x_i(k+1) = x_i(k) + gamma(k) sum_j a_ij(k) ([x_j(k)] - [x_i(k)]) - lambda_i(k) g_i(x_i(k))

and for the baselines (plain, dp)::

    x_i(k+1) = x_i(k) + sum_j w_ij (x~_j(k) - x_i(k)) - lambda(k) g_i(x_i(k))

with Metropolis weights w_ij and x~_j = x_j (+ Laplace noise for dp).

Every inbound message is checked (neighbour, iteration window, duplicates,
sizes, ciphertext range); a bad one costs a log line and changes nothing.

Agents fall apart in time when one crashes, or a group is cut off from the
broker: the others skip them and go on. An agent that finds a neighbour two or
more iterations ahead cannot be served by it any more (that neighbour has
forgotten the round), so it stops waiting for it and, at its next iteration,
jumps to the neighbour's iteration: the iterations in between leave its state
unchanged and are logged with ``"jumped": true``. Jumps spread along the graph
one hop per iteration, so the agents are back in step soon after a partition
heals or a crashed agent comes back. With a ``checkpoint`` path the agent
writes an atomic checkpoint after every ``checkpoint_every`` iterations and,
entered again with the same path (a restarted process), resumes from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import numpy as np

from transport import (
    BROADCAST,
    Endpoint,
    Envelope,
    EnvelopeError,
    Kind,
    TrafficCounters,
    pack_floats,
    pack_ints,
    unpack_floats,
    unpack_ints,
)

from ._checkpoint import Checkpoint, CheckpointError
from ._config import AgentConfig, Algorithm, Record, StepsizeMode, WeightMode
from ._crypto import CryptoBackend, InlineCrypto
from ._edge import ClearEdge, EdgeProtocol, PaillierEdge, Payload
from ._errors import AgentError, ProtocolError
from ._journal import Journal, digest
from ._packing import layout_for
from ._paillier import SecretKey
from .objectives import FloatArray, Objective

log = logging.getLogger("hemesh.agent")
NOTICE_REPEATS = 2
"""A skip notice is sent again with each of the next two iterations' requests (and the
goodbye repeats the last ones): a lost notice leaves a one-sided coupling term."""
NOTICE_BYTES = 4
"""Width of an iteration number in a goodbye's list of repeated notices."""
KEEP_APPLIED = 16
"""Iterations for which applied coupling terms are kept, to honour late skip notices: a
neighbour that crashed mid-iteration and comes back within this many iterations undoes
the half of that iteration's coupling its neighbours already applied."""
CHECKPOINT_APPLIED = NOTICE_REPEATS + 2
"""Iterations of applied terms a checkpoint keeps (notices repeated after a restart)."""

T = TypeVar("T")


class Observer(Protocol):
    """Receives, each iteration, everything the agent itself knows or decrypted: its
    state, quantized state and weight halves, and per neighbour the decrypted reply
    ``[a_ji]([x_j] - [x_i])`` (edge protocol) or the state received (baselines). Honest
    agents have none; colluders record it (see the adversaries of :mod:`scenarios`)."""

    def __call__(self, record: dict[str, Any]) -> None: ...


@dataclass(slots=True)
class _Round:
    """What this agent keeps of its iteration k until every neighbour was served."""

    quantized: list[int]
    weights: dict[str, list[int]]
    served: set[str] = field(default_factory=set)


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
    ) -> None:
        if checkpoint_every < 1:
            raise AgentError(f"checkpoint_every must be at least 1, not {checkpoint_every}")
        if objective.dim != config.dim:
            raise AgentError(f"objective has dimension {objective.dim}, x0 has {config.dim}")
        if endpoint.agent_id != config.agent_id:
            raise AgentError(f"endpoint of {endpoint.agent_id!r} given to {config.agent_id!r}")
        self.config = config
        self._objective = objective
        self._endpoint = endpoint
        self._crypto = crypto or InlineCrypto()
        self._journal = Journal(journal)
        self._on_iteration = on_iteration
        self._observer = observer
        self._checkpoint = checkpoint
        self._checkpoint_every = checkpoint_every
        self._resume: Checkpoint | None = None
        self._secret: SecretKey | None = None
        self._base: int | None = None
        self._neighbours = sorted(config.neighbours)
        self._quantizer = config.quantizer()
        self._rng = np.random.default_rng(np.random.SeedSequence(list(config.seed)))
        self._edge: EdgeProtocol | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._entered = False
        # protocol state, all guarded by _changed
        self._changed = asyncio.Condition()
        self._k = -1  # iteration in progress (-1: not started)
        self._rounds: dict[int, _Round] = {}
        self._replies: dict[int, dict[str, Payload]] = {}
        self._states: dict[int, dict[str, FloatArray]] = {}
        self._seen_requests: dict[int, set[str]] = {}
        self._gone: set[str] = set()
        self._heard: dict[str, float] = {}  # monotonic time of each neighbour's last message
        self._skipped_by: dict[int, set[str]] = {}  # their skip notices, by iteration
        self._applied: dict[int, dict[str, FloatArray]] = {}  # coupling terms, by iteration
        self._we_skipped: dict[int, set[str]] = {}  # our skip notices, by iteration
        self._correction = np.zeros(config.dim)
        self._compensated: list[tuple[str, int]] = []  # undone terms not yet in an update
        self._compensated_now: list[tuple[str, int]] = []  # undone in the current update
        self._began: dict[str, int] = {}  # the latest iteration each neighbour started
        self._early: dict[str, Envelope] = {}  # a request/state from beyond k + 1, held
        self._jumps: list[tuple[int, int]] = []  # iterations [from, to) jumped over
        self._jumped = 0
        self._tasks: asyncio.TaskGroup | None = None
        self._loops: set[asyncio.Task[None]] = set()
        self._dropped = 0
        self._skipped = 0
        self._crypto_s = 0.0
        self._wait_s = 0.0

    # lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._entered:
            raise AgentError(f"agent {self.config.agent_id!r} cannot be entered twice")
        self._entered = True
        self._resume = self._load_checkpoint()
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self._endpoint)
            stack.enter_context(self._journal)
            self._edge = await self._make_edge()
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

    def _load_checkpoint(self) -> Checkpoint | None:
        if self._checkpoint is None or not self._checkpoint.exists():
            return None
        cfg = self.config
        checkpoint = Checkpoint.load(self._checkpoint)
        try:
            checkpoint.check(
                run=cfg.run,
                agent=cfg.agent_id,
                algorithm=cfg.algorithm.value,
                iterations=cfg.iterations,
                dim=cfg.dim,
            )
        except CheckpointError as exc:
            raise CheckpointError(
                f"{self._checkpoint}: not this agent's checkpoint: {exc}; delete it to start over"
            ) from None
        # before the receive loop starts: it judges iterations and may undo applied terms
        self._k = checkpoint.k - 1
        try:
            self._rng.bit_generator.state = checkpoint.rng
        except (TypeError, ValueError, KeyError) as exc:
            raise CheckpointError(f"{self._checkpoint}: bad random generator state: {exc}") from exc
        self._correction = checkpoint.correction.copy()
        self._applied = {k: dict(terms) for k, terms in checkpoint.applied.items()}
        return checkpoint

    async def _make_edge(self) -> EdgeProtocol:
        cfg = self.config
        if cfg.algorithm is Algorithm.PAILLIER:
            resume = self._resume
            if resume is not None and resume.key is None:
                raise CheckpointError(
                    f"{self._checkpoint}: a paillier agent's checkpoint without its key"
                )
            if resume is not None and resume.key is not None:
                try:
                    key = SecretKey(*resume.key)
                except AgentError as exc:
                    raise CheckpointError(f"{self._checkpoint}: {exc}") from exc
                if key.public.bits != cfg.key_bits:
                    raise CheckpointError(
                        f"{self._checkpoint}: a {key.public.bits}-bit key, the run uses "
                        f"{cfg.key_bits} bits"
                    )
            else:
                started = time.perf_counter()
                key = await self._crypto.keygen(cfg.key_bits, insecure=cfg.insecure_keys)
                self._crypto_s += time.perf_counter() - started
            self._secret = key
            layout = None
            if cfg.packing:
                layout = layout_for(
                    value_bound=self._quantizer.bound,
                    weight_bound=cfg.weight_range[1],
                    modulus_bits=key.public.bits - 1,
                )
            base = resume.base if resume is not None else None
            if cfg.fixed_base and base is None:
                (base,) = await self._timed_crypto(self._crypto.encrypt(key, [0]))
            self._base = base
            return PaillierEdge(
                key,
                self._crypto,
                dim=cfg.dim,
                layout=layout,
                per_coordinate=cfg.weight_mode is WeightMode.PER_COORDINATE,
                base=base,
            )
        return ClearEdge(dim=cfg.dim)

    # the run -------------------------------------------------------------------

    async def run(self) -> AgentReport:
        """Iterate ``config.iterations`` times; returns the final state and counters."""
        if self._edge is None or self._tasks is None:
            raise AgentError("use the agent as 'async with Agent(...) as agent'")
        cfg = self.config
        await self._announce()
        start, x = self._start()
        step = self._step_edge if cfg.algorithm.uses_edge_protocol else self._step_baseline
        k = start
        if start == cfg.iterations:  # it had finished: only the goodbyes may be missing
            await self._finish(start - 1, serve=False)
        while k < cfg.iterations:
            if (target := self._lead(k)) > k:
                await self._jump(k, target, x)
                k = target
            before = _copy(self._endpoint.counters)
            crypto0, wait0 = self._crypto_s, self._wait_s
            started = time.perf_counter()
            x, stepsize, gamma, skipped = await step(k, x)
            if k == cfg.iterations - 1:
                x = x - await self._finish(k)
            elapsed = time.perf_counter() - started
            crypto, wait = self._crypto_s - crypto0, self._wait_s - wait0
            traffic = _minus(self._endpoint.counters, before)
            k += 1
            await self._save(k, x)  # first: a crash after it resumes at k and logs x(k) again
            self._write(
                k,
                x,
                stepsize=stepsize,
                gamma=gamma,
                skipped=skipped,
                traffic=traffic,
                crypto=crypto,
                wait=wait,
                elapsed=elapsed,
            )
        return AgentReport(
            agent_id=cfg.agent_id,
            iterations=cfg.iterations,
            x=x,
            traffic=_copy(self._endpoint.counters),
            skipped=self._skipped,
            dropped=self._dropped + self._endpoint.counters.dropped,
            crypto_seconds=self._crypto_s,
            wait_seconds=self._wait_s,
            jumped=self._jumped,
            resumed_at=start if self._resume is not None else None,
        )

    def _start(self) -> tuple[int, FloatArray]:
        """Where the run begins: iteration 0 at x0, or where the checkpoint left off."""
        resume = self._resume
        if resume is None:
            x = np.array(self.config.x0, dtype=np.float64)
            self._write(0, x)
            return 0, x
        log.warning(
            "agent %s resumed at iteration %d from its checkpoint %s",
            self.config.agent_id,
            resume.k,
            self._checkpoint,
        )
        self._write(resume.k, resume.x, resumed=True)
        return resume.k, resume.x.copy()

    async def _save(self, k: int, x: FloatArray) -> None:
        """Checkpoint after iteration k - 1 (state x(k)), every ``checkpoint_every``.

        The snapshot is taken here, on the loop (copies: skip notices keep changing the
        correction and the applied terms); writing and fsync run in a thread."""
        if self._checkpoint is None:
            return
        if k % self._checkpoint_every and k != self.config.iterations:
            return
        secret = self._secret
        snapshot = Checkpoint(
            run=self.config.run,
            agent=self.config.agent_id,
            algorithm=self.config.algorithm.value,
            iterations=self.config.iterations,
            k=k,
            x=x.copy(),
            rng=dict(self._rng.bit_generator.state),
            key=None if secret is None else (secret.p, secret.q),
            base=self._base,
            correction=self._correction.copy(),
            applied={
                i: dict(terms) for i, terms in self._applied.items() if i >= k - CHECKPOINT_APPLIED
            },
        )
        await asyncio.to_thread(snapshot.save, self._checkpoint)

    def _lead(self, k: int) -> int:
        """The iteration to run instead of k: the furthest a neighbour has started, if
        that is two or more ahead (it can no longer serve k), else k itself. When every
        neighbour has finished (a late restart), the last iteration."""
        live = [n for n in self._neighbours if n not in self._gone]
        if not live:
            return max(k, self.config.iterations - 1)
        ahead = max(self._began.get(n, -1) for n in live)
        return ahead if ahead >= k + 2 else k

    async def _jump(self, k: int, target: int, x: FloatArray) -> None:
        """Skip iterations k .. target - 1: the state stays, each gets its log line."""
        log.warning(
            "agent %s: neighbours are at iteration %d, jumping there from %d",
            self.config.agent_id,
            target,
            k,
        )
        self._jumps = [*self._jumps[-KEEP_APPLIED:], (k, target)]
        self._jumped += target - k
        await self._save(target, x)
        for i in range(k + 1, target + 1):
            self._write(i, x, skipped=self._neighbours, jumped=True)

    async def _announce(self) -> None:
        assert self._edge is not None
        edge = self._edge
        await self._send(Kind.KEY, 0, BROADCAST, edge.announcement())
        missing = await self._wait_for(
            lambda: [n for n in self._neighbours if not edge.knows(n)],
            self.config.startup_timeout,
        )
        if missing:
            raise AgentError(
                f"agent {self.config.agent_id}: no key from {missing} "
                f"within {self.config.startup_timeout} s"
            )

    async def _step_edge(
        self, k: int, x: FloatArray
    ) -> tuple[FloatArray, float | list[float], float, list[str]]:
        cfg, edge = self.config, self._edge
        assert edge is not None
        # every private draw of iteration k, in a fixed order
        quantized = self._quantizer.quantize(x, self._rng)
        low, high = cfg.weight_range
        per = 1 if cfg.weight_mode is WeightMode.PER_EDGE else cfg.dim
        weights = {
            n: [int(w) for w in np.broadcast_to(self._rng.integers(low, high + 1, per), cfg.dim)]
            for n in self._neighbours
        }
        theta, batch = self._draw_step()
        async with self._changed:
            self._rounds[k] = _Round(quantized, weights)
            self._begin(k)
        await self._repeat_notices(k)
        request = await self._timed_crypto(edge.request(quantized))
        for n in self._neighbours:
            if n not in self._gone:
                await self._send(Kind.REQUEST, k, n, request)
        replies = self._replies.setdefault(k, {})
        await self._gather(k, lambda n: n in replies)
        decrypted, opened = {}, {}
        for n in sorted(replies):
            try:
                decrypted[n] = await self._timed_crypto(edge.open(replies[n]))
            except ProtocolError as exc:  # in range, but not a reply we can read: skip it
                self._dropped += 1
                log.warning(
                    "agent %s dropped reply from %s at iteration %d: %s", cfg.agent_id, n, k, exc
                )
                self._we_skipped.setdefault(k, set()).add(n)
                await self._send(Kind.SKIP, k, n, {})
                continue
            opened[n] = [a * v for a, v in zip(weights[n], decrypted[n], strict=True)]
        scale = 2.0 ** (cfg.frac_bits + 2 * cfg.weight_bits)
        gamma = cfg.attenuation(k)
        async with self._changed:
            used = self._usable(k, opened)
            total = [sum(column) for column in zip(*(opened[n] for n in used), strict=True)]
            coupling = np.array(total or [0] * cfg.dim, dtype=np.float64) / scale
            self._applied[k] = {
                n: gamma * (np.array(opened[n], dtype=np.float64) / scale) for n in used
            }
            correction = self._take_correction()
        stepsize = cfg.stepsize.base(k) * theta
        gradient = self._objective.gradient(x, batch)
        x_next = x + gamma * coupling - stepsize * gradient - correction
        if self._observer is not None:
            self._observer(
                {
                    "k": k,
                    "agent": cfg.agent_id,
                    "x": x.tolist(),
                    "quantized": quantized,
                    "weights": {n: weights[n] for n in self._neighbours},
                    "decrypted": decrypted,
                    "used": used,
                    "gamma": gamma,
                }
            )
        return x_next, _listify(stepsize), gamma, self._note_skipped(k, used)

    async def _step_baseline(
        self, k: int, x: FloatArray
    ) -> tuple[FloatArray, float | list[float], float, list[str]]:
        cfg = self.config
        _, batch = self._draw_step()
        noise = self._rng.laplace(0.0, cfg.dp_noise, cfg.dim) if cfg.dp_noise > 0 else 0.0
        shared = x + noise if cfg.algorithm is Algorithm.DP else x
        async with self._changed:
            self._begin(k)
        await self._repeat_notices(k)
        for n in self._neighbours:
            if n not in self._gone:
                await self._send(Kind.STATE, k, n, {"x": pack_floats(shared)})
        states = self._states.setdefault(k, {})
        await self._gather(k, lambda n: n in states)
        degree = len(self._neighbours)
        terms = {n: (states[n] - x) / (1 + max(degree, cfg.neighbours[n])) for n in sorted(states)}
        async with self._changed:
            used = self._usable(k, terms)
            self._applied[k] = {n: terms[n] for n in used}
            correction = self._take_correction()
        mixing = np.zeros(cfg.dim)
        for n in used:
            mixing += terms[n]
        stepsize = cfg.stepsize.base(k)
        x_next = x + mixing - stepsize * self._objective.gradient(x, batch) - correction
        if self._observer is not None:
            self._observer(
                {
                    "k": k,
                    "agent": cfg.agent_id,
                    "x": x.tolist(),
                    "states": {n: states[n].tolist() for n in sorted(states)},
                    "used": used,
                }
            )
        return x_next, stepsize, 1.0, self._note_skipped(k, used)

    def _begin(self, k: int) -> None:
        """Enter iteration k (under the lock): forget old rounds, take in what a
        neighbour sent for k or k + 1 while this agent was further behind."""
        self._k = k
        self._prune(k)
        for sender, envelope in sorted(self._early.items()):
            if envelope.iteration > k + 1:
                continue
            del self._early[sender]
            try:
                self._take(envelope)
            except AgentError as exc:
                self._drop(envelope, exc)
        self._changed.notify_all()

    async def _repeat_notices_to(self, neighbour: str) -> None:
        for i in sorted(self._we_skipped):  # a copy: the sends below let it change
            if neighbour in self._we_skipped.get(i, ()):
                await self._send(Kind.SKIP, i, neighbour, {})

    async def _repeat_notices(self, k: int) -> None:
        for i in range(k - NOTICE_REPEATS, k):
            for n in sorted(self._we_skipped.get(i, ())):
                await self._send(Kind.SKIP, i, n, {})

    def _draw_step(self) -> tuple[float | FloatArray, np.ndarray | None]:
        cfg = self.config
        size = cfg.dim if cfg.stepsize_mode is StepsizeMode.PER_COORDINATE else None
        theta = cfg.stepsize.draw_factor(self._rng, size)
        samples = self._objective.samples
        if cfg.batch_size >= samples:
            return theta, None
        return theta, self._rng.choice(samples, size=cfg.batch_size, replace=False)

    async def _gather(self, k: int, arrived: Callable[[str], bool]) -> None:
        """Wait for every live neighbour's message of iteration k; tell the late ones
        that their term is dropped, so they drop ours (the coupling stays symmetric)."""
        skipped_by = self._skipped_by.setdefault(k, set())

        def late() -> list[str]:
            return [n for n in self._neighbours if not arrived(n) and n not in skipped_by]

        def hopeless(n: str) -> bool:
            # gone: it has said goodbye (and may wait for ours: it still hears the notice);
            # ahead: it has forgotten round k. Neither can answer: do not wait for them.
            return n in self._gone or self._began.get(n, -1) >= k + 2

        await self._wait_for_neighbours(lambda: [n for n in late() if not hopeless(n)])
        missing = late()
        self._we_skipped[k] = set(missing)
        for n in missing:
            await self._send(Kind.SKIP, k, n, {})

    def _usable(self, k: int, terms: Mapping[str, object]) -> list[str]:
        """The neighbours whose term of iteration k is applied: arrived, not retracted."""
        dropped = self._skipped_by.get(k, set()) | self._we_skipped.get(k, set())
        return [n for n in sorted(terms) if n not in dropped]

    def _take_correction(self) -> FloatArray:
        """The terms undone since the last update, to subtract in this one."""
        correction, self._correction = self._correction, np.zeros(self.config.dim)
        # extend: the last iteration takes a correction twice (its update, then _finish)
        self._compensated_now, self._compensated = self._compensated_now + self._compensated, []
        return correction

    def _note_skipped(self, k: int, used: list[str]) -> list[str]:
        # a neighbour that said goodbye did run iteration k: its unused term is a skip too
        skipped = [n for n in self._neighbours if n not in used]
        if skipped:
            self._skipped += len(skipped)
            log.warning(
                "agent %s skipped %s at iteration %d (silent for %.1f s or retracted)",
                self.config.agent_id,
                skipped,
                k,
                self.config.round_timeout,
            )
        return skipped

    async def _finish(self, last: int, *, serve: bool = True) -> FloatArray:
        """Serve the neighbours' last requests, say goodbye, and wait for their goodbyes:
        a skip notice for the last iteration comes before its sender's goodbye, so the
        returned correction (to subtract from the final state) keeps the last coupling
        symmetric too. ``serve=False``: resumed after the end, only say goodbye."""
        if serve and self.config.algorithm.uses_edge_protocol:
            served = self._rounds[last].served
            skipped_by = self._skipped_by.get(last, set())
            missing = await self._wait_for_neighbours(
                lambda: [
                    n
                    for n in self._neighbours
                    if n not in served and n not in self._gone and n not in skipped_by
                ]
            )
            if missing:
                log.warning(
                    "agent %s: %s never asked for the last iteration", self.config.agent_id, missing
                )
        for n in self._neighbours:  # to all: one that said goodbye still waits for ours
            # the goodbye repeats the last notices: overtaking one, it must not outrun it
            notices = [
                i
                for i in range(last - NOTICE_REPEATS, last + 1)
                if n in self._we_skipped.get(i, ())
            ]
            await self._send(Kind.BYE, last + 1, n, {"skipped": pack_ints(notices, NOTICE_BYTES)})
        await self._wait_for_neighbours(
            lambda: [n for n in self._neighbours if n not in self._gone]
        )
        async with self._changed:
            return self._take_correction()

    async def _wait_for_neighbours(self, missing: Callable[[], list[str]]) -> list[str]:
        """Wait for the neighbours in ``missing()``, each for ``round_timeout`` from now or
        twice that from the last time it was heard from, whichever ends later; at most
        3 x ``round_timeout`` in all. Returns who is still missing.

        A neighbour that was talking a moment ago gets the longer allowance: it may itself
        be waiting out a dead neighbour of its own for one ``round_timeout``, and skipping
        it for that would spread one failure along the graph. One long silent costs one
        ``round_timeout`` per iteration."""
        bound = self.config.round_timeout
        started = time.monotonic()
        cap = started + 3 * bound
        async with self._changed:
            while waiting := missing():
                last_heard = max(self._heard.get(n, -math.inf) for n in waiting)
                deadline = min(cap, max(started + bound, last_heard + 2 * bound))
                now = time.monotonic()
                if now >= deadline:
                    break
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(deadline - now):
                        await self._changed.wait()
        self._wait_s += time.monotonic() - started
        return missing()

    async def _wait_for(self, missing: Callable[[], list[str]], bound: float) -> list[str]:
        """Wait until ``missing()`` is empty or ``bound`` seconds pass; return what is missing."""
        started = time.perf_counter()
        try:
            async with self._changed, asyncio.timeout(bound):
                await self._changed.wait_for(lambda: not missing())
        except TimeoutError:
            pass
        self._wait_s += time.perf_counter() - started
        return missing()

    async def _timed_crypto(self, operation: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await operation
        finally:
            self._crypto_s += time.perf_counter() - started

    def _prune(self, k: int) -> None:
        """Forget what no neighbour can still ask for: a neighbour is at most one
        iteration behind unless it was skipped, and then its request is stale.
        Applied terms are kept a little longer, for late skip notices."""
        for table in (self._rounds, self._replies, self._states, self._seen_requests):
            for old in [i for i in table if i < k - 1]:
                del table[old]
        for kept in (self._applied, self._skipped_by, self._we_skipped):
            for old in [i for i in kept if i < k - KEEP_APPLIED]:
                del kept[old]

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
        await self._endpoint.send(envelope)

    async def _receive_loop(self) -> None:
        while True:
            envelope = await self._endpoint.receive()
            try:
                await self._dispatch(envelope)
            except (AgentError, EnvelopeError) as exc:
                self._drop(envelope, exc)

    def _drop(self, envelope: Envelope, reason: Exception) -> None:
        self._dropped += 1
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
        edge = self._edge
        assert edge is not None and self._tasks is not None
        async with self._changed:
            self._heard[sender] = time.monotonic()
            if envelope.kind in (Kind.REPLY, Kind.STATE) and sender in self._skipped_by.get(k, ()):
                raise ProtocolError(f"{envelope.kind} after its skip notice for iteration {k}")
            match envelope.kind:
                case Kind.KEY:
                    again = edge.knows(sender)
                    edge.learn(sender, envelope.payload)
                    if again and self._k >= 0:  # it restarted: it missed our notices
                        self._spawn(self._repeat_notices_to(sender), f"notices.{sender}")
                case Kind.REQUEST | Kind.STATE:
                    self._take(envelope)
                case Kind.REPLY:
                    if not self.config.algorithm.uses_edge_protocol:
                        raise ProtocolError(f"{self.config.algorithm} runs exchange no replies")
                    if k != self._k:
                        raise ProtocolError(f"reply for iteration {k}, waiting for {self._k}")
                    replies = self._replies.setdefault(k, {})
                    if sender in replies:
                        raise ProtocolError("duplicate reply")
                    edge.check_reply(envelope.payload)
                    replies[sender] = envelope.payload
                case Kind.SKIP:
                    self._retract(sender, k)
                case Kind.BYE:
                    for i in self._notices_in(envelope.payload):
                        self._retract(sender, i)
                    self._gone.add(sender)
            self._changed.notify_all()

    def _notices_in(self, payload: Payload) -> list[int]:
        """The iterations a goodbye repeats skip notices for."""
        blob = payload.get("skipped", b"")
        try:
            notices = unpack_ints(blob, NOTICE_BYTES)
        except EnvelopeError as exc:
            raise ProtocolError(f"goodbye with malformed skip notices: {exc}") from exc
        if len(notices) > NOTICE_REPEATS + 1 or any(i >= self.config.iterations for i in notices):
            raise ProtocolError(f"goodbye with skip notices for iterations {notices}")
        return notices

    def _retract(self, neighbour: str, k: int) -> None:
        """A neighbour dropped our term of iteration k: drop theirs, or undo it if applied.
        A notice from ahead is kept: this agent may yet jump to that iteration."""
        if any(start <= k < end for start, end in self._jumps):
            return  # an iteration this agent jumped over: it applied nothing
        if not self._k - KEEP_APPLIED <= k < self.config.iterations:
            raise ProtocolError(f"skip notice for iteration {k}, at {self._k}")
        self._began[neighbour] = max(self._began.get(neighbour, -1), k)
        applied = self._applied.get(k, {})
        if neighbour in applied:
            self._correction += applied.pop(neighbour)
            self._compensated.append((neighbour, k))
            log.info("agent %s undid %s's term of iteration %d", self.config.agent_id, neighbour, k)
        else:
            self._skipped_by.setdefault(k, set()).add(neighbour)

    def _take(self, envelope: Envelope) -> None:
        """A neighbour's request or state (under the lock): served or stored if it is
        for this iteration or the next, held if it is from further ahead (this agent
        is behind and will jump there), refused if stale or invalid."""
        sender, k = envelope.sender, envelope.iteration
        assert self._edge is not None
        kind = envelope.kind
        edge_protocol = self.config.algorithm.uses_edge_protocol
        if edge_protocol != (kind is Kind.REQUEST):
            raise ProtocolError(f"{self.config.algorithm} runs exchange no {kind} messages")
        if k >= self.config.iterations:
            raise ProtocolError(
                f"{kind} for iteration {k}, too far ahead: the run has {self.config.iterations}"
            )
        if k < self._k - 1 or (k < self._k and (k not in self._rounds or not edge_protocol)):
            raise ProtocolError(f"stale {kind} for iteration {k}, at {self._k}")
        seen = self._seen_requests.setdefault(k, set()) if k <= self._k + 1 else set()
        if sender in seen:
            raise ProtocolError(f"duplicate {kind}")
        if edge_protocol:
            self._edge.check_request(sender, envelope.payload)
            state = None
        else:
            blob = envelope.payload.get("x")
            if not isinstance(blob, bytes):
                raise ProtocolError("state payload without 'x'")
            state = unpack_floats(blob, count=self.config.dim)
        self._began[sender] = max(self._began.get(sender, -1), k)
        if k > self._k + 1:  # hold its newest only: one per neighbour
            held = self._early.get(sender)
            if held is None or held.iteration <= k:
                self._early[sender] = envelope
            return
        seen.add(sender)
        if state is None:
            self._spawn(self._serve(envelope), f"serve.{sender}.{k}")
        else:
            self._states.setdefault(k, {})[sender] = state

    async def _serve(self, envelope: Envelope) -> None:
        sender, k = envelope.sender, envelope.iteration
        assert self._edge is not None
        async with self._changed:
            # we may be a round behind, waiting out a neighbour for up to 3 round timeouts
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(3 * self.config.round_timeout):
                    await self._changed.wait_for(lambda: k in self._rounds or k < self._k - 1)
            round_ = self._rounds.get(k)
        if round_ is None:
            log.warning(
                "agent %s: request of %s for iteration %d expired unserved",
                self.config.agent_id,
                sender,
                k,
            )
            return
        reply = await self._timed_crypto(
            self._edge.serve(sender, envelope.payload, round_.quantized, round_.weights[sender])
        )
        await self._send(Kind.REPLY, k, sender, reply)
        async with self._changed:
            round_.served.add(sender)
            self._changed.notify_all()

    # journal -------------------------------------------------------------------

    def _write(
        self,
        k: int,
        x: FloatArray,
        *,
        stepsize: float | list[float] | None = None,
        gamma: float | None = None,
        skipped: list[str] | None = None,
        traffic: TrafficCounters | None = None,
        crypto: float = 0.0,
        wait: float = 0.0,
        elapsed: float = 0.0,
        jumped: bool = False,
        resumed: bool = False,
    ) -> None:
        """Log x(k); ``jumped``: iteration k - 1 was jumped over, ``resumed``: the agent
        restarted from its checkpoint at k (a line for k may already be in the log)."""
        traffic = traffic or TrafficCounters()
        record = {
            "k": k,
            "t": time.time(),
            "agent": self.config.agent_id,
            "objective": self._objective.value(x),
            "stepsize": stepsize,
            "gamma": gamma,
            "bytes_in": traffic.bytes_received,
            "bytes_out": traffic.bytes_sent,
            "msgs_in": traffic.messages_received,
            "msgs_out": traffic.messages_sent,
            "crypto_s": round(crypto, 6),
            "wait_s": round(wait, 6),
            "compute_s": round(max(0.0, elapsed - crypto - wait), 6),
            "skipped": skipped or [],
            "compensated": [[n, i] for n, i in self._compensated_now],
        }
        self._compensated_now = []
        if jumped:
            record["jumped"] = True
        if resumed:
            record["resumed"] = True
        if self.config.record is Record.STATE:
            record["x"] = x.tolist()
        else:
            record["digest"] = digest(x)
        self._journal.write(record)
        if k > 0 and not resumed and self._on_iteration is not None:
            self._on_iteration(k)


def _copy(c: TrafficCounters) -> TrafficCounters:
    return TrafficCounters(
        c.messages_sent, c.bytes_sent, c.messages_received, c.bytes_received, c.dropped
    )


def _minus(a: TrafficCounters, b: TrafficCounters) -> TrafficCounters:
    return TrafficCounters(
        a.messages_sent - b.messages_sent,
        a.bytes_sent - b.bytes_sent,
        a.messages_received - b.messages_received,
        a.bytes_received - b.bytes_received,
        a.dropped - b.dropped,
    )


def _listify(value: float | FloatArray) -> float | list[float]:
    return value.tolist() if isinstance(value, np.ndarray) else float(value)
