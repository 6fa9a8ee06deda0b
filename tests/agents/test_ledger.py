"""CouplingLedger on its own: no event loop, no transport, just events in and answers out."""

from __future__ import annotations

import numpy as np
import pytest

from agents import ProtocolError
from agents.runtime._ledger import (
    CHECKPOINT_APPLIED,
    KEEP_APPLIED,
    NOTICE_REPEATS,
    CouplingLedger,
    Sealed,
)
from transport import pack_ints

DIM = 2
ITERATIONS = 100


def ledger() -> CouplingLedger:
    return CouplingLedger(owner="a0", dim=DIM, iterations=ITERATIONS)


def term(value: float) -> np.ndarray:
    return np.full(DIM, value)


def test_a_notice_for_an_applied_term_undoes_it_in_the_next_update() -> None:
    book = ledger()
    book.apply(5, {"a1": term(0.5), "a2": term(0.25)})
    assert book.retract("a1", 5, current=6)
    np.testing.assert_array_equal(book.take_correction(), term(0.5))
    assert book.take_compensated() == [("a1", 5)]
    # taken once: the next update subtracts nothing more
    np.testing.assert_array_equal(book.take_correction(), np.zeros(DIM))
    assert book.take_compensated() == []
    # a second notice for the same term finds nothing left to undo
    assert book.retract("a1", 5, current=6)
    np.testing.assert_array_equal(book.take_correction(), np.zeros(DIM))
    assert book.retracted("a1", 5)


def test_a_notice_before_the_term_is_applied_drops_it() -> None:
    book = ledger()
    assert book.retract("a1", 3, current=3)
    assert book.retracted("a1", 3)
    assert not book.retracted("a2", 3)
    assert book.usable(3, {"a1": 0, "a2": 0}) == ["a2"]
    np.testing.assert_array_equal(book.take_correction(), np.zeros(DIM))


def test_notices_from_is_live() -> None:
    book = ledger()
    notices = book.notices_from(4)
    assert notices == set()
    book.retract("a2", 4, current=4)
    assert notices == {"a2"}


def test_our_own_skips_are_not_usable_either() -> None:
    book = ledger()
    book.skipping(7, ["a3"])
    book.skip(7, "a1")
    assert book.usable(7, {"a1": 0, "a2": 0, "a3": 0}) == ["a2"]


def test_skipping_replaces_and_skip_adds() -> None:
    book = ledger()
    book.skip(7, "a1")
    book.skipping(7, ["a3"])
    book.skip(7, "a2")
    assert book.usable(7, {"a1": 0, "a2": 0, "a3": 0}) == ["a1"]


@pytest.mark.parametrize(
    ("k", "current"),
    [(2, 3 + KEEP_APPLIED), (-1, KEEP_APPLIED), (ITERATIONS, 10), (ITERATIONS + 5, 10)],
)
def test_a_notice_out_of_reach_is_refused(k: int, current: int) -> None:
    book = ledger()
    assert book.retract("a1", current - KEEP_APPLIED, current=current)  # the oldest kept
    with pytest.raises(ProtocolError, match="skip notice"):
        book.retract("a1", k, current=current)


def test_a_notice_from_ahead_is_kept() -> None:
    book = ledger()
    assert book.retract("a1", 50, current=10)
    assert book.retracted("a1", 50)


def test_a_notice_for_a_jumped_iteration_changes_nothing() -> None:
    book = ledger()
    book.jumped(10, 20)
    assert not book.retract("a1", 15, current=20)
    assert not book.retracted("a1", 15)
    assert book.retract("a1", 20, current=20)


def test_notices_are_repeated_with_the_next_iterations() -> None:
    book = ledger()
    book.skipping(4, ["a2", "a1"])
    assert book.notices_due(4) == []
    assert book.notices_due(5) == [(4, "a1"), (4, "a2")]
    assert book.notices_due(4 + NOTICE_REPEATS) == [(4, "a1"), (4, "a2")]
    assert book.notices_due(5 + NOTICE_REPEATS) == []


def test_a_restarted_neighbour_gets_every_kept_notice() -> None:
    book = ledger()
    book.skipping(2, ["a1"])
    book.skipping(3, ["a2"])
    book.skip(9, "a1")
    assert list(book.notices_to("a1")) == [2, 9]
    assert list(book.notices_to("a3")) == []


