"""Rebuilding a saved model from its ``kind`` and the arrays of its ``to_arrays()``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy.typing as npt

from .._errors import ConfigError
from ._least_squares import LeastSquares, Ridge
from ._logistic import Logistic
from ._mlp import Mlp
from ._protocol import Objective
from ._softmax import Softmax

_MODELS = {model.kind: model for model in (LeastSquares, Ridge, Logistic, Softmax, Mlp)}

OBJECTIVE_KINDS: tuple[str, ...] = tuple(_MODELS)
"""The ``kind`` of every model here: a stable name to save a model under."""


def objective_from_arrays(kind: str, arrays: Mapping[str, npt.NDArray[Any]]) -> Objective:
    """The model ``kind`` rebuilt from the arrays its ``to_arrays()`` gave (an ``np.load`` of
    an ``.npz`` works, with ``allow_pickle=False``). Unknown kinds raise ConfigError."""
    model = _MODELS.get(kind)
    if model is None:
        raise ConfigError(f"unknown objective kind {kind!r}; known: {', '.join(OBJECTIVE_KINDS)}")
    rebuilt: Objective = model.from_arrays(arrays)
    return rebuilt
