"""Local objectives: gradients, minibatches, smoothness constants, input validation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import ConfigError, FloatArray, LeastSquares, Logistic

from .derivatives import central_difference, hessian


def least_squares(seed: int, samples: int = 30, dim: int = 4) -> LeastSquares:
    rng = np.random.default_rng(seed)
    return LeastSquares(rng.normal(size=(samples, dim)), rng.normal(size=samples))


def logistic(seed: int, samples: int = 30, dim: int = 4, l2: float = 1e-2) -> Logistic:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(samples, dim))
    labels = np.where(rng.random(samples) < 0.5, -1.0, 1.0)
    return Logistic(features, labels, l2=l2)


seeds = st.integers(min_value=0, max_value=2**32 - 1)
scales = st.floats(min_value=0.01, max_value=3.0)
l2s = st.sampled_from([0.0, 1e-2, 0.5])


@settings(max_examples=40, deadline=None)
@given(seed=seeds, scale=scales)
def test_least_squares_gradient_matches_finite_differences(seed: int, scale: float) -> None:
    objective = least_squares(seed)
    x = np.random.default_rng(seed + 1).normal(size=objective.dim) * scale
    numeric = central_difference(objective.value, x, h=1e-5)
    assert np.allclose(objective.gradient(x), numeric, rtol=1e-6, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, scale=scales, l2=l2s)
def test_logistic_gradient_matches_finite_differences(seed: int, scale: float, l2: float) -> None:
    objective = logistic(seed, l2=l2)
    x = np.random.default_rng(seed + 1).normal(size=objective.dim) * scale
    numeric = central_difference(objective.value, x, h=1e-5)
    assert np.allclose(objective.gradient(x), numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("make", [least_squares, logistic])
def test_minibatch_on_all_indices_is_the_full_gradient(
    make: Callable[..., LeastSquares | Logistic],
) -> None:
    objective = make(3)
    x = np.random.default_rng(4).normal(size=objective.dim)
    full = objective.gradient(x)
    everything = np.arange(objective.samples)
    assert np.allclose(objective.gradient(x, everything), full, rtol=0, atol=1e-13)
    shuffled = np.random.default_rng(5).permutation(objective.samples)
    assert np.allclose(objective.gradient(x, shuffled), full, rtol=0, atol=1e-12)


@pytest.mark.parametrize("make", [least_squares, logistic])
def test_minibatch_gradients_average_to_the_full_gradient(
    make: Callable[..., LeastSquares | Logistic],
) -> None:
    # disjoint equal batches covering every sample: their mean is the full gradient
    objective = make(6, samples=30)
    x = np.random.default_rng(7).normal(size=objective.dim)
    order = np.random.default_rng(8).permutation(30)
    parts = [objective.gradient(x, order[k : k + 6]) for k in range(0, 30, 6)]
    assert np.allclose(np.mean(parts, axis=0), objective.gradient(x), rtol=0, atol=1e-12)
    assert not np.allclose(parts[0], objective.gradient(x))  # a batch is not the full thing


@settings(max_examples=20, deadline=None)
@given(seed=seeds)
def test_least_squares_smoothness_is_the_hessians_largest_eigenvalue(seed: int) -> None:
    objective = least_squares(seed)
    x = np.random.default_rng(seed + 2).normal(size=objective.dim)
    largest = np.linalg.eigvalsh(hessian(objective, x))[-1]
    assert objective.smoothness() == pytest.approx(largest, rel=1e-6)


@settings(max_examples=20, deadline=None)
@given(seed=seeds, scale=st.floats(min_value=0.0, max_value=5.0), l2=l2s)
def test_logistic_smoothness_bounds_the_hessian(seed: int, scale: float, l2: float) -> None:
    objective = logistic(seed, l2=l2)
    x = np.random.default_rng(seed + 2).normal(size=objective.dim) * scale
    largest = np.linalg.eigvalsh(hessian(objective, x))[-1]
    assert largest <= objective.smoothness() * (1 + 1e-6)
    # tight at the origin, where every sigmoid' is 1/4
    at_zero = np.linalg.eigvalsh(hessian(objective, np.zeros(objective.dim)))[-1]
    assert at_zero == pytest.approx(objective.smoothness(), rel=1e-6)


def test_least_squares_normal_equations_give_the_pooled_minimizer() -> None:
    parts = [least_squares(s, samples=20, dim=3) for s in range(4)]
    ata = sum(p.normal_equations()[0] for p in parts)
    atb = sum(p.normal_equations()[1] for p in parts)
    x_star = cast(FloatArray, np.linalg.solve(ata, atb))  # numpy's stubs: floating[Any]
    total = np.zeros(3)
    for p in parts:
        total += p.gradient(x_star)
    assert np.allclose(total, 0, atol=1e-12)


def test_values_are_the_documented_losses() -> None:
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    ls = LeastSquares(a, np.array([1.0, 1.0]))
    assert ls.value(np.zeros(2)) == pytest.approx(0.5)  # (1 + 1) / (2 * 2)
    lg = Logistic(a, np.array([1.0, -1.0]), l2=0.0)
    assert lg.value(np.zeros(2)) == pytest.approx(math.log(2))
    assert (ls.dim, ls.samples, lg.dim, lg.samples) == (2, 2, 2, 2)


GOOD_A = np.ones((4, 2))
GOOD_Y = np.array([1.0, -1.0, 1.0, -1.0])


@pytest.mark.parametrize(
    ("features", "targets"),
    [
        (np.ones(4), GOOD_Y),  # features not a matrix
        (np.ones((4, 2, 1)), GOOD_Y),
        (GOOD_A, np.ones((4, 1))),  # targets not a vector
        (GOOD_A, np.ones(3)),  # rows differ
        (np.ones((0, 2)), np.ones(0)),  # no samples
        (np.array([[1.0, math.nan]] * 4), GOOD_Y),
        (GOOD_A, np.array([1.0, math.inf, 1.0, -1.0])),
        (np.array([[1.0, -math.inf]] * 4), GOOD_Y),
    ],
    ids=["1d", "3d", "2d-targets", "rows", "empty", "nan", "inf-target", "inf-feature"],
)
@pytest.mark.parametrize("kind", [LeastSquares, Logistic])
def test_bad_data_is_refused(
    kind: type[LeastSquares] | type[Logistic], features: npt.NDArray[Any], targets: npt.NDArray[Any]
) -> None:
    with pytest.raises(ConfigError):
        kind(features, targets)


@pytest.mark.parametrize(
    "labels",
    [[0.0, 1.0, 0.0, 1.0], [1.0, -1.0, 2.0, 1.0], [0.5, -1.0, 1.0, 1.0]],
    ids=["zero-one", "two", "half"],
)
def test_logistic_refuses_labels_other_than_plus_minus_one(labels: list[float]) -> None:
    with pytest.raises(ConfigError, match="labels"):
        Logistic(GOOD_A, np.array(labels))


@pytest.mark.parametrize("l2", [-1e-3, math.nan, math.inf])
def test_logistic_refuses_bad_regularization(l2: float) -> None:
    with pytest.raises(ConfigError):
        Logistic(GOOD_A, GOOD_Y, l2=l2)


def test_least_squares_and_logistic_compute_exactly_the_recorded_formulas() -> None:
    # the golden trajectories depend on these bits: the formulas as they were first written
    ls = least_squares(9)
    lg = logistic(9, l2=0.03)
    x = np.random.default_rng(10).normal(size=4)
    batch = np.array([4, 0, 7, 7])
    r = ls.features @ x - ls.targets
    assert ls.value(x) == float(r @ r) / (2 * ls.samples)
    a, b = ls.features[batch], ls.targets[batch]
    assert np.array_equal(ls.gradient(x, batch), a.T @ (a @ x - b) / a.shape[0])
    margins = lg.labels * (lg.features @ x)
    assert lg.value(x) == float(np.mean(np.logaddexp(0.0, -margins)) + 0.5 * 0.03 * (x @ x))
    a, y = lg.features[batch], lg.labels[batch]
    weights = -y * np.exp(-np.logaddexp(0.0, y * (a @ x)))
    assert np.array_equal(lg.gradient(x, batch), a.T @ weights / a.shape[0] + 0.03 * x)
