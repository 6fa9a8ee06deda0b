"""RoundTable on its own: admitting, holding and refusing messages, leads and deadlines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents import Algorithm, Payload, ProtocolError
from agents.runtime._rounds import JUMP_PER_TIMEOUT, Admission, RoundTable
from transport import Envelope, Kind, pack_floats

NEIGHBOURS = ("a1", "a2", "a3")
ITERATIONS = 50
DIM = 2


def table(algorithm: Algorithm = Algorithm.CLEAR) -> RoundTable:
    return RoundTable(neighbours=NEIGHBOURS, algorithm=algorithm, iterations=ITERATIONS, dim=DIM)


def envelope(kind: Kind, k: int, sender: str = "a1", payload: Payload | None = None) -> Envelope:
    return Envelope(
        run="r",
        iteration=k,
        sender=sender,
        receiver="a0",
        kind=kind,
        payload={} if payload is None else payload,
    )


def accept(sender: str, payload: Payload) -> None:
    pass


def refuse(sender: str, payload: Payload) -> None:
    raise ProtocolError("bad request")


def test_a_request_for_this_iteration_or_the_next_is_to_be_served() -> None:
    rounds = table()
    rounds.begin(3)
    assert rounds.admit(envelope(Kind.REQUEST, 3), accept) is Admission.SERVE
    assert rounds.admit(envelope(Kind.REQUEST, 4), accept) is Admission.SERVE
    with pytest.raises(ProtocolError, match="duplicate"):
        rounds.admit(envelope(Kind.REQUEST, 3), accept)


def test_a_request_from_further_ahead_is_held_newest_first_and_released_on_begin() -> None:
    rounds = table()
    rounds.begin(3)
    assert rounds.admit(envelope(Kind.REQUEST, 6, "a2"), accept) is Admission.HELD
    assert rounds.admit(envelope(Kind.REQUEST, 8, "a2"), accept) is Admission.HELD
    assert rounds.admit(envelope(Kind.REQUEST, 7, "a2"), accept) is Admission.HELD  # older
    assert rounds.admit(envelope(Kind.REQUEST, 9, "a1"), accept) is Admission.HELD
    assert rounds.begin(6) == []
    released = rounds.begin(7)
    assert [(e.sender, e.iteration) for e in released] == [("a2", 8)]
    assert [(e.sender, e.iteration) for e in rounds.begin(8)] == [("a1", 9)]
    assert rounds.begin(9) == []


def test_stale_far_ahead_wrong_kind_and_invalid_requests_are_refused() -> None:
    rounds = table()
    rounds.begin(5)
    with pytest.raises(ProtocolError, match="stale"):
        rounds.admit(envelope(Kind.REQUEST, 3), accept)
    with pytest.raises(ProtocolError, match="stale"):  # no round 4 to serve it with
        rounds.admit(envelope(Kind.REQUEST, 4), accept)
    with pytest.raises(ProtocolError, match="too far ahead"):
        rounds.admit(envelope(Kind.REQUEST, ITERATIONS), accept)
    with pytest.raises(ProtocolError, match="no state messages"):
        rounds.admit(envelope(Kind.STATE, 5), accept)
    with pytest.raises(ProtocolError, match="bad request"):
        rounds.admit(envelope(Kind.REQUEST, 5), refuse)
    # a refused request is not a lead
    assert rounds.lead(5) == 5


def test_the_last_round_can_still_be_served_one_iteration_later() -> None:
    rounds = table()
    rounds.begin(4)
    rounds.open_round(4, [1, 2], {n: [3, 3] for n in NEIGHBOURS})
    rounds.begin(5)
    assert rounds.admit(envelope(Kind.REQUEST, 4), accept) is Admission.SERVE
    assert rounds.settled(4)
    assert not rounds.settled(5)
    rounds.begin(6)
    assert rounds.settled(4)
    rounds.begin(7)
    assert rounds.round(4) is None and rounds.settled(4)


def test_states_are_stored_and_checked() -> None:
    rounds = table(Algorithm.PLAIN)
    rounds.begin(0)
    x = np.array([1.5, -2.0])
    state = envelope(Kind.STATE, 0, "a2", {"x": pack_floats(x)})
    assert rounds.admit(state, refuse) is Admission.STORED  # the request check is not used
    np.testing.assert_array_equal(rounds.states(0)["a2"], x)
    with pytest.raises(ProtocolError, match="without 'x'"):
        rounds.admit(envelope(Kind.STATE, 0, "a1", {"y": b""}), accept)
    with pytest.raises(ProtocolError, match="no request messages"):
        rounds.admit(envelope(Kind.REQUEST, 0, "a3"), accept)
    rounds.begin(1)
    with pytest.raises(ProtocolError, match="stale"):  # a baseline keeps no rounds
        rounds.admit(envelope(Kind.STATE, 0, "a3", {"x": pack_floats(x)}), accept)


def test_replies_only_for_the_iteration_in_progress() -> None:
    rounds = table()
    rounds.begin(2)
    rounds.admit_reply(envelope(Kind.REPLY, 2, "a1", {"v": b"1"}), lambda payload: None)
    assert rounds.replies(2) == {"a1": {"v": b"1"}}
    with pytest.raises(ProtocolError, match="duplicate"):
        rounds.admit_reply(envelope(Kind.REPLY, 2, "a1"), lambda payload: None)
    with pytest.raises(ProtocolError, match="waiting for 2"):
        rounds.admit_reply(envelope(Kind.REPLY, 3, "a2"), lambda payload: None)
    baseline = table(Algorithm.DP)
    baseline.begin(2)
    with pytest.raises(ProtocolError, match="no replies"):
        baseline.admit_reply(envelope(Kind.REPLY, 2, "a1"), lambda payload: None)


def test_a_lead_two_ahead_corroborated_by_a_second_neighbour_is_where_to_jump() -> None:
    rounds = table()
    rounds.begin(3)
    rounds.began("a1", 4)
    assert rounds.lead(3) == 3
    assert not rounds.hopeless("a1", 3)
    rounds.began("a2", 250)  # one neighbour's word alone moves nothing
    assert rounds.lead(3) == 3
    assert not rounds.hopeless("a2", 3)
    rounds.began("a3", 7)  # a second neighbour vouches for 7, not for 250
    assert rounds.lead(3) == 7
    assert rounds.hopeless("a2", 3) and rounds.hopeless("a3", 3)
    assert not rounds.hopeless("a1", 3)
    rounds.began("a3", 2)  # never goes back
    assert rounds.lead(3) == 7


def test_one_neighbours_claim_counts_once_waited_out_and_only_so_far_per_wait() -> None:
    rounds = table()
    rounds.begin(3)
    rounds.began("a1", 250)
    rounds.began("a2", 3)
    assert rounds.lead(3) == 3
    rounds.waited_out(["a2"])  # waiting out another neighbour is no evidence about a1
    assert rounds.lead(3) == 3
    rounds.waited_out(["a1"])
    assert rounds.hopeless("a1", 3)
    assert rounds.lead(3) == 3 + JUMP_PER_TIMEOUT
    rounds.waited_out(["a1"])
    assert rounds.lead(3) == 3 + 2 * JUMP_PER_TIMEOUT
    rounds.jumped()  # the jump spends the evidence
    rounds.begin(3 + 2 * JUMP_PER_TIMEOUT)
    assert rounds.lead(rounds.k) == rounds.k
    rounds.waited_out(["a1"])  # it still claims 250: one more wait, so much further
    assert rounds.lead(rounds.k) == 3 + 3 * JUMP_PER_TIMEOUT
    rounds.began("a2", 24)  # and a claim within reach is taken whole
    rounds.waited_out(["a2"])
    assert rounds.credible("a2", rounds.k) == 24


def test_a_neighbour_heard_in_step_again_is_no_longer_waited_out() -> None:
    rounds = table()
    rounds.begin(3)
    rounds.began("a1", 40)
    rounds.waited_out(["a1"])
    assert rounds.lead(3) == 3 + JUMP_PER_TIMEOUT
    assert rounds.admit(envelope(Kind.REQUEST, 3, "a1"), accept) is Admission.SERVE
    assert rounds.lead(3) == 3  # it answered this very round: its earlier silence is over
    assert not rounds.hopeless("a1", 3)


def test_goodbyes() -> None:
    rounds = table()
    rounds.begin(10)
    rounds.began("a1", 30)
    rounds.leave("a1")
    assert rounds.gone("a1") and rounds.hopeless("a1", 10)
    assert rounds.live() == ["a2", "a3"]
    assert rounds.lead(10) == 10  # a neighbour that left leads nobody
    rounds.leave("a2")
    rounds.leave("a3")
    assert rounds.live() == []
    assert rounds.lead(10) == ITERATIONS - 1  # all finished: straight to the last


def test_unserved_neighbours_of_the_last_round() -> None:
    rounds = table()
    rounds.begin(9)
    rounds.open_round(9, [0, 0], {n: [1, 1] for n in NEIGHBOURS})
    rounds.round(9).served.add("a1")  # type: ignore[union-attr]
    assert rounds.unserved(9, excused=set()) == ["a2", "a3"]
    rounds.leave("a3")
    assert rounds.unserved(9, excused={"a2"}) == []


def test_deadline() -> None:
    rounds = table()
    bound = 1.0
    # never heard from: one bound from the start
    assert rounds.deadline(["a1"], started=100.0, bound=bound) == 101.0
    # heard a moment ago: twice the bound from then, capped at three from the start
    rounds.hear("a1", 99.5)
    assert rounds.deadline(["a1"], started=100.0, bound=bound) == 101.5
    rounds.hear("a2", 100.8)
    assert rounds.deadline(["a1", "a2"], started=100.0, bound=bound) == 102.8
    rounds.hear("a2", 150.0)
    assert rounds.deadline(["a2"], started=100.0, bound=bound) == 103.0
    assert rounds.deadline(["a3"], started=100.0, bound=bound) == 101.0
    assert not math.isinf(rounds.deadline(["a3"], started=0.0, bound=bound))


def test_a_far_claim_contradicted_by_the_next_message_in_step_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rounds = RoundTable(
        neighbours=NEIGHBOURS, algorithm=Algorithm.CLEAR, iterations=300, dim=DIM, owner="a0"
    )
    rounds.begin(35)
    assert rounds.admit(envelope(Kind.REQUEST, 250, "a1"), accept) is Admission.HELD
    assert rounds.admit(envelope(Kind.REQUEST, 40, "a2"), accept) is Admission.HELD
    rounds.waited_out(["a1"])
    assert rounds.lead(35) == 35 + JUMP_PER_TIMEOUT
    assert rounds.admit(envelope(Kind.REQUEST, 36, "a1"), accept) is Admission.SERVE
    assert "agent a0 dropped request from a1 at iteration 250" in caplog.text
    assert rounds.lead(35) == 35 and not rounds.hopeless("a1", 35)
    # a claim within reordering distance is not contradicted: a2's stays held
    rounds.begin(37)
    assert rounds.admit(envelope(Kind.REQUEST, 37, "a2"), accept) is Admission.SERVE
    assert [(e.sender, e.iteration) for e in rounds.begin(39)] == [("a2", 40)]
    assert rounds.begin(249) == []  # a1's claim is never released into round 250
