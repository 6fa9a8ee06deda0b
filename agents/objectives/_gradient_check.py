"""Checks a user's objective goes through before a run: shapes, dtypes, finite numbers, and a
gradient that agrees with central differences of the value."""

from __future__ import annotations

import inspect
import math

import numpy as np
import numpy.typing as npt

from .._errors import ConfigError
from ._protocol import FloatArray, IndexArray, Objective

# what a faulty user objective typically raises; translated into ConfigError naming it
_CALL_ERRORS = (ArithmeticError, ValueError, TypeError, IndexError, KeyError, AttributeError)


def check_gradient(
    objective: Objective,
    x: npt.ArrayLike,
    *,
    batch: IndexArray | None = None,
    eps: float = 1e-6,
    rtol: float = 1e-4,
) -> float:
    """The relative error ||g - d|| / max(||g||, ||d||) between ``gradient(x, batch)`` and
    the central differences d_k = (f(x + eps e_k) - f(x - eps e_k)) / (2 eps).

    f is ``value`` (``batch=None``) or ``value(x, batch)``, which the objective must
    then accept (every model in this package does). Costs 2 * dim evaluations.
    Check at a generic point, not at a minimizer: where the gradient is near zero
    the finite differences are mostly rounding. Raises ConfigError naming the
    objective when the error exceeds ``rtol``; returns it otherwise.
    """
    name = _name(objective)
    if not (math.isfinite(eps) and eps > 0 and math.isfinite(rtol) and rtol > 0):
        raise ConfigError(f"check_gradient: eps and rtol must be > 0, got {eps}, {rtol}")
    dim = _dimension(objective)
    point = _point(x, dim, name)
    if batch is None:
        gradient = _call(name, "gradient(x)", objective.gradient, point)

        def f(z: FloatArray) -> float:
            return _number(name, "value(x)", _call(name, "value(x)", objective.value, z))
    else:
        indices = np.asarray(batch, dtype=np.intp)
        _accepts_batch(objective, name)
        gradient = _call(name, "gradient(x, batch)", objective.gradient, point, indices)
        value_on_batch = objective.value

        def f(z: FloatArray) -> float:
            result = _call(name, "value(x, batch)", value_on_batch, z, indices)
            return _number(name, "value(x, batch)", result)

    g = _vector(name, "gradient", gradient, dim)
    numeric = np.empty(dim)
    for k in range(dim):
        step = np.zeros(dim)
        step[k] = eps
        numeric[k] = (f(point + step) - f(point - step)) / (2 * eps)
    scale = max(float(np.linalg.norm(g)), float(np.linalg.norm(numeric)))
    error = 0.0 if scale == 0 else float(np.linalg.norm(g - numeric)) / scale
    if not error <= rtol:
        worst = int(np.argmax(np.abs(g - numeric)))
        raise ConfigError(
            f"{name}: gradient disagrees with central differences of value: relative error "
            f"{error:.3g} > rtol {rtol:g} (worst coordinate {worst}: gradient {g[worst]:.6g}, "
            f"finite difference {numeric[worst]:.6g})"
        )
    return error


