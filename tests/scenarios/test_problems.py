"""Agents' data and the central minimizer x*."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents import FloatArray, LeastSquares, Logistic
from scenarios import Problem, ScenarioError, least_squares, logistic, logistic_csv


def x_star(problem: Problem) -> FloatArray:
    """The problem's x*, which these problems all have."""
    assert problem.x_star is not None
    return problem.x_star


def total_gradient(problem: Problem) -> FloatArray:
    total = np.zeros(problem.dim)
    for f in problem.objectives:
        total = total + f.gradient(x_star(problem))
    return total


def test_least_squares_x_star_is_the_minimizer_of_the_sum() -> None:
    problem = least_squares(6, 4, samples=30, noise=0.1, heterogeneity=0.5, seed=3)
    assert len(problem.objectives) == 6
    assert all(isinstance(f, LeastSquares) and f.samples == 30 for f in problem.objectives)
    assert np.linalg.norm(total_gradient(problem)) < 1e-10
    local = [
        np.linalg.lstsq(f.features, f.targets, rcond=None)[0]
        for f in problem.objectives
        if isinstance(f, LeastSquares)  # all of them, as asserted above
    ]
    assert np.ptp(np.array(local), axis=0).max() > 0.1  # heterogeneous local minimizers
    assert problem.total(x_star(problem)) < problem.total(x_star(problem) + 0.01)


def test_logistic_x_star_is_the_minimizer_of_the_sum() -> None:
    problem = logistic(5, 3, samples=50, l2=0.05, heterogeneity=0.5, seed=2)
    assert all(isinstance(f, Logistic) for f in problem.objectives)
    assert np.linalg.norm(total_gradient(problem)) < 1e-8


def test_same_seed_same_data() -> None:
    a = least_squares(3, 2, samples=5, noise=0.1, heterogeneity=0.1, seed=9)
    b = least_squares(3, 2, samples=5, noise=0.1, heterogeneity=0.1, seed=9)
    c = least_squares(3, 2, samples=5, noise=0.1, heterogeneity=0.1, seed=10)
    assert np.array_equal(x_star(a), x_star(b))
    assert not np.array_equal(x_star(a), x_star(c))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    for problem in (
        least_squares(3, 2, samples=5, noise=0.1, heterogeneity=0.1, seed=1),
        logistic(3, 2, samples=8, l2=0.1, heterogeneity=0.1, seed=1),
    ):
        problem.save(tmp_path / "p.npz")
        loaded = Problem.load(tmp_path / "p.npz")
        assert np.array_equal(x_star(loaded), x_star(problem))
        x = np.ones(problem.dim)
        assert loaded.total(x) == pytest.approx(problem.total(x), rel=1e-15)


def test_logistic_from_csv_with_named_label(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = ["f1,label,f2"] + [
        f"{a:.4f},{int(a + b > 0)},{b:.4f}" for a, b in rng.normal(size=(40, 2))
    ]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(rows) + "\n")
    problem = logistic_csv(path, 4, label="label", l2=0.1, seed=0)
    assert problem.dim == 2
    assert sum(f.samples for f in problem.objectives) == 40
    assert all(set(np.unique(f.labels)) <= {-1.0, 1.0} for f in problem.objectives)  # type: ignore[attr-defined]
    assert np.linalg.norm(total_gradient(problem)) < 1e-8


@pytest.mark.parametrize(
    ("content", "label", "match"),
    [
        ("a,b\n1,x\n", None, "non-numeric"),
        ("a,b\n1,2\n3,1\n", None, "labels must be"),
        ("a,b\n", None, "at least one row"),
        ("a,b\n1,1\n0,0\n", "y", "no column 'y'"),
    ],
)
def test_bad_csv_is_refused(tmp_path: Path, content: str, label: str | None, match: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(content)
    with pytest.raises(ScenarioError, match=match):
        logistic_csv(path, 1, label=label, l2=0.1, seed=0)


def test_missing_csv_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        logistic_csv(tmp_path / "nope.csv", 2, label=None, l2=0.1, seed=0)
