"""Validation of the data and parameters a model is built from: every refusal is a ConfigError
that names the offending argument."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import ConfigError
from ._protocol import FloatArray, IndexArray

_NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: converted to float64


def float_array(name: str, value: npt.ArrayLike, ndim: int) -> FloatArray:
    """``value`` as a finite float64 array with ``ndim`` axes."""
    raw = np.asarray(value)
    if raw.dtype.kind not in _NUMERIC_KINDS:
        raise ConfigError(f"{name} must be real numbers, got dtype {raw.dtype}")
    if raw.ndim != ndim:
        raise ConfigError(f"{name} must have {ndim} axes, got shape {raw.shape}")
    array = np.asarray(raw, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"{name} holds NaN or infinity")
    return array


def samples_matrix(value: npt.ArrayLike, name: str = "features") -> FloatArray:
    """A (m, d) feature matrix with m >= 1 and d >= 1."""
    a = float_array(name, value, 2)
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ConfigError(f"{name} must have at least one row and one column, got {a.shape}")
    return a


def row_vector(value: npt.ArrayLike, rows: int, name: str) -> FloatArray:
    """A float vector with one entry per sample."""
    y = float_array(name, value, 1)
    if y.shape[0] != rows:
        raise ConfigError(f"{name} has {y.shape[0]} entries for {rows} feature rows")
    return y


def class_labels(value: npt.ArrayLike, rows: int, classes: int, name: str = "labels") -> IndexArray:
    """Integer class ids in 0..classes-1, one per sample."""
    raw = np.asarray(value)
    if raw.dtype.kind not in "iu":
        raise ConfigError(f"{name} must be integer class ids, got dtype {raw.dtype}")
    if raw.ndim != 1 or raw.shape[0] != rows:
        raise ConfigError(f"{name} must be a vector of {rows} class ids, got shape {raw.shape}")
    if raw.size and (raw.min() < 0 or raw.max() >= classes):
        raise ConfigError(f"{name} must lie in 0..{classes - 1}, got {raw.min()}..{raw.max()}")
    labels: IndexArray = raw.astype(np.intp)
    return labels


def plus_minus_one(value: npt.ArrayLike, rows: int, name: str = "labels") -> FloatArray:
    """Binary labels, each -1.0 or +1.0."""
    y = row_vector(value, rows, name)
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ConfigError(f"logistic {name} must be -1 or +1")
    return y


def regularization(value: float, name: str = "l2") -> float:
    """A finite l2 weight >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ConfigError(f"{name} must be a number, got {type(value).__name__}")
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(f"{name} must be >= 0 and finite, got {value}")
    return float(value)


def positive_count(value: int, name: str, minimum: int = 1) -> int:
    """An int >= ``minimum`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def parameters(x: npt.ArrayLike, dim: int, model: str) -> FloatArray:
    """A parameter vector of the model's dimension (not copied when already float64)."""
    v = np.asarray(x, dtype=np.float64)
    if v.shape != (dim,):
        raise ConfigError(f"{model}: x must have shape ({dim},), got {v.shape}")
    return v


def held_out(features: npt.ArrayLike, columns: int, model: str) -> FloatArray:
    """Held-out features with the model's number of columns."""
    a = samples_matrix(features)
    if a.shape[1] != columns:
        raise ConfigError(f"{model}: features must have {columns} columns, got {a.shape[1]}")
    return a


def entry(arrays: Mapping[str, npt.NDArray[Any]], key: str, kind: str) -> npt.NDArray[Any]:
    """``arrays[key]``, or a ConfigError naming the missing array."""
    if key not in arrays:
        raise ConfigError(f"{kind}: saved arrays lack {key!r} (have {sorted(arrays)})")
    return np.asarray(arrays[key])


def scalar(arrays: Mapping[str, npt.NDArray[Any]], key: str, kind: str) -> float:
    """A saved one-value array (shape () or (1,)) as a float."""
    value = entry(arrays, key, kind)
    if value.size != 1 or value.dtype.kind not in _NUMERIC_KINDS:
        raise ConfigError(
            f"{kind}: saved {key!r} must be one number, got {value.dtype} {value.shape}"
        )
    return float(value.reshape(()))


def saved_int(arrays: Mapping[str, npt.NDArray[Any]], key: str, kind: str) -> int:
    """A saved one-value integer array as an int."""
    value = entry(arrays, key, kind)
    if value.size != 1 or value.dtype.kind not in "iu":
        raise ConfigError(
            f"{kind}: saved {key!r} must be one integer, got {value.dtype} {value.shape}"
        )
    return int(value.reshape(()))


def saved_ints(arrays: Mapping[str, npt.NDArray[Any]], key: str, kind: str) -> tuple[int, ...]:
    """A saved integer vector (possibly empty) as a tuple of ints."""
    value = entry(arrays, key, kind)
    if value.ndim != 1 or (value.size and value.dtype.kind not in "iu"):
        raise ConfigError(
            f"{kind}: saved {key!r} must be an integer vector, got {value.dtype} {value.shape}"
        )
    return tuple(int(v) for v in value)


def saved_text(arrays: Mapping[str, npt.NDArray[Any]], key: str, kind: str) -> str:
    """A saved one-string array (numpy unicode, never an object array) as a str."""
    value = entry(arrays, key, kind)
    if value.size != 1 or value.dtype.kind != "U":
        raise ConfigError(
            f"{kind}: saved {key!r} must be one string, got {value.dtype} {value.shape}"
        )
    return str(value.reshape(()))
