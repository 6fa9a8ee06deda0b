"""The per-iteration metrics of a run as arrays (:class:`Series`), the grid of iterations
losses and accuracies are evaluated at, and the lines of ``metrics.jsonl``. How each is
computed: :mod:`scenarios.results._metrics`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

EVALUATIONS = 200
"""Losses and accuracies are evaluated on about this many logged iterations (plus the last)."""


def evaluation_grid(count: int) -> npt.NDArray[np.intp]:
    """Positions among ``count`` logged iterations where losses and accuracies are
    evaluated: every ``max(1, count // EVALUATIONS)``-th, and the last."""
    if count <= 0:
        return np.zeros(0, dtype=np.intp)
    grid = list(range(0, count, max(1, count // EVALUATIONS)))
    if grid[-1] != count - 1:
        grid.append(count - 1)
    return np.array(grid, dtype=np.intp)


@dataclass(frozen=True, slots=True)
class Series:
    """Per-iteration metrics over the K iterations every agent logged a state for (N
    agents, in ``agents`` order). ``mse``, ``gap`` and ``errors`` need x*: None without
    it. The losses and accuracies are over the M iterations ``evaluated`` (a subset of
    ``k``, see :func:`evaluation_grid`); the ``test_*`` ones are None without held-out
    rows, ``test_accuracy`` also for a model that is not a classifier."""

    k: npt.NDArray[np.int64]
    mse: FloatArray | None
    consensus: FloatArray
    gap: FloatArray | None
    errors: FloatArray | None = None
    """Each agent's squared error ||x_i(k) - x*||^2, shape (K, N)."""
    agents: tuple[str, ...] = ()
    evaluated: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    """The iterations (values of ``k``) the losses and accuracies were evaluated at, (M,)."""
    train_loss: FloatArray | None = None
    """F(xbar(k))/N, shape (M,)."""
    agent_train_loss: FloatArray | None = None
    """F(x_i(k))/N, shape (M, N)."""
    test_loss: FloatArray | None = None
    """The network average's test loss, shape (M,)."""
    agent_test_loss: FloatArray | None = None
    """Each agent's model's test loss, shape (M, N)."""
    test_accuracy: FloatArray | None = None
    """The network average's test accuracy (a fraction), shape (M,)."""
    agent_test_accuracy: FloatArray | None = None
    """Each agent's model's test accuracy, shape (M, N)."""

    def lines(self) -> list[dict[str, Any]]:
        """One record per evaluated iteration, as ``metrics.jsonl`` holds them: k, mse,
        consensus, gap, train_loss, test_loss, test_accuracy (the network average) and
        per agent its error, train_loss, test_loss and test_accuracy. What a problem
        does not have (x*, held-out rows) and any non-finite value is null."""
        position = {int(k): i for i, k in enumerate(self.k)}
        lines = []
        for m, k in enumerate(self.evaluated):
            i = position[int(k)]
            per_agent = {
                agent: {
                    "error": entry(self.errors, i, a),
                    "train_loss": entry(self.agent_train_loss, m, a),
                    "test_loss": entry(self.agent_test_loss, m, a),
                    "test_accuracy": entry(self.agent_test_accuracy, m, a),
                }
                for a, agent in enumerate(self.agents)
            }
            lines.append(
                {
                    "k": int(k),
                    "mse": entry(self.mse, i),
                    "consensus": finite(self.consensus[i]),
                    "gap": entry(self.gap, i),
                    "train_loss": entry(self.train_loss, m),
                    "test_loss": entry(self.test_loss, m),
                    "test_accuracy": entry(self.test_accuracy, m),
                    "agents": per_agent,
                }
            )
        return lines


def finite(value: float | np.floating[Any]) -> float | None:
    """``value`` as a float, or None when it is NaN or infinite (JSON has neither)."""
    number = float(value)
    return number if math.isfinite(number) else None


def entry(values: FloatArray | None, *index: int) -> float | None:
    """``values[index]`` as :func:`finite` gives it; None without ``values``."""
    return None if values is None else finite(values[index])