def check_objective(
    objective: Objective, x0: npt.ArrayLike, *, eps: float = 1e-6, rtol: float = 1e-4
) -> float:
    """Refuse (ConfigError naming the objective) anything an agent could not run with.

    Checks: ``dim`` and ``samples`` are positive ints; x0 has shape (dim,) and is
    finite; ``value(x0)`` is a finite real number; ``gradient(x0)`` and
    ``gradient(x0, batch)`` are finite float64 vectors of shape (dim,), the batch
    of every index equals the full gradient, and neither call modifies x; then
    ``smoothness()`` is finite and > 0; last, :func:`check_gradient` at x0.
    Returns the relative gradient error.
    """
    name = _name(objective)
    dim = _dimension(objective)
    samples = _count(name, "samples", objective)
    point = _point(x0, dim, name)
    before = point.copy()
    _number(name, "value(x0)", _call(name, "value(x0)", objective.value, point))
    full = _vector(
        name, "gradient(x0)", _call(name, "gradient(x0)", objective.gradient, point), dim
    )
    every = np.arange(samples, dtype=np.intp)
    label = "gradient(x0, every index)"
    on_all = _vector(name, label, _call(name, label, objective.gradient, point, every), dim)
    first = np.arange(min(samples, 2), dtype=np.intp)
    label = "gradient(x0, batch)"
    _vector(name, label, _call(name, label, objective.gradient, point, first), dim)
    if not np.array_equal(point, before):
        raise ConfigError(f"{name}: value or gradient modified x in place")
    tolerance = 1e-12 * max(1.0, float(np.max(np.abs(full))))
    if not np.allclose(on_all, full, rtol=1e-9, atol=tolerance):
        raise ConfigError(f"{name}: gradient on a batch of every index differs from gradient(x)")
    smoothness = _number(name, "smoothness()", _call(name, "smoothness()", objective.smoothness))
    if smoothness <= 0:
        raise ConfigError(f"{name}: smoothness() must be > 0, got {smoothness}")
    return check_gradient(objective, point, eps=eps, rtol=rtol)


def _name(objective: object) -> str:
    kind = getattr(type(objective), "kind", None)
    return (
        f"{type(objective).__name__} ({kind})"
        if isinstance(kind, str)
        else type(objective).__name__
    )


def _dimension(objective: Objective) -> int:
    return _count(_name(objective), "dim", objective)


def _count(name: str, attribute: str, objective: Objective) -> int:
    try:
        value = getattr(objective, attribute)
    except _CALL_ERRORS as exc:
        raise ConfigError(f"{name}: reading {attribute} raised {exc!r}") from exc
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name}: {attribute} must be an int >= 1, got {value!r}")
    return int(value)


def _point(x: npt.ArrayLike, dim: int, name: str) -> FloatArray:
    raw = np.asarray(x)
    if raw.dtype.kind not in "biuf" or raw.shape != (dim,):
        raise ConfigError(
            f"{name}: x must be a real vector of shape ({dim},), got {raw.dtype} {raw.shape}"
        )
    point = np.array(raw, dtype=np.float64)
    if not np.all(np.isfinite(point)):
        raise ConfigError(f"{name}: x holds NaN or infinity")
    return point


def _call(name: str, what: str, method: object, *args: object) -> object:
    if not callable(method):
        raise ConfigError(f"{name}: {what.split('(', maxsplit=1)[0]} is not callable")
    try:
        return method(*args)
    except _CALL_ERRORS as exc:
        raise ConfigError(f"{name}: {what} raised {exc!r}") from exc


def _number(name: str, what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name}: {what} must return a real number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ConfigError(f"{name}: {what} is not finite: {value}")
    return float(value)


def _vector(name: str, what: str, value: object, dim: int) -> FloatArray:
    if not isinstance(value, np.ndarray):
        raise ConfigError(f"{name}: {what} must return a numpy array, got {type(value).__name__}")
    if value.dtype != np.float64 or value.shape != (dim,):
        raise ConfigError(
            f"{name}: {what} must be float64 of shape ({dim},), got {value.dtype} {value.shape}"
        )
    if not np.all(np.isfinite(value)):
        raise ConfigError(f"{name}: {what} holds NaN or infinity")
    return value


def _accepts_batch(objective: Objective, name: str) -> None:
    try:
        inspect.signature(objective.value).bind(np.zeros(1), np.zeros(1, dtype=np.intp))
    except TypeError as exc:
        raise ConfigError(
            f"{name}: value(x) takes no batch, so a minibatch gradient cannot be checked "
            "against it; check the full gradient (batch=None)"
        ) from exc
    except ValueError:  # no signature to read (a builtin): let the call decide
        return
