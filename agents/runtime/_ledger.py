"""What keeps the coupling symmetric when messages are lost, late or retracted.

The coupling term a_ij (x_j - x_i) must be applied by both ends of an edge or by
neither. When one end gives up waiting for the other, it sends a skip notice and
drops the term; the other end, on the notice, drops its own term, or undoes it if
it was already applied (a correction subtracted in its next update). Notices are
repeated with the next requests and with the goodbye, and sent again to a
neighbour that restarted: a lost notice would leave a one-sided term.

:class:`CouplingLedger` is that bookkeeping as a plain synchronous class: the agent
feeds it events (terms applied, notices sent and received, iterations jumped over)
and asks it what to send and what to correct. It never waits and never sends.

An agent that aggregates before decrypting never sees a single edge's term; it applies
:class:`Sealed` terms (the reply, still a ciphertext, with what turns it into the
term). A notice that undoes one makes it due (:meth:`CouplingLedger.sealed_due`); the
agent decrypts it alone and hands the term back (:meth:`CouplingLedger.unsealed`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from transport import EnvelopeError, pack_ints, unpack_ints

from .._config import AgentConfig
from .._edge import Payload
from .._errors import ProtocolError
from ..objectives import FloatArray

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


@dataclass(frozen=True, kw_only=True, slots=True)
class Sealed:
    """A coupling term applied inside a sum: the neighbour's reply, this agent's weight
    half(s) and the iteration's gamma; the term is gamma [a_ij] open(reply) / scale."""

    reply: Payload
    weights: tuple[int, ...]
    gamma: float


Term = FloatArray | Sealed
"""An applied coupling term: in the clear, or still sealed in its reply."""


