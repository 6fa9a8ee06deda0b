"""How an agent turns an iteration's replies into coupling integers (DESIGN.md, The
secure edge protocol): each reply decrypted on its own, or the weighted sum of the
usable ones decrypted once (aggregating), and the sealed terms that skip notices undid
decrypted alone afterwards.

:class:`ReplyOpener` holds no state of its own: it asks the edge protocol to decrypt,
bounds what comes out (:func:`agents._edge.check_term`), and records in the ledger and
the counters what it dropped or undid. A reply it cannot use costs a log line and a
skip notice, sent through the ``notify`` callback it is given (the agent's send), in the
order the replies are opened.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from .._config import AgentConfig
from .._edge import EdgeProtocol, Payload, check_term, term_bound
from .._errors import ProtocolError
from ..objectives import FloatArray
from ._ledger import CouplingLedger, Sealed
from ._report import AgentStats
from ._update import (
    coupling_scale,
    edge_coupling,
    edge_term,
    edge_terms,
    scaled_sum,
    weighted,
)

log = logging.getLogger("hemesh.agent")

Notify = Callable[[int, str], Awaitable[None]]
"""Send the skip notice of iteration k to a neighbour."""


@dataclass(frozen=True, slots=True)
class Opened:
    """An iteration's replies opened: as one decrypted sum with the neighbours in it,
    or (``summed`` None) each on its own: the decrypted replies and the weighted terms."""

    summed: tuple[list[int], list[str]] | None
    decrypted: dict[str, list[int]]
    terms: dict[str, list[int]]


class ReplyOpener:
    """One agent's decryption of its replies; see the module docstring."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        value_bound: int,
        edge: EdgeProtocol,
        ledger: CouplingLedger,
        stats: AgentStats,
        notify: Notify,
    ) -> None:
        """``value_bound``: the quantizer's; with each neighbour's public weight range it
        bounds what an honest neighbour's decrypted term can reach."""
        self._agent = config.agent_id
        self._dim = config.dim
        self._scale = coupling_scale(config)
        self._edge = edge
        self._ledger = ledger
        self._stats = stats
        self._term_bounds = {
            n: term_bound(config.weight_range_for(n)[1], value_bound) for n in config.neighbours
        }
        self._notify = notify

    async def open(
        self,
        k: int,
        replies: Mapping[str, Payload],
        weights: Mapping[str, list[int]],
        *,
        aggregate: bool,
    ) -> Opened:
        """Iteration k's replies opened (as a sum if ``aggregate`` and the sum decodes,
        else each on its own), then the sealed terms undone meanwhile (:meth:`unseal`)."""
        summed = await self.sum(k, replies, weights) if aggregate else None
        decrypted: dict[str, list[int]] = {}
        terms: dict[str, list[int]] = {}
        if summed is None:
            decrypted, terms = await self.each(k, replies, weights)
        await self.unseal()
        return Opened(summed, decrypted, terms)

    async def apply(
        self,
        k: int,
        opened: Opened,
        replies: Mapping[str, Payload],
        weights: Mapping[str, list[int]],
        *,
        gamma: float,
    ) -> tuple[FloatArray, list[str]]:
        """Apply what :meth:`open` gave in the ledger (under the agent's lock): the
        coupling of iteration k, scaled, and the neighbours whose terms are in it."""
        if opened.summed is not None:
            return await self.apply_sum(k, opened.summed, replies, weights, gamma=gamma)
        used = self._ledger.usable(k, opened.terms)
        coupling = edge_coupling(opened.terms, used, scale=self._scale, dim=self._dim)
        self._ledger.apply(k, edge_terms(opened.terms, used, scale=self._scale, gamma=gamma))
        return coupling, used

    async def each(
        self, k: int, replies: Mapping[str, Payload], weights: Mapping[str, list[int]]
    ) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
        """Decrypt every reply on its own: the decrypted replies and the weighted terms.
        A reply that does not decrypt to a term an honest neighbour can send is dropped:
        its edge is skipped (ledger and notice)."""
        decrypted, opened = {}, {}
        for n in sorted(replies):
            try:
                term = await self._stats.timed(self._edge.open(replies[n]))
                check_term(term, self._term_bounds[n])  # beyond what an honest one computes
            except ProtocolError as exc:  # in range, but not a reply we can read or use: skip it
                self._stats.dropped += 1
                log.warning(
                    "agent %s dropped reply from %s at iteration %d: %s", self._agent, n, k, exc
                )
                self._ledger.skip(k, n)
                await self._notify(k, n)
                continue
            decrypted[n] = term
            opened[n] = weighted(weights[n], term)
        return decrypted, opened

    async def sum(
        self, k: int, replies: Mapping[str, Payload], weights: Mapping[str, list[int]]
    ) -> tuple[list[int], list[str]] | None:
        """The weighted replies of the usable neighbours decrypted as one sum, with those
        neighbours; None if the sum does not decode or lies beyond what honest neighbours
        can reach (the sum of their bounds, each times this agent's weight half): then
        each is to be opened on its own (:meth:`each`), to find the bad one."""
        included = self._ledger.usable(k, replies)
        if not included:
            return [0] * self._dim, []
        chosen = {n: replies[n] for n in included}
        try:
            total = await self._stats.timed(
                self._edge.open_sum(chosen, {n: weights[n][0] for n in included})
            )
            check_term(total, sum(weights[n][0] * self._term_bounds[n] for n in included))
        except ProtocolError as exc:
            log.info(
                "agent %s: the sum of iteration %d's replies does not decode (%s); opening each",
                self._agent,
                k,
                exc,
            )
            return None
        return total, included

    async def apply_sum(
        self,
        k: int,
        summed: tuple[list[int], list[str]],
        replies: Mapping[str, Payload],
        weights: Mapping[str, list[int]],
        *,
        gamma: float,
    ) -> tuple[FloatArray, list[str]]:
        """Apply a decrypted sum (from :meth:`sum`) as sealed terms: the coupling integers
        scaled, and the neighbours used. A neighbour whose skip notice came in while the
        sum was decrypted is taken out of it again (its reply opened alone)."""
        total, included = summed
        used = self._ledger.usable(k, included)
        for n in included:
            if n not in used:
                term = weighted(weights[n], await self._edge.open(replies[n]))
                total = [t - v for t, v in zip(total, term, strict=True)]
        self._ledger.apply(
            k,
            {n: Sealed(reply=replies[n], weights=tuple(weights[n]), gamma=gamma) for n in used},
        )
        return scaled_sum(total, scale=self._scale), used

    async def unseal(self) -> None:
        """Decrypt, each on its own, the sealed terms that skip notices undid, and hand
        them back to the ledger (as corrections)."""
        while due := self._ledger.sealed_due():
            for n, k, sealed in due:
                try:
                    values = await self._stats.timed(self._edge.open(sealed.reply))
                except ProtocolError as exc:  # it decoded inside its sum: not expected
                    log.error(
                        "agent %s cannot undo %s's term of iteration %d: %s",
                        self._agent,
                        n,
                        k,
                        exc,
                    )
                    continue
                term = edge_term(
                    weighted(sealed.weights, values), scale=self._scale, gamma=sealed.gamma
                )
                self._ledger.unsealed(n, k, term)
