"""``hemesh bench``'s crypto rows on small keys: the work they time computes the right
coupling (each row checks it), and the rows say what was measured and what extrapolated."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from agents import SecretKey, decrypt_sum, keygen
from scenarios.cli._bench import (
    Settings,
    agent_iteration,
    agent_iterations,
    iteration_row,
    op_medians,
)

INSECURE_TEST_BITS = 512
"""Small keys, named as such: these tests check the bench's arithmetic, not its numbers."""


@functools.cache
def keys() -> list[SecretKey]:
    return [keygen(INSECURE_TEST_BITS, insecure=True) for _ in range(5)]


def settings() -> Settings:
    return Settings(key_bits=INSECURE_TEST_BITS, repeats=1, dims=(10, 120))


def test_agent_iteration_rows_put_both_decryptions_side_by_side() -> None:
    lines: list[str] = []
    memory, *rows = agent_iterations(settings(), keys(), lines.append)
    # 54 rows of 64 entries of one residue mod n^2 (128 bytes at 512 bits)
    assert memory["table_memory"]["neighbour_key_bytes"] == 54 * 64 * 128
    assert [row["dim"] for row in rows] == [10, 120]
    measured, extrapolated = rows
    assert not measured["phe_naive_extrapolated"] and extrapolated["phe_naive_extrapolated"]
    # extrapolated per value from the measured d = 10 row
    per_value = measured["phe_naive_s"] / 10
    assert extrapolated["phe_naive_s"] == pytest.approx(per_value * 120)
    for row in rows:
        assert row["per_edge_s"] > 0 and row["aggregate_s"] > 0
        assert row["ratio_aggregate"] == pytest.approx(row["phe_naive_s"] / row["aggregate_s"])
        # slots sized for a sum of 4 products of two halves are wider: more ciphertexts
        assert row["aggregate_ciphertexts"] >= row["per_edge_ciphertexts"]
    assert len(lines) == 3 and "extrapolated per value from d=10" in lines[-1]


def test_a_row_refuses_to_time_work_that_computes_the_wrong_coupling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scenarios.cli import _bench

    def wrong(key: SecretKey, replies: list[list[int]], weights: list[int]) -> list[int]:
        return decrypt_sum(key, replies, [w + 1 for w in weights])

    monkeypatch.setattr(_bench, "decrypt_sum", wrong)  # the row's own check must catch it
    with pytest.raises(AssertionError, match="opened coupling is wrong"):
        agent_iteration(settings(), keys(), 10, naive_per_value=1.0)


def test_op_medians_include_the_cost_of_folding_a_reply_into_a_sum() -> None:
    medians = op_medians(settings(), keys()[0])
    assert set(medians) == {"encrypt", "serve", "decrypt", "aggregate"}
    assert all(v >= 0 for v in medians.values()) and medians["decrypt"] > 0


def test_the_authentication_row_finds_its_iteration_row_past_the_tables_memory() -> None:
    # (b)'s first row is the tables' memory: the d = 10 row is looked up by its dimension
    rows: list[dict[str, Any]] = [
        {"table_memory": {}},
        {"dim": 100, "hemesh_s": 2.0},
        {"dim": 10, "hemesh_s": 1.0},
    ]
    assert iteration_row(rows, 10)["hemesh_s"] == 1.0
    assert iteration_row(rows, 1000)["dim"] == 10  # not measured: the smallest that was