class CouplingLedger:
    """One agent's record of applied terms, skip notices both ways, and corrections."""

    def __init__(self, *, owner: str, dim: int, iterations: int) -> None:
        self._owner = owner
        self._dim = dim
        self._iterations = iterations
        self._applied: dict[int, dict[str, Term]] = {}  # coupling terms, by iteration
        self._skipped_by: dict[int, set[str]] = {}  # their skip notices, by iteration
        self._we_skipped: dict[int, set[str]] = {}  # our skip notices, by iteration
        self._correction = np.zeros(dim)
        self._compensated: list[tuple[str, int]] = []  # undone terms not yet in an update
        self._compensated_now: list[tuple[str, int]] = []  # undone in the current update
        self._jumps: list[tuple[int, int]] = []  # iterations [from, to) jumped over
        self._due: list[tuple[str, int, Sealed]] = []  # sealed terms undone, to decrypt

    @classmethod
    def for_agent(cls, config: AgentConfig) -> CouplingLedger:
        return cls(owner=config.agent_id, dim=config.dim, iterations=config.iterations)

    # restoring and checkpointing -----------------------------------------------

    def restore(
        self, *, correction: FloatArray, applied: Mapping[int, Mapping[str, FloatArray]]
    ) -> None:
        """Take back what a checkpoint kept (before any message is received)."""
        self._correction = correction.copy()
        self._applied = {k: dict(terms) for k, terms in applied.items()}

    def correction(self) -> FloatArray:
        """A copy of the correction not yet subtracted."""
        return self._correction.copy()

    def applied_since(self, k: int) -> dict[int, dict[str, FloatArray]]:
        """Copies of the applied terms of iterations k and later (those in the clear: an
        agent that checkpoints applies no sealed terms)."""
        return {
            i: {n: t for n, t in terms.items() if not isinstance(t, Sealed)}
            for i, terms in self._applied.items()
            if i >= k
        }

    # their notices ---------------------------------------------------------------

    def retracted(self, neighbour: str, k: int) -> bool:
        """Whether the neighbour's notice dropped its term of iteration k (not applied)."""
        return neighbour in self._skipped_by.get(k, ())

    def notices_from(self, k: int) -> set[str]:
        """The neighbours whose notice dropped their term of iteration k: a live set,
        later notices for k appear in it."""
        return self._skipped_by.setdefault(k, set())

    def retract(self, neighbour: str, k: int, *, current: int) -> bool:
        """A neighbour dropped our term of iteration k (this agent is at ``current``):
        drop theirs, or undo it if applied. A notice from ahead is kept: this agent may
        yet jump to that iteration. False: an iteration this agent jumped over (it
        applied nothing). Raises ProtocolError for an iteration out of reach."""
        if any(start <= k < end for start, end in self._jumps):
            return False
        if not current - KEEP_APPLIED <= k < self._iterations:
            raise ProtocolError(f"skip notice for iteration {k}, at {current}")
        applied = self._applied.get(k, {})
        if neighbour in applied:
            term = applied.pop(neighbour)
            if isinstance(term, Sealed):
                self._due.append((neighbour, k, term))
            else:
                self.unsealed(neighbour, k, term)
        else:
            self._skipped_by.setdefault(k, set()).add(neighbour)
        return True

    def sealed_due(self) -> list[tuple[str, int, Sealed]]:
        """The sealed terms undone since the last call, as (neighbour, iteration, term):
        decrypt each and hand it to :meth:`unsealed`."""
        due, self._due = self._due, []
        return due

    def unsealed(self, neighbour: str, k: int, term: FloatArray) -> None:
        """An undone term, in the clear: subtracted in the next update."""
        self._correction += term
        self._compensated.append((neighbour, k))
        log.info("agent %s undid %s's term of iteration %d", self._owner, neighbour, k)

    def read_goodbye(self, payload: Payload) -> list[int]:
        """The iterations a goodbye repeats skip notices for."""
        blob = payload.get("skipped", b"")
        try:
            notices = unpack_ints(blob, NOTICE_BYTES)
        except EnvelopeError as exc:
            raise ProtocolError(f"goodbye with malformed skip notices: {exc}") from exc
        if len(notices) > NOTICE_REPEATS + 1 or any(i >= self._iterations for i in notices):
            raise ProtocolError(f"goodbye with skip notices for iterations {notices}")
        return notices

    # our notices -----------------------------------------------------------------

    def skipping(self, k: int, neighbours: list[str]) -> None:
        """This agent gave up waiting for these neighbours at iteration k."""
        self._we_skipped[k] = set(neighbours)

    def skip(self, k: int, neighbour: str) -> None:
        """This agent drops the neighbour's term of iteration k (its reply was unusable)."""
        self._we_skipped.setdefault(k, set()).add(neighbour)

    def notices_due(self, k: int) -> list[tuple[int, str]]:
        """The notices (iteration, neighbour) to repeat with iteration k's messages."""
        return [
            (i, n)
            for i in range(k - NOTICE_REPEATS, k)
            for n in sorted(self._we_skipped.get(i, ()))
        ]

    def notices_to(self, neighbour: str) -> Iterator[int]:
        """Every iteration still kept whose term this agent dropped for the neighbour
        (for one that restarted and missed them). Lazy: notices may change meanwhile."""
        for i in sorted(self._we_skipped):
            if neighbour in self._we_skipped.get(i, ()):
                yield i

    def goodbye(self, neighbour: str, last: int) -> Payload:
        """A goodbye after iteration ``last`` repeats the last notices: overtaking one,
        it must not outrun it."""
        notices = [
            i
            for i in range(last - NOTICE_REPEATS, last + 1)
            if neighbour in self._we_skipped.get(i, ())
        ]
        return {"skipped": pack_ints(notices, NOTICE_BYTES)}

    # the update --------------------------------------------------------------------

    def usable(self, k: int, terms: Iterable[str]) -> list[str]:
        """The neighbours (of ``terms``: arrived) whose term of iteration k is applied:
        not retracted."""
        dropped = self._skipped_by.get(k, set()) | self._we_skipped.get(k, set())
        return [n for n in sorted(terms) if n not in dropped]

    def apply(self, k: int, terms: Mapping[str, Term]) -> None:
        """The coupling terms of iteration k, as applied (kept for late notices)."""
        self._applied[k] = dict(terms)

    def take_correction(self) -> FloatArray:
        """The terms undone since the last update, to subtract in this one."""
        correction, self._correction = self._correction, np.zeros(self._dim)
        # extend: the last iteration takes a correction twice (its update, then the finish)
        self._compensated_now, self._compensated = self._compensated_now + self._compensated, []
        return correction

    def take_compensated(self) -> list[tuple[str, int]]:
        """The (neighbour, iteration) terms undone in the update just logged."""
        compensated, self._compensated_now = self._compensated_now, []
        return compensated

    def jumped(self, start: int, end: int) -> None:
        """This agent jumped over iterations start .. end - 1: it applied nothing there."""
        self._jumps = [*self._jumps[-KEEP_APPLIED:], (start, end)]

    def prune(self, k: int) -> None:
        """Forget what no late notice may still concern at iteration k."""
        for kept in (self._applied, self._skipped_by, self._we_skipped):
            for old in [i for i in kept if i < k - KEEP_APPLIED]:
                del kept[old]