def test_goodbye_carries_the_last_notices_and_reads_back() -> None:
    book = ledger()
    last = 20
    book.skip(last - NOTICE_REPEATS - 1, "a1")  # too old to repeat
    book.skip(last - 1, "a1")
    book.skip(last, "a1")
    book.skip(last, "a2")
    payload = book.goodbye("a1", last)
    assert ledger().read_goodbye(payload) == [last - 1, last]
    assert ledger().read_goodbye(book.goodbye("a3", last)) == []


@pytest.mark.parametrize(
    "payload",
    [
        {"skipped": b"\x00\x00\x01"},  # not a whole number of iterations
        {"skipped": pack_ints([1, 2, 3, 4], 4)},  # more than the goodbye repeats
        {"skipped": pack_ints([ITERATIONS], 4)},  # beyond the run
    ],
)
def test_a_malformed_goodbye_is_refused(payload: dict[str, bytes]) -> None:
    with pytest.raises(ProtocolError, match="goodbye"):
        ledger().read_goodbye(payload)


def test_the_last_iteration_takes_its_correction_twice() -> None:
    """The final update takes a correction, then the finish takes the last notices'."""
    book = ledger()
    book.apply(8, {"a1": term(1.0)})
    book.retract("a1", 8, current=9)
    np.testing.assert_array_equal(book.take_correction(), term(1.0))
    book.apply(9, {"a2": term(2.0)})
    book.retract("a2", 9, current=9)
    np.testing.assert_array_equal(book.take_correction(), term(2.0))
    assert book.take_compensated() == [("a1", 8), ("a2", 9)]


def test_prune_keeps_a_window_for_late_notices() -> None:
    book = ledger()
    book.apply(1, {"a1": term(1.0)})
    book.apply(1 + KEEP_APPLIED, {"a1": term(2.0)})
    book.prune(1 + KEEP_APPLIED)
    assert book.applied_since(0).keys() == {1, 1 + KEEP_APPLIED}
    book.prune(2 + KEEP_APPLIED)
    assert book.applied_since(0).keys() == {1 + KEEP_APPLIED}


def test_checkpoint_copies_and_restores() -> None:
    book = ledger()
    book.apply(10, {"a1": term(1.0)})
    book.apply(10 - CHECKPOINT_APPLIED, {"a1": term(3.0)})
    book.retract("a1", 10 - CHECKPOINT_APPLIED, current=10)
    correction, applied = book.correction(), book.applied_since(10 - CHECKPOINT_APPLIED + 1)
    assert applied.keys() == {10}
    correction += 1.0  # copies: changing them changes nothing in the ledger
    applied[10]["a2"] = term(9.0)
    np.testing.assert_array_equal(book.correction(), term(3.0))

    again = ledger()
    again.restore(correction=book.correction(), applied=book.applied_since(0))
    again.retract("a1", 10, current=10)
    np.testing.assert_array_equal(again.take_correction(), term(4.0))


# --- sealed terms (aggregating before decrypting) -----------------------------------------


def sealed(tag: bytes) -> Sealed:
    return Sealed(reply={"c": tag}, weights=(3, 3), gamma=0.5)


def test_a_notice_for_a_sealed_term_makes_it_due_and_its_clear_term_is_undone() -> None:
    book = ledger()
    book.apply(5, {"a1": sealed(b"one"), "a2": sealed(b"two")})
    assert book.retract("a1", 5, current=6)
    # nothing can be subtracted before the agent decrypted the term
    np.testing.assert_array_equal(book.take_correction(), np.zeros(DIM))
    assert book.take_compensated() == []
    assert book.sealed_due() == [("a1", 5, sealed(b"one"))]
    assert book.sealed_due() == []  # handed out once
    book.unsealed("a1", 5, term(0.75))
    np.testing.assert_array_equal(book.take_correction(), term(0.75))
    assert book.take_compensated() == [("a1", 5)]
    # a second notice finds nothing left to undo; a2's sealed term stays applied
    assert book.retract("a1", 5, current=6)
    assert book.sealed_due() == []
    assert book.retract("a2", 5, current=6)
    assert book.sealed_due() == [("a2", 5, sealed(b"two"))]


def test_a_notice_before_the_sum_drops_the_term_sealed_or_not() -> None:
    book = ledger()
    assert book.retract("a1", 7, current=7)
    assert book.usable(7, ["a1", "a2"]) == ["a2"]
    book.apply(7, {"a2": sealed(b"two")})
    assert book.sealed_due() == []


def test_checkpointed_terms_leave_out_sealed_ones() -> None:
    book = ledger()
    book.apply(3, {"a1": term(0.5), "a2": sealed(b"two")})
    kept = book.applied_since(0)
    assert list(kept) == [3] and list(kept[3]) == ["a1"]
