"""Finite differences the objective tests check gradients and smoothness against."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from agents import FloatArray, Objective


def central_difference(
    f: Callable[[FloatArray], float], x: FloatArray, h: float = 1e-6
) -> FloatArray:
    """The gradient of ``f`` at ``x`` by central differences of step ``h``."""
    steps = np.eye(x.size) * h
    return np.array([(f(x + e) - f(x - e)) / (2 * h) for e in steps])


def hessian(objective: Objective, x: FloatArray, h: float = 1e-5) -> FloatArray:
    """The Hessian by central differences of the gradient, symmetrized."""
    steps = np.eye(x.size) * h
    columns = np.array(
        [(objective.gradient(x + e) - objective.gradient(x - e)) / (2 * h) for e in steps]
    )
    symmetric: FloatArray = (columns + columns.T) / 2
    return symmetric
