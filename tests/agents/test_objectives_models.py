"""Ridge, Softmax and Mlp: values and gradients against finite differences, minibatches,
smoothness bounds, agreement with independent formulations, training, held-out metrics."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import Classifier, FloatArray, LeastSquares, Logistic, Mlp, Objective, Ridge, Softmax

from .derivatives import central_difference, hessian

Model = LeastSquares | Ridge | Logistic | Softmax | Mlp


def ridge(seed: int, samples: int = 25, dim: int = 4, l2: float = 0.1) -> Ridge:
    rng = np.random.default_rng(seed)
    return Ridge(rng.normal(size=(samples, dim)), rng.normal(size=samples), l2=l2)


def softmax(
    seed: int, samples: int = 30, dim: int = 3, classes: int = 4, l2: float = 1e-2
) -> Softmax:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(samples, dim))
    return Softmax(features, rng.integers(0, classes, size=samples), classes=classes, l2=l2)


def mlp(
    seed: int,
    samples: int = 20,
    dim: int = 3,
    hidden: tuple[int, ...] = (5, 4),
    classes: int = 3,
    **kw: Any,
) -> Mlp:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(samples, dim))
    labels = rng.integers(0, classes, size=samples)
    return Mlp(features, labels, hidden=hidden, classes=classes, **kw)


def random_point(objective: Objective, seed: int, scale: float = 1.0) -> FloatArray:
    point: FloatArray = np.random.default_rng(seed).normal(size=objective.dim) * scale
    return point


seeds = st.integers(min_value=0, max_value=2**32 - 1)
l2s = st.sampled_from([0.0, 1e-2, 0.5])


def close(a: npt.ArrayLike, b: npt.ArrayLike) -> bool:
    return bool(np.allclose(a, b, rtol=1e-5, atol=1e-7))


# --- gradients against finite differences ------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(seed=seeds, samples=st.integers(1, 30), dim=st.integers(1, 6), l2=l2s)
def test_ridge_gradient_matches_finite_differences(
    seed: int, samples: int, dim: int, l2: float
) -> None:
    objective = ridge(seed, samples, dim, l2)
    x = random_point(objective, seed + 1)
    assert close(objective.gradient(x), central_difference(objective.value, x))


@settings(max_examples=30, deadline=None)
@given(
    seed=seeds,
    samples=st.integers(1, 30),
    dim=st.integers(1, 5),
    classes=st.integers(2, 5),
    l2=l2s,
    scale=st.floats(0.0, 3.0),
)
def test_softmax_gradient_matches_finite_differences(
    *, seed: int, samples: int, dim: int, classes: int, l2: float, scale: float
) -> None:
    objective = softmax(seed, samples, dim, classes, l2)
    x = random_point(objective, seed + 1, scale)
    assert close(objective.gradient(x), central_difference(objective.value, x))


@settings(max_examples=25, deadline=None)
@given(
    seed=seeds,
    samples=st.integers(1, 20),
    dim=st.integers(1, 4),
    hidden=st.lists(st.integers(1, 5), max_size=3).map(tuple),
    classes=st.integers(2, 4),
    l2=l2s,
)
def test_tanh_mlp_gradient_matches_finite_differences(
    *, seed: int, samples: int, dim: int, hidden: tuple[int, ...], classes: int, l2: float
) -> None:
    objective = mlp(seed, samples, dim, hidden, classes, l2=l2)
    x = objective.init(seed + 1)
    x += np.random.default_rng(seed + 2).normal(scale=0.1, size=x.size)  # biases too
    assert close(objective.gradient(x), central_difference(objective.value, x))


@pytest.mark.parametrize("seed", range(5))
def test_relu_mlp_gradient_matches_finite_differences(seed: int) -> None:
    # fixed seeds: a random draw could put a unit within h of its kink
    objective = mlp(seed, hidden=(6, 3), activation="relu", l2=1e-3)
    x = objective.init(seed) + np.random.default_rng(seed).normal(scale=0.1, size=objective.dim)
    assert close(objective.gradient(x), central_difference(objective.value, x))


def test_a_wrong_gradient_would_be_caught() -> None:
    # the comparison above can fail: a gradient off by one coordinate's sign does
    objective = softmax(1)
    x = random_point(objective, 2)
    wrong = objective.gradient(x)
    wrong[0] = -wrong[0] + 1e-3
    assert not close(wrong, central_difference(objective.value, x))


# --- minibatches --------------------------------------------------------------------------

MODELS: dict[str, Callable[[], Model]] = {
    "least_squares": lambda: LeastSquares(*_regression(0)),
    "ridge": lambda: ridge(0),
    "logistic": lambda: Logistic(*_binary(0), l2=0.1),
    "logistic-intercept": lambda: Logistic(*_binary(0), l2=0.1, intercept=True),
    "softmax": lambda: softmax(0),
    "mlp-tanh": lambda: mlp(0),
    "mlp-relu": lambda: mlp(0, activation="relu"),
}


def _regression(seed: int) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(24, 3)), rng.normal(size=24)


def _binary(seed: int) -> tuple[FloatArray, FloatArray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(24, 3)), np.where(rng.random(24) < 0.5, -1.0, 1.0)


def _start(objective: Model) -> FloatArray:
    if isinstance(objective, Mlp):
        return objective.init(5)
    return random_point(objective, 5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_minibatch_gradient_is_the_mean_of_per_sample_gradients(name: str) -> None:
    objective = MODELS[name]()
    x = _start(objective)
    batch = np.random.default_rng(6).choice(objective.samples, size=7, replace=False)
    singles = [objective.gradient(x, np.array([s])) for s in batch]
    assert np.allclose(objective.gradient(x, batch), np.mean(singles, axis=0), atol=1e-12)
    everything = [objective.gradient(x, np.array([s])) for s in range(objective.samples)]
    assert np.allclose(np.mean(everything, axis=0), objective.gradient(x), atol=1e-12)
    assert not np.allclose(singles[0], singles[1])  # samples differ: the means mean something


@pytest.mark.parametrize("name", sorted(MODELS))
def test_value_on_a_batch_is_the_loss_of_that_batch(name: str) -> None:
    objective = MODELS[name]()
    x = _start(objective)
    assert objective.value(x, None) == objective.value(x)
    assert objective.value(x, np.arange(objective.samples)) == pytest.approx(objective.value(x))
    batch = np.array([3, 1, 4])
    reg = 0.5 * getattr(objective, "l2", 0.0) * float(x @ x)
    singles = [objective.value(x, np.array([s])) - reg for s in batch]
    assert objective.value(x, batch) - reg == pytest.approx(np.mean(singles), rel=1e-12)
    # and its gradient is the gradient of that batch value
    numeric = central_difference(lambda z: objective.value(z, batch), x)
    assert close(objective.gradient(x, batch), numeric)


# --- smoothness ---------------------------------------------------------------------------

CONVEX = ["least_squares", "ridge", "logistic", "logistic-intercept", "softmax"]


@settings(max_examples=20, deadline=None)
@given(seed=seeds, name=st.sampled_from(CONVEX), scale=st.floats(0.01, 10.0))
def test_smoothness_bounds_the_gradients_lipschitz_constant_on_random_pairs(
    seed: int, name: str, scale: float
) -> None:
    objective = MODELS[name]()
    rng = np.random.default_rng(seed)
    bound = objective.smoothness()
    for _ in range(10):
        x = rng.normal(size=objective.dim) * scale
        y = x + rng.normal(size=objective.dim) * rng.choice([1e-3, 0.1, 1.0])
        change = np.linalg.norm(objective.gradient(x) - objective.gradient(y))
        assert change <= bound * np.linalg.norm(x - y) * (1 + 1e-9)


def test_ridge_smoothness_is_the_hessians_largest_eigenvalue() -> None:
    objective = ridge(3, l2=0.3)
    largest = np.linalg.eigvalsh(hessian(objective, random_point(objective, 1)))[-1]
    assert objective.smoothness() == pytest.approx(largest, rel=1e-6)
    unregularized = LeastSquares(objective.features, objective.targets)
    assert objective.smoothness() == pytest.approx(unregularized.smoothness() + 0.3)


@settings(max_examples=20, deadline=None)
@given(seed=seeds, classes=st.integers(2, 5), scale=st.floats(0.0, 5.0), l2=l2s)
def test_softmax_smoothness_bounds_the_hessian(
    seed: int, classes: int, scale: float, l2: float
) -> None:
    objective = softmax(seed, classes=classes, l2=l2)
    x = random_point(objective, seed + 1, scale)
    assert np.linalg.eigvalsh(hessian(objective, x))[-1] <= objective.smoothness() * (1 + 1e-6)


def test_softmax_smoothness_is_reached_at_zero_with_two_classes() -> None:
    objective = softmax(4, classes=2, l2=0.2)
    at_zero = np.linalg.eigvalsh(hessian(objective, np.zeros(objective.dim)))[-1]
    assert at_zero == pytest.approx(objective.smoothness(), rel=1e-6)


def test_mlp_smoothness_is_the_hint_it_was_given() -> None:
    assert mlp(0).smoothness() == 10.0
    assert mlp(0, smoothness_hint=2.5).smoothness() == 2.5


# --- independent formulations -------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(seed=seeds, l2=l2s, scale=st.floats(0.0, 3.0))
def test_two_class_softmax_is_logistic_regression_reparametrized(
    seed: int, l2: float, scale: float
) -> None:
    # W = [-w/2, w/2] gives margin (w1 - w0).a = w.a and penalty (l2'/2)(|w|^2/2): with
    # l2' = 2 l2 the softmax objective is the logistic one, and d/dw = (g1 - g0)/2
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(30, 3))
    classes = rng.integers(0, 2, size=30)
    binary = Logistic(features, np.asarray(2.0 * classes - 1.0, dtype=np.float64), l2=l2)
    multi = Softmax(features, classes, classes=2, l2=2 * l2)
    w = rng.normal(size=3) * scale
    x = np.concatenate([-w / 2, w / 2])
    assert multi.value(x) == pytest.approx(binary.value(w), rel=1e-12, abs=1e-14)
    g = multi.gradient(x).reshape(2, 3)
    assert np.allclose((g[1] - g[0]) / 2, binary.gradient(w), rtol=1e-10, atol=1e-14)
    held_out = rng.normal(size=(40, 3))
    truth = rng.integers(0, 2, size=40)
    decided = np.abs(held_out @ w) > 1e-12  # on a tie softmax says class 0, logistic +1
    assert np.array_equal(
        (2 * multi.predict(x, held_out) - 1)[decided], binary.predict(w, held_out)[decided]
    )
    if np.all(decided):
        assert multi.accuracy(x, held_out, truth) == binary.accuracy(w, held_out, 2.0 * truth - 1)
    assert multi.loss(x, held_out, truth) == pytest.approx(
        binary.loss(w, held_out, 2.0 * truth - 1)
    )


def test_mlp_without_hidden_layers_is_softmax_with_biases() -> None:
    rng = np.random.default_rng(8)
    features = rng.normal(size=(25, 3))
    labels = rng.integers(0, 4, size=25)
    net = Mlp(features, labels, hidden=(), classes=4, l2=0.05)
    flat = Softmax(features, labels, classes=4, l2=0.05)
    assert net.dim == flat.dim + 4
    w = rng.normal(size=(4, 3))
    x = np.concatenate([w.ravel(), np.zeros(4)])  # layout: W row-major, then b
    assert net.value(x) == pytest.approx(flat.value(w.ravel()), rel=1e-12)
    assert np.allclose(net.gradient(x)[:12], flat.gradient(w.ravel()), atol=1e-14)
    ((weights, bias),) = net.unpack(x)
    assert np.array_equal(weights, w)
    assert np.array_equal(bias, np.zeros(4))
    assert np.array_equal(flat.weights(w.ravel()), w)
    # a bias on class c adds b_c to every logit of class c
    b = np.array([0.5, -1.0, 0.0, 2.0])
    shifted = np.hstack([features, np.ones((25, 1))])
    with_bias = Softmax(shifted, labels, classes=4, l2=0.0)
    net0 = Mlp(features, labels, hidden=(), classes=4, l2=0.0)
    both = np.hstack([w, b[:, None]]).ravel()
    assert net0.value(np.concatenate([w.ravel(), b])) == pytest.approx(with_bias.value(both))


def test_mlp_layout_is_layer_by_layer_weights_then_biases() -> None:
    net = mlp(0, dim=3, hidden=(5, 4), classes=2)
    assert net.dim == 5 * 3 + 5 + 4 * 5 + 4 + 2 * 4 + 2
    x = np.arange(net.dim, dtype=np.float64)
    (w1, b1), (w2, b2), (w3, b3) = net.unpack(x)
    assert w1.shape == (5, 3) and w1[0, 1] == 1.0 and b1[0] == 15.0
    assert w2.shape == (4, 5) and w2[0, 0] == 20.0 and b2[-1] == 43.0
    assert w3.shape == (2, 4) and b3.tolist() == [52.0, 53.0]


def test_mlp_init_is_seeded_glorot_with_zero_biases() -> None:
    net = mlp(0, dim=3, hidden=(50,), classes=2)
    x = net.init(7)
    assert x.shape == (net.dim,) and x.dtype == np.float64
    assert np.array_equal(x, net.init(np.random.default_rng(7)))
    assert not np.array_equal(x, net.init(8))
    (w1, b1), (w2, b2) = net.unpack(x)
    assert np.all(b1 == 0) and np.all(b2 == 0)
    assert np.max(np.abs(w1)) <= math.sqrt(6 / 53) and np.max(np.abs(w2)) <= math.sqrt(6 / 52)
    assert np.std(w1) == pytest.approx(math.sqrt(6 / 53) / math.sqrt(3), rel=0.15)


# --- training and held-out metrics --------------------------------------------------------


def xor_data(seed: int, samples: int) -> tuple[FloatArray, npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    features = rng.uniform(-1, 1, size=(samples, 2))
    labels = (features[:, 0] * features[:, 1] > 0).astype(np.int64)
    return features, labels


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_mlp_learns_xor_under_plain_gradient_descent(activation: Literal["tanh", "relu"]) -> None:
    features, labels = xor_data(0, 200)
    net = Mlp(features, labels, hidden=(16,), classes=2, l2=1e-4, activation=activation)
    x = net.init(1)
    step = 3.0 / net.smoothness()
    losses = [net.value(x)]
    for _ in range(1500):
        x = x - step * net.gradient(x)
        losses.append(net.value(x))
    assert losses[-1] < 0.5 * losses[0]
    assert np.mean(np.diff(losses) <= 1e-12) > 0.95  # falls (almost) every step
    test_features, test_labels = xor_data(1, 400)
    assert net.accuracy(x, test_features, test_labels) > 0.9
    # a linear model cannot do this: the net's accuracy is the hidden layer's work
    linear = Softmax(features, labels, classes=2, l2=0.0)
    w = np.zeros(linear.dim)
    for _ in range(500):
        w = w - 1.0 * linear.gradient(w)
    assert linear.accuracy(w, test_features, test_labels) < 0.75


def test_minibatch_sgd_trains_the_softmax_model_on_separable_blobs() -> None:
    rng = np.random.default_rng(3)
    centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    labels = rng.integers(0, 3, size=300)
    features = np.hstack([centres[labels] + rng.normal(size=(300, 2)), np.ones((300, 1))])
    model = Softmax(features, labels, classes=3, l2=1e-3)
    x = np.zeros(model.dim)
    start = model.value(x)
    for k in range(600):
        batch = rng.choice(300, size=16, replace=False)
        x = x - 1.0 / model.smoothness() / (1 + 0.01 * k) * model.gradient(x, batch)
    assert model.value(x) < 0.2 * start
    assert model.accuracy(x, features, labels) > 0.95


CLASSIFIERS = ["logistic", "softmax", "mlp-tanh", "mlp-relu"]


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_held_out_loss_plus_penalty_is_the_value_on_own_data(name: str) -> None:
    model = MODELS[name]()
    assert isinstance(model, Classifier)
    x = _start(model)
    penalty = 0.5 * model.l2 * float(x @ x)
    own = model.loss(x, model.features, model.labels)
    assert own + penalty == pytest.approx(model.value(x), rel=1e-12)
    assert own > 0


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_accuracy_counts_the_predictions_that_hit(name: str) -> None:
    model = MODELS[name]()
    assert isinstance(model, Classifier)
    x = _start(model)
    predicted = model.predict(x, model.features)
    assert predicted.shape == (model.samples,)
    assert model.accuracy(x, model.features, predicted) == 1.0
    flipped = -predicted if name == "logistic" else (predicted + 1) % 2
    assert model.accuracy(x, model.features, flipped) == 0.0
    truth = model.labels
    assert model.accuracy(x, model.features, truth) == pytest.approx(np.mean(predicted == truth))


def test_logistic_predicts_the_sign_of_the_score() -> None:
    model = Logistic(np.eye(2), np.array([1.0, -1.0]), l2=0.0)
    x = np.array([2.0, -0.5])
    rows = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [-1.0, 0.0]])
    assert model.predict(x, rows).tolist() == [1.0, -1.0, 1.0, -1.0]
    assert model.loss(np.zeros(2), rows, np.ones(4)) == pytest.approx(math.log(2))


def test_softmax_predicts_the_largest_logit() -> None:
    model = Softmax(np.eye(3), np.array([0, 1, 2]), classes=3, l2=0.0)
    w = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, -1.0]])
    rows = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert model.predict(w.ravel(), rows).tolist() == [0, 1, 0]  # 0 > -1 for the last row
    assert model.value(np.zeros(9)) == pytest.approx(math.log(3))
    assert model.dim == 9 and model.samples == 3


def test_softmax_cross_entropy_is_stable_for_huge_logits() -> None:
    model = Softmax(np.array([[1.0], [1.0]]), np.array([0, 1]), classes=2, l2=0.0)
    x = np.array([1000.0, -1000.0])
    assert model.value(x) == pytest.approx(1000.0)  # sample 0 costs ~0, sample 1 costs 2000
    assert np.all(np.isfinite(model.gradient(x)))


def test_ridge_normal_equations_give_the_pooled_minimizer() -> None:
    parts = [ridge(s, samples=15, dim=3, l2=0.2) for s in range(4)]
    x_star = cast(  # numpy's stubs: floating[Any] for a solve of float64 arrays
        FloatArray,
        np.linalg.solve(
            sum(p.normal_equations()[0] for p in parts),
            sum(p.normal_equations()[1] for p in parts),
        ),
    )
    total = np.zeros(3)
    for p in parts:
        total = total + p.gradient(x_star)
    assert np.allclose(total, 0, atol=1e-12)


def test_ridge_value_is_the_documented_loss() -> None:
    model = Ridge(np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 1.0]), l2=0.5)
    x = np.array([1.0, 1.0])
    # residuals (0, 1): 1 / (2 * 2) + 0.25 * 2
    assert model.value(x) == pytest.approx(0.25 + 0.5)
