"""The per-iteration round table: what an agent holds of iteration k and its neighbours.

An agent serves a neighbour's iteration-k request with its own iteration-k state,
so it keeps each round (quantized state and weight halves) until every neighbour
was served; it collects the replies (edge protocol) or states (baselines) of the
iteration in progress; it admits a neighbour's request or state for this
iteration or the next, holds the newest one from further ahead (this agent is
behind and will jump there), and refuses stale, duplicate or invalid ones. It
tracks how far each neighbour has got, who said goodbye and when each was last
heard from, which says when to stop waiting and where to jump.

Agents fall apart in time when one crashes, or a group is cut off from the
broker. An agent that finds a neighbour two or more iterations ahead cannot be
served by it any more (that neighbour has forgotten the round), so it stops
waiting for it and, at its next iteration, jumps towards the neighbour's
iteration: the iterations in between leave its state unchanged and are logged
with ``"jumped": true``. Jumps spread along the graph one hop per iteration, so
the agents are back in step soon after a partition heals or a crashed agent comes
back.

A claim to be ahead is only a neighbour's word, and one forged or compromised
neighbour must not drag the graph (issue 13), so a claim moves this agent only as
far as its own evidence allows (:meth:`RoundTable.lead`):

- **corroborated**: when two or more distinct live neighbours have started
  iteration t >= k + 2, the agent jumps to the lower of the two highest claims (a
  second neighbour vouches for it; nobody is followed beyond it);
- **waited out**: a claim that only one neighbour makes counts once this agent has
  itself waited out that very neighbour (a wait for it ran to its deadline, see
  :meth:`RoundTable.waited_out`) since it last heard from it in step (a request,
  state or reply of this iteration or the next), and then reaches at most
  :data:`JUMP_PER_TIMEOUT` iterations per such wait: an honest neighbour that ran
  ahead without this agent waited out this agent for at least one round timeout
  per iteration, so the lead it built grows with the time this agent could not
  hear it. A jump spends the evidence.

Until then such a neighbour is not hopeless either: the agent waits for it as for
any other (a neighbour that claims to be ahead yet answers costs nothing). A
restarted agent of a ring finds both its neighbours ahead (corroborated, at once);
an agent on the edge of a healed partition, or of degree one, pays one round
timeout per jump.

:class:`RoundTable` is that bookkeeping as a plain synchronous class: the agent
feeds it envelopes and asks it questions; it never waits and never sends.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field

from transport import Envelope, Kind, unpack_floats

from .._config import AgentConfig, Algorithm
from .._edge import Payload
from .._errors import ProtocolError
from ..objectives import FloatArray

log = logging.getLogger("hemesh.agent")

JUMP_PER_TIMEOUT = 10
"""How far one neighbour's uncorroborated claim may take this agent, in iterations per
wait for that neighbour that this agent itself ran to its deadline."""


@dataclass(slots=True)
class Round:
    """What this agent keeps of its iteration k until every neighbour was served."""

    quantized: list[int]
    weights: dict[str, list[int]]
    served: set[str] = field(default_factory=set)


class Admission(enum.Enum):
    """What became of an admitted request or state."""

    SERVE = "serve"
    """A request for this iteration or the next: to be served."""
    STORED = "stored"
    """A state for this iteration or the next: kept for the update."""
    HELD = "held"
    """From beyond the next iteration: held until this agent gets there."""


class RoundTable:
    """One agent's rounds, inbound messages by iteration, and its neighbours' progress."""

    def __init__(
        self,
        *,
        neighbours: Iterable[str],
        algorithm: Algorithm,
        iterations: int,
        dim: int,
        owner: str = "",
    ) -> None:
        self._owner = owner  # the agent's id, for log lines
        self._neighbours = sorted(neighbours)
        self._dim = dim
        self._algorithm = algorithm
        self._iterations = iterations
        self.k = -1
        """The iteration in progress (-1: not started)."""
        self._rounds: dict[int, Round] = {}
        self._replies: dict[int, dict[str, Payload]] = {}
        self._states: dict[int, dict[str, FloatArray]] = {}
        self._seen_requests: dict[int, set[str]] = {}
        self._early: dict[str, Envelope] = {}  # a request/state from beyond k + 1, held
        self._began: dict[str, int] = {}  # the latest iteration each neighbour started
        self._gone: set[str] = set()
        self._heard: dict[str, float] = {}  # monotonic time of each neighbour's last message
        self._waited: dict[str, int] = {}  # waits run to their deadline, since last in step

    @classmethod
    def for_agent(cls, config: AgentConfig) -> RoundTable:
        return cls(
            neighbours=config.neighbours,
            algorithm=config.algorithm,
            iterations=config.iterations,
            dim=config.dim,
            owner=config.agent_id,
        )

    # this agent's iterations -----------------------------------------------------

    def begin(self, k: int) -> list[Envelope]:
        """Enter iteration k: forget old rounds; returns what a neighbour sent for k or
        k + 1 while this agent was further behind, to admit now."""
        self.k = k
        self.prune(k)
        released = []
        for sender, envelope in sorted(self._early.items()):
            if envelope.iteration <= k + 1:
                del self._early[sender]
                released.append(envelope)
        return released

    def open_round(self, k: int, quantized: list[int], weights: dict[str, list[int]]) -> None:
        self._rounds[k] = Round(quantized, weights)

    def round(self, k: int) -> Round | None:
        return self._rounds.get(k)

    def unserved(self, k: int, excused: Container[str]) -> list[str]:
        """The live neighbours not yet served with round k, less the excused ones."""
        served = self._rounds[k].served
        return [
            n
            for n in self._neighbours
            if n not in served and n not in self._gone and n not in excused
        ]

    def settled(self, k: int) -> bool:
        """Whether a request for k can be decided: its round is open, or long gone."""
        return k in self._rounds or k < self.k - 1

    def replies(self, k: int) -> dict[str, Payload]:
        """The replies of iteration k so far (a live dict)."""
        return self._replies.setdefault(k, {})

    def states(self, k: int) -> dict[str, FloatArray]:
        """The states of iteration k so far (a live dict)."""
        return self._states.setdefault(k, {})

    def prune(self, k: int) -> None:
        """Forget what no neighbour can still ask for: a neighbour is at most one
        iteration behind unless it was skipped, and then its request is stale."""
        for table in (self._rounds, self._replies, self._states, self._seen_requests):
            for old in [i for i in table if i < k - 1]:
                del table[old]

    # inbound messages ------------------------------------------------------------

    def admit(self, envelope: Envelope, check_request: Callable[[str, Payload], None]) -> Admission:
        """A neighbour's request or state: admitted if it is for this iteration or the
        next, held if it is from further ahead, refused (ProtocolError) if stale,
        duplicate or invalid. ``check_request(sender, payload)`` checks a request's
        payload (the edge protocol's), raising ProtocolError if it is invalid."""
        sender, k, kind = envelope.sender, envelope.iteration, envelope.kind
        edge_protocol = self._algorithm.uses_edge_protocol
        if edge_protocol != (kind is Kind.REQUEST):
            raise ProtocolError(f"{self._algorithm} runs exchange no {kind} messages")
        if k >= self._iterations:
            raise ProtocolError(
                f"{kind} for iteration {k}, too far ahead: the run has {self._iterations}"
            )
        if k < self.k - 1 or (k < self.k and (k not in self._rounds or not edge_protocol)):
            raise ProtocolError(f"stale {kind} for iteration {k}, at {self.k}")
        seen = self._seen_requests.setdefault(k, set()) if k <= self.k + 1 else set()
        if sender in seen:
            raise ProtocolError(f"duplicate {kind}")
        if edge_protocol:
            check_request(sender, envelope.payload)
            state = None
        else:
            state = self._state(envelope.payload)
        self.began(sender, k)
        if k > self.k + 1:  # hold its newest only: one per neighbour
            held = self._early.get(sender)
            if held is None or held.iteration <= k:
                self._early[sender] = envelope
            return Admission.HELD
        seen.add(sender)
        self._waited.pop(sender, None)  # in step: earlier waits are no evidence any more
        self._contradicted(sender, k)
        if state is None:
            return Admission.SERVE
        self._states.setdefault(k, {})[sender] = state
        return Admission.STORED

    def _contradicted(self, sender: str, k: int) -> None:
        """The neighbour is at iteration k: a claim of it held from much further ahead
        (beyond any reordering in transit) is contradicted, since a neighbour's
        iterations only go forward; it is dropped and its claim forgotten."""
        held = self._early.get(sender)
        if held is None or held.iteration <= k + JUMP_PER_TIMEOUT:
            return
        del self._early[sender]
        self._began[sender] = k
        log.warning(
            "agent %s dropped %s from %s at iteration %d: it claimed to be there, yet "
            "sends for iteration %d now",
            self._owner,
            held.kind,
            sender,
            held.iteration,
            k,
        )

    def _state(self, payload: Payload) -> FloatArray:
        blob = payload.get("x")
        if not isinstance(blob, bytes):
            raise ProtocolError("state payload without 'x'")
        return unpack_floats(blob, count=self._dim)

    def admit_reply(self, envelope: Envelope, check: Callable[[Payload], None]) -> None:
        """A neighbour's reply for the iteration in progress (ProtocolError otherwise)."""
        sender, k = envelope.sender, envelope.iteration
        if not self._algorithm.uses_edge_protocol:
            raise ProtocolError(f"{self._algorithm} runs exchange no replies")
        if k != self.k:
            raise ProtocolError(f"reply for iteration {k}, waiting for {self.k}")
        replies = self._replies.setdefault(k, {})
        if sender in replies:
            raise ProtocolError("duplicate reply")
        check(envelope.payload)
        replies[sender] = envelope.payload
        self._waited.pop(sender, None)

    # the neighbours --------------------------------------------------------------

    def hear(self, neighbour: str, now: float) -> None:
        self._heard[neighbour] = now

    def deadline(self, waiting: Iterable[str], *, started: float, bound: float) -> float:
        """Until when to wait for these neighbours in a wait that began at ``started``:
        ``bound`` from then or twice that from the last time any of them was heard
        from, whichever ends later; at most 3 x ``bound`` from ``started``.

        A neighbour that was talking a moment ago gets the longer allowance: it may itself
        be waiting out a dead neighbour of its own for one ``bound``, and skipping it for
        that would spread one failure along the graph. One long silent costs one
        ``bound`` per iteration."""
        last_heard = max(self._heard.get(n, -math.inf) for n in waiting)
        return min(started + 3 * bound, max(started + bound, last_heard + 2 * bound))

    def began(self, neighbour: str, k: int) -> None:
        """The neighbour has started iteration k (a request, state or notice for it)."""
        self._began[neighbour] = max(self._began.get(neighbour, -1), k)

    def leave(self, neighbour: str) -> None:
        """The neighbour said goodbye."""
        self._gone.add(neighbour)

    def gone(self, neighbour: str) -> bool:
        return neighbour in self._gone

    def live(self) -> list[str]:
        """The neighbours that have not said goodbye."""
        return [n for n in self._neighbours if n not in self._gone]

    def waited_out(self, neighbours: Iterable[str]) -> None:
        """This agent waited for these neighbours until its deadline, in vain: its own
        evidence that they may have gone on without it."""
        for n in neighbours:
            self._waited[n] = self._waited.get(n, 0) + 1

    def credible(self, neighbour: str, k: int) -> int:
        """How far this agent, at iteration k, believes the neighbour has got: its claim
        if a second live neighbour also claims k + 2 or more, or if this agent has
        waited it out (then at most :data:`JUMP_PER_TIMEOUT` iterations per wait); else
        no further than k + 1 (see the module's docstring)."""
        claim = self._began.get(neighbour, -1)
        if claim < k + 2:
            return claim
        others = [self._began.get(n, -1) for n in self.live() if n != neighbour]
        corroborated = min(claim, max(others, default=-1))
        waits = self._waited.get(neighbour, 0)
        waited = min(claim, k + JUMP_PER_TIMEOUT * waits) if waits else -1
        return max(corroborated, waited, min(claim, k + 1))

    def hopeless(self, neighbour: str, k: int) -> bool:
        """Whether the neighbour can no longer answer for iteration k: gone (it said
        goodbye, and may wait for ours: it still hears a notice) or, as far as this
        agent's evidence goes, ahead (it has forgotten round k)."""
        return neighbour in self._gone or self.credible(neighbour, k) >= k + 2

    def lead(self, k: int) -> int:
        """The iteration to run instead of k: the furthest this agent believes a live
        neighbour has started (:meth:`credible`), if that is two or more ahead (it can
        no longer serve k), else k itself. When every neighbour has finished (a late
        restart), the last iteration."""
        live = self.live()
        if not live:
            return max(k, self._iterations - 1)
        ahead = max(self.credible(n, k) for n in live)
        return ahead if ahead >= k + 2 else k

    def jumped(self) -> None:
        """A jump spends the evidence that justified it."""
        self._waited.clear()
