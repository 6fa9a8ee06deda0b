"""Bad data and parameters are refused on construction (ConfigError naming what is wrong), and
so are held-out data and parameter vectors that do not fit the model."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from agents import ConfigError, LeastSquares, Logistic, Mlp, Ridge, Softmax

A = np.arange(8.0).reshape(4, 2)
Y = np.array([0.5, -1.0, 2.0, 0.0])
C = np.array([0, 1, 2, 1])

softmax = partial(Softmax, classes=3)
mlp = partial(Mlp, hidden=(3,), classes=3)


@pytest.mark.parametrize(
    ("features", "match"),
    [
        (np.ones(4), r"features must have 2 axes, got shape \(4,\)"),
        (np.ones((4, 2, 1)), "features must have 2 axes"),
        (np.ones((0, 2)), "at least one row and one column"),
        (np.ones((4, 0)), "at least one row and one column"),
        (np.array([[1.0, math.nan]] * 4), "features holds NaN or infinity"),
        (np.array([[1.0, -math.inf]] * 4), "features holds NaN or infinity"),
        (np.array([["1", "2"]] * 4), "features must be real numbers, got dtype <U1"),
        (np.ones((4, 2), dtype=complex), "features must be real numbers"),
    ],
    ids=["1d", "3d", "no-rows", "no-columns", "nan", "inf", "text", "complex"],
)
@pytest.mark.parametrize(
    ("model", "second"),
    [
        (LeastSquares, Y),
        (partial(Ridge, l2=0.1), Y),
        (Logistic, np.sign(Y) + (Y == 0)),
        (softmax, C),
        (mlp, C),
    ],
    ids=["least_squares", "ridge", "logistic", "softmax", "mlp"],
)
def test_bad_features_are_refused_by_every_model(
    model: Callable[..., object], second: npt.NDArray[Any], features: npt.NDArray[Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        model(features, second)


@pytest.mark.parametrize("model", [LeastSquares, partial(Ridge, l2=0.1)], ids=["ls", "ridge"])
@pytest.mark.parametrize(
    ("targets", "match"),
    [
        (np.ones(3), "targets has 3 entries for 4 feature rows"),
        (np.ones((4, 1)), "targets must have 1 axes"),
        (np.array([1.0, math.nan, 0.0, 0.0]), "targets holds NaN"),
    ],
)
def test_bad_targets_are_refused(
    model: Callable[..., object], targets: npt.NDArray[Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        model(A, targets)


@pytest.mark.parametrize("model", [softmax, mlp], ids=["softmax", "mlp"])
@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([0.0, 1.0, 2.0, 1.0]), "labels must be integer class ids, got dtype float64"),
        (np.array([True, False, True, False]), "labels must be integer class ids"),
        (np.array([0, 1, 3, 1]), r"labels must lie in 0\.\.2, got 0\.\.3"),
        (np.array([-1, 1, 2, 1]), r"labels must lie in 0\.\.2"),
        (np.array([0, 1, 2]), "a vector of 4 class ids"),
        (np.array([[0, 1, 2, 1]]), "a vector of 4 class ids"),
    ],
    ids=["float", "bool", "too-big", "negative", "short", "2d"],
)
def test_bad_class_labels_are_refused(
    model: Callable[..., object], labels: npt.NDArray[Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        model(A, labels)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Ridge(A, Y, l2=-0.1), "l2 must be >= 0"),
        (lambda: Ridge(A, Y, l2=math.nan), "l2 must be >= 0 and finite"),
        (lambda: Ridge(A, Y, l2="0.1"), "l2 must be a number"),  # type: ignore[arg-type]
        (lambda: Logistic(A, np.ones(4), l2=math.inf), "l2 must be >= 0"),
        (lambda: Softmax(A, C, classes=1), "classes must be >= 2"),
        (lambda: Softmax(A, C, classes=3.0), "classes must be an int"),  # type: ignore[arg-type]
        (lambda: Softmax(A, C, classes=True), "classes must be an int"),
        (lambda: Softmax(A, C, classes=3, l2=-1.0), "l2 must be >= 0"),
        (lambda: Mlp(A, C, hidden=(3, 0), classes=3), "hidden layer width must be >= 1"),
        (lambda: Mlp(A, C, hidden=(2.5,), classes=3), "hidden layer width must be an int"),  # type: ignore[arg-type]
        (lambda: Mlp(A, C, hidden=3, classes=3), "hidden must be a tuple of layer widths"),  # type: ignore[arg-type]
        (lambda: Mlp(A, C, hidden="32", classes=3), "hidden must be a tuple"),  # type: ignore[arg-type]
        (lambda: Mlp(A, C, hidden=(3,), classes=3, activation="sigmoid"), "activation must be"),  # type: ignore[arg-type]
        (lambda: Mlp(A, C, hidden=(3,), classes=3, smoothness_hint=0.0), "smoothness_hint"),
        (lambda: Mlp(A, C, hidden=(3,), classes=3, smoothness_hint=math.inf), "smoothness_hint"),
        (lambda: Mlp(A, C, hidden=(3,), classes=3, smoothness_hint="1"), "smoothness_hint"),  # type: ignore[arg-type]
        (lambda: Mlp(A, C, hidden=(3,), classes=0), "classes must be >= 2"),
    ],
)
def test_bad_parameters_are_refused(make: Callable[[], object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make()


def test_the_new_models_take_their_parameters_by_keyword() -> None:
    with pytest.raises(TypeError):
        Ridge(A, Y, 0.1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Softmax(A, C, 3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Mlp(A, C, (3,), 3)  # type: ignore[call-arg]


def test_a_list_of_widths_becomes_a_tuple_and_integer_features_become_float() -> None:
    model = Mlp(A.astype(int), C, hidden=[3, 2], classes=3)  # type: ignore[arg-type]
    assert model.hidden == (3, 2)
    assert model.features.dtype == np.float64
    assert Softmax(A, C.astype(np.uint8), classes=3).labels.dtype == np.intp


def test_models_are_frozen() -> None:
    model = Ridge(A, Y, l2=0.1)
    with pytest.raises(AttributeError):
        model.l2 = 0.2  # type: ignore[misc]


CLASSIFIERS: dict[str, tuple[Logistic | Softmax | Mlp, npt.NDArray[Any]]] = {
    "logistic": (Logistic(A, np.array([1.0, -1.0, 1.0, -1.0])), np.ones(4)),
    "softmax": (Softmax(A, C, classes=3), C),
    "mlp": (Mlp(A, C, hidden=(3,), classes=3), C),
}


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_held_out_data_must_fit_the_model(name: str) -> None:
    model, labels = CLASSIFIERS[name]
    x = np.zeros(model.dim)
    with pytest.raises(ConfigError, match="features must have 2 columns, got 3"):
        model.predict(x, np.ones((4, 3)))
    with pytest.raises(ConfigError, match=r"4 feature rows|4 class ids"):
        model.accuracy(x, A, labels[:3])
    with pytest.raises(ConfigError, match="labels"):
        model.loss(x, A, labels + 7)
    with pytest.raises(ConfigError, match=rf"x must have shape \({model.dim},\)"):
        model.predict(np.zeros(model.dim + 1), A)
