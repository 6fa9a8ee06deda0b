"""Every model saves as plain arrays under a stable kind (no pickle) and comes back identical."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents import (
    OBJECTIVE_KINDS,
    ConfigError,
    LeastSquares,
    Logistic,
    Mlp,
    Ridge,
    Softmax,
    objective_from_arrays,
)


def build(kind: str) -> LeastSquares | Ridge | Logistic | Softmax | Mlp:
    rng = np.random.default_rng(11)
    a = rng.normal(size=(15, 3))
    b = rng.normal(size=15)
    c = rng.integers(0, 3, size=15)
    makers: dict[str, Callable[[], LeastSquares | Ridge | Logistic | Softmax | Mlp]] = {
        "least_squares": lambda: LeastSquares(a, b),
        "ridge": lambda: Ridge(a, b, l2=0.25),
        "logistic": lambda: Logistic(a, np.where(b > 0, 1.0, -1.0), 0.125),
        "softmax": lambda: Softmax(a, c, classes=4, l2=0.5),  # class 3 absent: dim still 12
        "mlp": lambda: Mlp(
            a, c, hidden=(4, 2), classes=3, l2=1e-3, activation="relu", smoothness_hint=2.0
        ),
    }
    return makers[kind]()


def test_the_kinds_are_stable_names() -> None:
    # saved files carry these strings: renaming one breaks every problem.npz written before
    assert OBJECTIVE_KINDS == ("least_squares", "ridge", "logistic", "softmax", "mlp")
    for kind in OBJECTIVE_KINDS:
        assert type(build(kind)).kind == kind


@pytest.mark.parametrize("kind", OBJECTIVE_KINDS)
def test_a_saved_model_rebuilds_bit_identical_through_npz(kind: str, tmp_path: Path) -> None:
    model = build(kind)
    path = tmp_path / "problem.npz"
    named: dict[str, Any] = {f"agent_0_{k}": v for k, v in model.to_arrays().items()}
    np.savez_compressed(path, **named)  # numpy's stubs: Any, not bool
    with np.load(path, allow_pickle=False) as saved:
        arrays = {k.removeprefix("agent_0_"): saved[k] for k in saved.files}
    rebuilt = objective_from_arrays(model.kind, arrays)
    assert type(rebuilt) is type(model)
    assert (rebuilt.dim, rebuilt.samples) == (model.dim, model.samples)
    x = np.random.default_rng(1).normal(size=model.dim)
    assert rebuilt.value(x) == model.value(x)
    assert np.array_equal(rebuilt.gradient(x), model.gradient(x))
    assert rebuilt.smoothness() == model.smoothness()
    for name in ("l2", "classes", "hidden", "activation", "smoothness_hint"):
        if hasattr(model, name):
            assert getattr(rebuilt, name) == getattr(model, name), name


@pytest.mark.parametrize("kind", OBJECTIVE_KINDS)
def test_saved_arrays_hold_no_objects(kind: str) -> None:
    for name, array in build(kind).to_arrays().items():
        assert isinstance(array, np.ndarray), name
        assert array.dtype.kind in "fiU", (name, array.dtype)


def test_the_scenarios_old_one_element_l2_is_read() -> None:
    model = build("logistic")
    assert isinstance(model, Logistic)
    arrays = {"features": model.features, "labels": model.labels, "l2": np.array([0.125])}
    assert Logistic.from_arrays(arrays).l2 == 0.125


def test_an_unknown_kind_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown objective kind 'lasso'.*least_squares"):
        objective_from_arrays("lasso", {})


@pytest.mark.parametrize(
    ("kind", "change", "match"),
    [
        ("ridge", {"l2": None}, "lack 'l2'"),
        ("least_squares", {"targets": None}, "lack 'targets'"),
        ("softmax", {"classes": np.array(2.5)}, "'classes' must be one integer"),
        ("softmax", {"l2": np.array([0.1, 0.2])}, "'l2' must be one number"),
        ("mlp", {"activation": np.array("sigmoid")}, "activation must be one of"),
        ("mlp", {"activation": np.array(1.0)}, "'activation' must be one string"),
        ("mlp", {"hidden": np.array([[4, 2]])}, "'hidden' must be an integer vector"),
        ("mlp", {"labels": np.array([0.0] * 15)}, "labels must be integer class ids"),
    ],
)
def test_broken_saved_arrays_are_refused(kind: str, change: dict[str, Any], match: str) -> None:
    arrays = build(kind).to_arrays()
    for key, value in change.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    with pytest.raises(ConfigError, match=match):
        objective_from_arrays(kind, arrays)


def test_an_mlp_without_hidden_layers_saves_an_empty_width_list(tmp_path: Path) -> None:
    a = np.ones((3, 2))
    model = Mlp(a, np.array([0, 1, 1]), hidden=(), classes=2)
    path = tmp_path / "m.npz"
    arrays: dict[str, Any] = model.to_arrays()  # numpy's stubs: Any, not bool
    np.savez(path, **arrays)
    with np.load(path, allow_pickle=False) as saved:
        rebuilt = objective_from_arrays("mlp", saved)
    assert isinstance(rebuilt, Mlp)
    assert rebuilt.hidden == ()
