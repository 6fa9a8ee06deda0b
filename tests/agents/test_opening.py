"""ReplyOpener on its own: the clear edge protocol (the same integers as paillier's), a
ledger and counters, no transport and no other agent."""

from __future__ import annotations

import numpy as np
import pytest

from agents import AgentConfig, Algorithm, ClearEdge, Stepsize
from agents.runtime._ledger import CouplingLedger, Sealed
from agents.runtime._opening import ReplyOpener
from agents.runtime._report import AgentStats
from agents.runtime._update import coupling_scale, edge_term, weighted
from transport import pack_ints

DIM = 3
NEIGHBOURS = ("a1", "a2", "a3")
VALUE_BOUND = 2**30


def config() -> AgentConfig:
    return AgentConfig(
        run="opening",
        agent_id="a0",
        neighbours={n: 2 for n in NEIGHBOURS},
        algorithm=Algorithm.CLEAR,
        x0=(0.0,) * DIM,
        seed=(1, 0),
        iterations=20,
        stepsize=Stepsize(lambda0=0.1),
    )


def reply(values: list[int]) -> dict[str, bytes]:
    return {"v": pack_ints(values, 16, signed=True)}


class Setup:
    def __init__(self) -> None:
        self.config = config()
        self.ledger = CouplingLedger.for_agent(self.config)
        self.stats = AgentStats()
        self.notices: list[tuple[int, str]] = []
        self.opener = ReplyOpener(
            self.config,
            value_bound=VALUE_BOUND,
            edge=ClearEdge(dim=DIM),
            ledger=self.ledger,
            stats=self.stats,
            notify=self.notify,
        )
        self.high = {n: self.config.weight_range_for(n)[1] for n in NEIGHBOURS}

    async def notify(self, k: int, neighbour: str) -> None:
        self.notices.append((k, neighbour))

    def bound(self, n: str) -> int:
        return self.high[n] * 2 * VALUE_BOUND


@pytest.mark.asyncio
async def test_each_reply_is_weighted_and_one_beyond_honest_reach_is_skipped() -> None:
    s = Setup()
    replies = {
        "a1": reply([5, -7, 11]),
        "a2": reply([s.bound("a2") + 1, 0, 0]),  # no honest neighbour computes this
        "a3": reply([-s.bound("a3"), 2, 3]),  # at the bound: honest
    }
    weights = {"a1": [3] * DIM, "a2": [4] * DIM, "a3": [5] * DIM}
    decrypted, terms = await s.opener.each(7, replies, weights)
    assert sorted(decrypted) == sorted(terms) == ["a1", "a3"]
    assert decrypted["a1"] == [5, -7, 11]
    assert terms["a1"] == [15, -21, 33]
    assert terms["a3"] == [-5 * s.bound("a3"), 10, 15]
    assert s.notices == [(7, "a2")]  # a skip notice for the dropped edge
    assert s.stats.dropped == 1
    assert s.ledger.usable(7, NEIGHBOURS) == ["a1", "a3"]  # a2's edge is skipped


@pytest.mark.asyncio
async def test_the_sum_is_the_weighted_sum_of_the_usable_replies() -> None:
    s = Setup()
    s.ledger.retract("a3", 4, current=4)  # a3 dropped our term: its reply stays out
    replies = {"a1": reply([1, 2, 3]), "a2": reply([10, 20, 30]), "a3": reply([9, 9, 9])}
    weights = {"a1": [2] * DIM, "a2": [3] * DIM, "a3": [4] * DIM}
    summed = await s.opener.sum(4, replies, weights)
    assert summed == ([32, 64, 96], ["a1", "a2"])
    assert await s.opener.sum(4, {"a3": replies["a3"]}, weights) == ([0] * DIM, [])


@pytest.mark.asyncio
async def test_a_sum_beyond_the_honest_bound_asks_for_each_reply() -> None:
    s = Setup()
    replies = {"a1": reply([s.bound("a1"), 0, 0]), "a2": reply([s.bound("a2"), 0, 0])}
    weights = {"a1": [2] * DIM, "a2": [3] * DIM}
    assert await s.opener.sum(4, replies, weights) is not None  # at the bound
    replies["a2"] = reply([s.bound("a2") * 2, 0, 0])
    assert await s.opener.sum(4, replies, weights) is None
    opened = await s.opener.open(4, replies, weights, aggregate=True)
    assert opened.summed is None and sorted(opened.terms) == ["a1"]
    assert s.notices == [(4, "a2")]


@pytest.mark.asyncio
async def test_apply_takes_a_neighbour_retracted_during_the_decryption_out_of_the_sum() -> None:
    s = Setup()
    replies = {"a1": reply([1, 2, 3]), "a2": reply([10, 20, 30])}
    weights = {"a1": [2] * DIM, "a2": [3] * DIM}
    opened = await s.opener.open(4, replies, weights, aggregate=True)
    assert opened.summed == ([32, 64, 96], ["a1", "a2"])
    s.ledger.retract("a2", 4, current=4)  # came in while the sum was decrypted
    coupling, used = await s.opener.apply(4, opened, replies, weights, gamma=0.5)
    assert used == ["a1"]
    np.testing.assert_array_equal(coupling, np.array([2, 4, 6]) / coupling_scale(s.config))
    # a1's term is applied sealed: a later notice makes it due, and unseal undoes it
    s.ledger.retract("a1", 4, current=5)
    await s.opener.unseal()
    expected = edge_term(weighted([2] * DIM, [1, 2, 3]), scale=coupling_scale(s.config), gamma=0.5)
    np.testing.assert_array_equal(s.ledger.take_correction(), expected)
    assert s.ledger.take_compensated() == [("a1", 4)]


@pytest.mark.asyncio
async def test_apply_of_replies_opened_each_applies_their_terms_in_the_clear() -> None:
    s = Setup()
    replies = {"a1": reply([1, 2, 3]), "a2": reply([10, 20, 30])}
    weights = {"a1": [2] * DIM, "a2": [3] * DIM}
    opened = await s.opener.open(4, replies, weights, aggregate=False)
    assert opened.summed is None and opened.decrypted["a2"] == [10, 20, 30]
    coupling, used = await s.opener.apply(4, opened, replies, weights, gamma=1.0)
    assert used == ["a1", "a2"]
    np.testing.assert_array_equal(coupling, np.array([32, 64, 96]) / coupling_scale(s.config))
    s.ledger.retract("a2", 4, current=5)  # a clear term is undone at once
    np.testing.assert_array_equal(
        s.ledger.take_correction(), np.array([30, 60, 90]) / coupling_scale(s.config)
    )


@pytest.mark.asyncio
async def test_an_undone_sealed_term_that_does_not_decode_is_logged_and_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = Setup()
    bad = Sealed(reply={"v": b"\x00"}, weights=(2,) * DIM, gamma=1.0)  # not whole ints
    s.ledger.apply(4, {"a1": bad})
    s.ledger.retract("a1", 4, current=5)
    await s.opener.unseal()
    assert "cannot undo a1's term of iteration 4" in caplog.text
    np.testing.assert_array_equal(s.ledger.take_correction(), np.zeros(DIM))
