"""A user's own objective for ``kind = "python"`` (see python_objective.toml beside it).

hemesh calls ``huber_regression(agent=i, agents=n, seed=seed)`` once per agent and gives
agent i the object it returns. Anything with ``dim``, ``samples``, ``value(x)``,
``gradient(x, batch=None)`` and ``smoothness()`` will do (see ``agents.Objective``); here
a robust (Huber) linear regression, which none of the built-in models is, on each agent's
own synthetic data with a few gross outliers. The same arguments must give the same
objective: reading the run directory later calls the factory again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]

DIM = 6
SAMPLES = 50


@dataclass(frozen=True, eq=False)
class HuberRegression:
    """f(x) = (1/m) sum_s huber(a_s . x - b_s) with huber(r) = r^2/2 for |r| <= delta,
    delta (|r| - delta/2) beyond: squared error near the fit, absolute error far off."""

    features: FloatArray
    targets: FloatArray
    delta: float = 1.0

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    @property
    def samples(self) -> int:
        return int(self.features.shape[0])

    def value(self, x: FloatArray, batch: IndexArray | None = None) -> float:
        a, b = self._rows(batch)
        r = np.abs(a @ x - b)
        losses = np.where(r <= self.delta, 0.5 * r**2, self.delta * (r - 0.5 * self.delta))
        return float(np.mean(losses))

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        a, b = self._rows(batch)
        slope = np.clip(a @ x - b, -self.delta, self.delta)
        result: FloatArray = a.T @ slope / a.shape[0]
        return result

    def smoothness(self) -> float:
        """huber'' <= 1, so L = lambda_max(A^T A / m) bounds the Hessian everywhere."""
        return float(np.linalg.eigvalsh(self.features.T @ self.features / self.samples)[-1])

    def _rows(self, batch: IndexArray | None) -> tuple[FloatArray, FloatArray]:
        if batch is None:
            return self.features, self.targets
        return self.features[batch], self.targets[batch]


def huber_regression(*, agent: int, agents: int, seed: int) -> HuberRegression:
    """Agent ``agent``'s data: one shared true model, its own feature scale, 10% outliers."""
    shared = np.random.default_rng([seed, 0])
    x_true = shared.normal(size=DIM)
    rng = np.random.default_rng([seed, 1 + agent])
    a = rng.uniform(0.5, 1.5) * rng.normal(size=(SAMPLES, DIM))
    b = a @ x_true + 0.1 * rng.normal(size=SAMPLES)
    outliers = rng.random(SAMPLES) < 0.1
    b[outliers] += rng.normal(0.0, 20.0, size=int(outliers.sum()))
    return HuberRegression(a, b)
