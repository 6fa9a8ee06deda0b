"""Seeded partitions: every row used once, none empty, skew where asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scenarios import BadInput
from scenarios.data import (
    Partition,
    by_column,
    dirichlet,
    iid,
    label_histograms,
    label_skew,
    load_builtin,
    load_column,
    load_table,
    quantity_skew,
)

DIGITS = load_builtin("digits").labels


def _assert_is_a_partition(partition: Partition, n_rows: int, agents: int) -> None:
    assert len(partition) == agents
    assert all(p.size > 0 for p in partition)
    np.testing.assert_array_equal(np.sort(np.concatenate(list(partition))), np.arange(n_rows))
    assert sum(partition.sizes) == n_rows


def _same(a: Partition, b: Partition) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_iid_is_near_equal_and_matches_the_csv_problem_split() -> None:
    partition = iid(103, 8, 7)
    _assert_is_a_partition(partition, 103, 8)
    assert sorted(partition.sizes) == [12] * 1 + [13] * 7
    order = np.random.default_rng(7).permutation(103)
    expected = np.array_split(order, 8)
    assert all(np.array_equal(p, e) for p, e in zip(partition, expected, strict=True))


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: iid(200, 6, seed),
        lambda seed: dirichlet(DIGITS, 6, 0.3, seed),
        lambda seed: quantity_skew(200, 6, 0.5, seed),
    ],
)
def test_same_seed_same_partition_other_seed_another(make: object) -> None:
    assert callable(make)
    assert _same(make(1), make(1))
    assert not _same(make(1), make(2))


def test_dirichlet_small_alpha_skews_labels_and_large_alpha_approaches_iid() -> None:
    skewed = [label_skew(DIGITS, dirichlet(DIGITS, 8, 0.1, seed)) for seed in range(3)]
    mixed = [label_skew(DIGITS, dirichlet(DIGITS, 8, 1000.0, seed)) for seed in range(3)]
    assert min(skewed) > 0.5
    assert max(mixed) < 0.1
    # The measure itself: iid is close to the global mix, a sort by label is far from it.
    assert label_skew(DIGITS, iid(DIGITS.size, 8, 0)) < 0.1
    by_label = by_column(DIGITS)
    assert label_skew(DIGITS, by_label) > 0.85
    hist = label_histograms(DIGITS, by_label)
    np.testing.assert_array_equal(hist, np.eye(10))


@pytest.mark.parametrize("seed", range(5))
def test_dirichlet_gives_every_agent_a_row_even_when_the_draw_does_not(seed: int) -> None:
    labels = np.repeat(np.arange(3), 20)
    partition = dirichlet(labels, 40, 0.01, seed)
    _assert_is_a_partition(partition, 60, 40)


def test_dirichlet_with_as_many_rows_as_agents() -> None:
    _assert_is_a_partition(dirichlet(np.array([0, 0, 1, 1, 2]), 5, 0.1, 3), 5, 5)


def test_quantity_skew_sizes_vary_with_alpha() -> None:
    skewed = quantity_skew(1000, 10, 0.1, 0)
    even = quantity_skew(1000, 10, 1000.0, 0)
    _assert_is_a_partition(skewed, 1000, 10)
    _assert_is_a_partition(even, 1000, 10)
    assert max(skewed.sizes) - min(skewed.sizes) > 200
    assert max(even.sizes) - min(even.sizes) < 30
    tiny = quantity_skew(10, 10, 0.1, 0)
    assert tiny.sizes == (1,) * 10


def test_by_column_site_gives_one_agent_per_site_in_sorted_order(tmp_path: Path) -> None:
    path = tmp_path / "hospitals.csv"
    path.write_text(
        "site,age,y\nnorth,50,1\nsouth,60,0\neast,70,1\nnorth,40,0\neast,30,1\n",
        encoding="utf-8",
    )
    sites = load_column(path, "site")
    partition = by_column(sites)
    assert partition.names == ("east", "north", "south")
    assert [p.tolist() for p in partition] == [[2, 4], [0, 3], [1]]
    shards = partition.shards(load_table(path, label="y", features=["age"]))
    assert [s.features[:, 0].tolist() for s in shards] == [[70, 30], [50, 40], [60]]
    assert _same(by_column(sites, agents=3), partition)
    with pytest.raises(BadInput, match=r"3 distinct values .*'east', 'north', 'south'.* agents=4"):
        by_column(sites, agents=4)


def test_by_column_on_a_numeric_column() -> None:
    partition = by_column(np.array([3.0, 1.0, 3.0, 2.0]))
    assert partition.names == ("1.0", "2.0", "3.0")
    assert [p.tolist() for p in partition] == [[1], [3], [0, 2]]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: iid(10, 0, 0), "agents must be a positive integer"),
        (lambda: dirichlet(np.zeros(10), 2, 0.0, 0), "alpha must be"),
        (lambda: quantity_skew(10, 2, float("nan"), 0), "alpha must be"),
        (lambda: by_column(np.array([1.0, np.nan])), "row 2"),
        (lambda: Partition(parts=(np.array([0]), np.array([], dtype=int)), n_rows=1), "no rows"),
        (lambda: Partition(parts=(np.array([0, 1]), np.array([1])), n_rows=2), "exactly once"),
    ],
)
def test_impossible_partitions_are_refused(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(BadInput, match=message):
        call()
