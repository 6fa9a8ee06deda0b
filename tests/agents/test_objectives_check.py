"""check_gradient and check_objective: what a user's own objective goes through before a run.
Every model passes; every kind of broken objective is refused with its name in the message."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from agents import (
    ConfigError,
    FloatArray,
    LeastSquares,
    Logistic,
    Mlp,
    Ridge,
    Softmax,
    check_gradient,
    check_objective,
)


def data(seed: int = 0) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(20, 3)), rng.normal(size=20), rng.integers(0, 3, size=20)


def models() -> list[tuple[LeastSquares | Ridge | Logistic | Softmax | Mlp, FloatArray | None]]:
    a, b, c = data()
    net = Mlp(a, c, hidden=(4,), classes=3)
    return [
        (LeastSquares(a, b), np.zeros(3)),
        (Ridge(a, b, l2=0.1), np.zeros(3)),
        (Logistic(a, np.sign(b) + (b == 0)), np.zeros(3)),
        (Softmax(a, c, classes=3), np.full(9, 0.1)),
        (net, net.init(0)),
        (Mlp(a, c, hidden=(4, 2), classes=3, activation="relu"), None),
    ]


@pytest.mark.parametrize("index", range(6))
def test_every_model_passes_both_checks(index: int) -> None:
    objective, x0 = models()[index]
    if x0 is None:
        assert isinstance(objective, Mlp)
        x0 = objective.init(1)
    assert check_objective(objective, x0) < 1e-6
    batch = np.array([0, 3, 5])
    assert check_gradient(objective, x0 + 0.05, batch=batch) < 1e-6


class Quadratic:
    """f(x) = (1/m) sum_s (1/2)||x - c_s||^2: a user's objective, with knobs to break it
    (so what its methods return is Any: whatever a knob says)."""

    def __init__(
        self, *, centres: FloatArray | None = None, factor: float = 1.0, **broken: Any
    ) -> None:
        self.centres = np.arange(12.0).reshape(4, 3) if centres is None else centres
        self.factor = factor
        self.broken = broken

    @property
    def dim(self) -> Any:
        return self.broken.get("dim", 3)

    @property
    def samples(self) -> Any:
        return self.broken.get("samples", 4)

    def value(self, x: FloatArray, batch: npt.NDArray[np.intp] | None = None) -> Any:
        c = self.centres if batch is None else self.centres[batch]
        v = 0.5 * float(np.mean(np.sum((x - c) ** 2, axis=1)))
        return self.broken.get("value", v)

    def gradient(self, x: FloatArray, batch: npt.NDArray[np.intp] | None = None) -> Any:
        if self.broken.get("raise"):
            raise ValueError("shapes do not align")
        c = self.centres if batch is None else self.centres[batch]
        if self.broken.get("ignore_batch"):
            c = self.centres
        if self.broken.get("sum_not_mean") and batch is not None:
            g = np.sum(x - c, axis=0)
        else:
            g = self.factor * np.mean(x - c, axis=0)
        if self.broken.get("in_place"):
            x += 1.0
        if "gradient" in self.broken:
            return self.broken["gradient"]
        return g.astype(self.broken.get("dtype", np.float64))

    def smoothness(self) -> Any:
        return self.broken.get("smoothness", 1.0)


class ValueWithoutBatch(Quadratic):
    # takes no batch, on purpose: the check must cope with a user's value(x)
    def value(self, x: FloatArray) -> Any:  # type: ignore[override]
        return super().value(x)


X0 = np.array([0.5, -1.0, 2.0])


def test_a_correct_user_objective_passes() -> None:
    assert check_objective(Quadratic(), X0) < 1e-8
    assert check_gradient(Quadratic(), X0, batch=np.array([1, 2])) < 1e-8
    assert check_objective(ValueWithoutBatch(), X0) < 1e-8  # value(x) alone is enough


def test_a_wrong_gradient_fails_with_the_objectives_name_and_the_error() -> None:
    with pytest.raises(ConfigError, match=r"Quadratic: gradient disagrees .* relative error") as e:
        check_gradient(Quadratic(factor=1.01), X0)
    assert "worst coordinate" in str(e.value)
    # just inside and just outside the tolerance
    assert check_gradient(Quadratic(factor=1.00005), X0, rtol=1e-4) == pytest.approx(5e-5, rel=1e-3)
    with pytest.raises(ConfigError):
        check_gradient(Quadratic(factor=1.0002), X0, rtol=1e-4)


def test_the_name_of_a_model_includes_its_kind() -> None:
    a, b, _ = data()

    class Off(Ridge):
        def gradient(self, x: FloatArray, batch: npt.NDArray[np.intp] | None = None) -> FloatArray:
            return 2 * super().gradient(x, batch)

    with pytest.raises(ConfigError, match=r"Off \(ridge\)"):
        check_gradient(Off(a, b, l2=0.1), np.ones(3))


def test_a_batch_path_that_ignores_the_batch_is_caught() -> None:
    batch = np.array([0, 1])
    with pytest.raises(ConfigError, match="disagrees"):
        check_gradient(Quadratic(ignore_batch=True), X0, batch=batch)
    check_gradient(Quadratic(ignore_batch=True), X0)  # the full gradient is right


def test_a_minibatch_check_needs_a_value_that_takes_the_batch() -> None:
    with pytest.raises(ConfigError, match="takes no batch"):
        check_gradient(ValueWithoutBatch(), X0, batch=np.array([0]))


@pytest.mark.parametrize(
    ("broken", "match"),
    [
        ({"dim": 0}, "dim must be an int >= 1"),
        ({"dim": 3.0}, "dim must be an int"),
        ({"dim": True}, "dim must be an int"),
        ({"samples": 0}, "samples must be an int >= 1"),
        ({"value": math.nan}, r"value\(x0\) is not finite"),
        ({"value": np.ones(1)}, r"value\(x0\) must return a real number"),
        ({"value": "1.0"}, "must return a real number"),
        ({"gradient": [1.0, 2.0, 3.0]}, "must return a numpy array"),
        ({"dtype": np.float32}, "must be float64"),
        ({"gradient": np.zeros(4)}, r"shape \(3,\)"),
        ({"gradient": np.array([0.0, math.inf, 0.0])}, "NaN or infinity"),
        ({"raise": True}, r"gradient\(x0\) raised ValueError"),
        ({"in_place": True}, "modified x in place"),
        ({"sum_not_mean": True}, "batch of every index differs"),
        ({"smoothness": 0.0}, r"smoothness\(\) must be > 0"),
        ({"smoothness": math.nan}, r"smoothness\(\) is not finite"),
        ({"smoothness": None}, r"smoothness\(\) must return a real number"),
    ],
    ids=lambda v: str(v) if isinstance(v, dict) else "",
)
def test_check_objective_refuses_each_defect_naming_the_objective(
    broken: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigError, match=match) as e:
        check_objective(Quadratic(**broken), X0)
    assert str(e.value).startswith("Quadratic: ")


def test_an_error_inside_the_objective_is_translated_and_chained() -> None:
    knobs: dict[str, Any] = {"raise": True}  # a keyword the language reserves
    with pytest.raises(ConfigError) as e:
        check_objective(Quadratic(**knobs), X0)
    assert isinstance(e.value.__cause__, ValueError)


@pytest.mark.parametrize(
    "x0",
    [np.zeros(2), np.zeros((3, 1)), np.array([0.0, math.nan, 0.0]), np.array(["a", "b", "c"])],
    ids=["short", "column", "nan", "text"],
)
def test_check_objective_refuses_a_bad_starting_point(x0: npt.NDArray[Any]) -> None:
    with pytest.raises(ConfigError, match="Quadratic: x"):
        check_objective(Quadratic(), x0)


@pytest.mark.parametrize(("eps", "rtol"), [(0.0, 1e-4), (1e-6, -1.0), (math.nan, 1e-4)])
def test_check_gradient_refuses_bad_tolerances(eps: float, rtol: float) -> None:
    with pytest.raises(ConfigError, match="eps and rtol"):
        check_gradient(Quadratic(), X0, eps=eps, rtol=rtol)


def test_check_gradient_does_not_touch_the_point_it_is_given() -> None:
    x = X0.copy()
    check_gradient(Quadratic(), x)
    assert np.array_equal(x, X0)
