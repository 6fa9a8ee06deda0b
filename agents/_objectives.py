"""Local objectives f_i an agent minimizes on its own data, with minibatch gradients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ._errors import ConfigError

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


class Objective(Protocol):
    """f_i(x) = (1/m) sum_s loss(x; sample s), on the agent's private samples."""

    @property
    def dim(self) -> int: ...

    @property
    def samples(self) -> int: ...

    def value(self, x: FloatArray) -> float: ...

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        """The gradient on ``batch`` (sample indices), or on all samples when None."""

    def smoothness(self) -> float:
        """A Lipschitz constant of the gradient."""


def _check(features: FloatArray, targets: FloatArray) -> tuple[FloatArray, FloatArray]:
    a = np.asarray(features, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if a.ndim != 2 or y.ndim != 1 or a.shape[0] != y.shape[0] or a.shape[0] == 0:
        raise ConfigError(f"features {a.shape} and targets {y.shape} do not match")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(y))):
        raise ConfigError("data holds NaN or infinity")
    return a, y


@dataclass(frozen=True, eq=False)
class LeastSquares:
    """f_i(x) = (1/2m) ||A x - b||^2."""

    features: FloatArray
    targets: FloatArray
    _ata: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        a, y = _check(self.features, self.targets)
        object.__setattr__(self, "features", a)
        object.__setattr__(self, "targets", y)
        object.__setattr__(self, "_ata", a.T @ a / a.shape[0])

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    @property
    def samples(self) -> int:
        return int(self.features.shape[0])

    def value(self, x: FloatArray) -> float:
        r = self.features @ x - self.targets
        return float(r @ r) / (2 * self.samples)

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        a = self.features if batch is None else self.features[batch]
        y = self.targets if batch is None else self.targets[batch]
        result: FloatArray = a.T @ (a @ x - y) / a.shape[0]
        return result

    def smoothness(self) -> float:
        return float(np.linalg.eigvalsh(self._ata)[-1])

    def normal_equations(self) -> tuple[FloatArray, FloatArray]:
        """(A^T A / m, A^T b / m): summed over agents they give x* in closed form."""
        return self._ata, self.features.T @ self.targets / self.samples


@dataclass(frozen=True, eq=False)
class Logistic:
    """f_i(x) = (1/m) sum log(1 + exp(-y_s a_s.x)) + (l2/2)||x||^2, labels y in {-1, +1}."""

    features: FloatArray
    labels: FloatArray
    l2: float = 1e-2

    def __post_init__(self) -> None:
        a, y = _check(self.features, self.labels)
        if not np.all(np.isin(y, (-1.0, 1.0))):
            raise ConfigError("logistic labels must be -1 or +1")
        if not (np.isfinite(self.l2) and self.l2 >= 0):
            raise ConfigError(f"l2 must be >= 0, got {self.l2}")
        object.__setattr__(self, "features", a)
        object.__setattr__(self, "labels", y)

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    @property
    def samples(self) -> int:
        return int(self.features.shape[0])

    def value(self, x: FloatArray) -> float:
        margins = self.labels * (self.features @ x)
        return float(np.mean(np.logaddexp(0.0, -margins)) + 0.5 * self.l2 * (x @ x))

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        a = self.features if batch is None else self.features[batch]
        y = self.labels if batch is None else self.labels[batch]
        weights = -y * _sigmoid(-y * (a @ x))
        result: FloatArray = a.T @ weights / a.shape[0] + self.l2 * x
        return result

    def smoothness(self) -> float:
        a = self.features
        return float(np.linalg.eigvalsh(a.T @ a / a.shape[0])[-1]) / 4 + self.l2


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = np.exp(-np.logaddexp(0.0, -z))
    return out
