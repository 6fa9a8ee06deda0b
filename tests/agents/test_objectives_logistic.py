"""Logistic's optional unregularized intercept, and its held-out metrics with labels -1/+1."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import ConfigError, FloatArray, Logistic, objective_from_arrays

from .derivatives import central_difference, hessian


def binary(
    seed: int, samples: int = 30, dim: int = 3, shift: float = 0.0
) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(samples, dim)) + shift
    return features, np.where(rng.random(samples) < 0.5, -1.0, 1.0)


seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=30, deadline=None)
@given(seed=seeds, l2=st.sampled_from([0.0, 1e-2, 0.5]), scale=st.floats(0.0, 3.0))
def test_intercept_gradient_matches_finite_differences(seed: int, l2: float, scale: float) -> None:
    model = Logistic(*binary(seed), l2=l2, intercept=True)
    assert model.dim == 4
    x = np.random.default_rng(seed + 1).normal(size=4) * scale
    assert np.allclose(model.gradient(x), central_difference(model.value, x), atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(seed=seeds, scale=st.floats(0.0, 5.0))
def test_intercept_smoothness_bounds_the_hessian(seed: int, scale: float) -> None:
    model = Logistic(*binary(seed, shift=2.0), l2=0.1, intercept=True)
    x = np.random.default_rng(seed + 1).normal(size=4) * scale
    assert np.linalg.eigvalsh(hessian(model, x))[-1] <= model.smoothness() * (1 + 1e-6)


def test_an_intercept_is_a_column_of_ones_that_l2_does_not_shrink() -> None:
    features, labels = binary(2)
    ones = np.hstack([features, np.ones((30, 1))])
    x = np.array([0.3, -1.0, 0.5, 2.0])  # (w, b)
    for l2 in (0.0, 0.4):
        with_bias = Logistic(features, labels, l2, intercept=True)
        column = Logistic(ones, labels, l2)
        # the same data term; the penalty differs by exactly (l2/2) b^2
        assert with_bias.value(x) == pytest.approx(column.value(x) - 0.5 * l2 * 4.0, rel=1e-12)
        expected = column.gradient(x)
        expected[-1] -= l2 * 2.0
        assert np.allclose(with_bias.gradient(x), expected, rtol=1e-12, atol=1e-15)
        assert with_bias.smoothness() == pytest.approx(column.smoothness())
        rows = np.random.default_rng(3).normal(size=(10, 3))
        rows_ones = np.hstack([rows, np.ones((10, 1))])
        assert np.array_equal(with_bias.predict(x, rows), column.predict(x, rows_ones))
        assert with_bias.loss(x, rows, labels[:10]) == column.loss(x, rows_ones, labels[:10])


def test_without_intercept_nothing_changes() -> None:
    features, labels = binary(4)
    plain = Logistic(features, labels, 0.1)
    assert plain.intercept is False and plain.dim == 3
    assert Logistic(features, labels, 0.1, intercept=False).value(np.ones(3)) == plain.value(
        np.ones(3)
    )


def test_the_bias_moves_the_decision_and_training_finds_it() -> None:
    # every row has score a.w near 0, the labels are all +1 : only a bias can fit them
    rng = np.random.default_rng(5)
    features = rng.normal(scale=0.01, size=(40, 2))
    labels = np.ones(40)
    model = Logistic(features, labels, 1.0, intercept=True)
    x = np.zeros(3)
    for _ in range(300):
        x = x - 1.0 / model.smoothness() * model.gradient(x)
    assert x[-1] > 1.0  # l2 = 1 would have kept a regularized bias near 0.5
    assert model.accuracy(x, features, labels) == 1.0
    assert model.predict(np.array([0.0, 0.0, -1.0]), np.zeros((1, 2))).tolist() == [-1.0]


def test_intercept_must_be_a_bool_and_is_keyword_only() -> None:
    features, labels = binary(6)
    with pytest.raises(ConfigError, match="intercept must be True or False"):
        Logistic(features, labels, 0.1, intercept=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Logistic(features, labels, 0.1, True)  # type: ignore[call-arg]


@pytest.mark.parametrize("intercept", [False, True])
def test_the_intercept_survives_saving(intercept: bool) -> None:
    model = Logistic(*binary(7), 0.2, intercept=intercept)
    rebuilt = objective_from_arrays("logistic", model.to_arrays())
    assert isinstance(rebuilt, Logistic)
    assert rebuilt.intercept is intercept and rebuilt.dim == model.dim
    x = np.linspace(-1, 1, model.dim)
    assert np.array_equal(rebuilt.gradient(x), model.gradient(x))
    arrays = model.to_arrays()
    arrays["intercept"] = np.array(2)
    with pytest.raises(ConfigError, match="'intercept' must be 0 or 1"):
        objective_from_arrays("logistic", arrays)


def test_held_out_metrics_take_plus_minus_one_labels() -> None:
    features, labels = binary(8)
    model = Logistic(features, labels, 0.1, intercept=True)
    x = np.array([1.0, -0.5, 0.2, 0.1])
    predicted = model.predict(x, features)
    assert set(predicted.tolist()) <= {-1.0, 1.0}
    assert model.accuracy(x, features, predicted) == 1.0
    assert model.accuracy(x, features, -predicted) == 0.0
    penalty = 0.5 * 0.1 * float(x[:-1] @ x[:-1])
    assert model.loss(x, features, labels) + penalty == pytest.approx(model.value(x))
    with pytest.raises(ConfigError, match="labels must be -1 or \\+1"):
        model.accuracy(x, features, (labels > 0).astype(float))
    with pytest.raises(ConfigError, match="features must have 3 columns"):
        model.predict(x, np.ones((2, 4)))
