"""Binary logistic regression, labels in {-1, +1}."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ._data import (
    entry,
    held_out,
    parameters,
    plus_minus_one,
    regularization,
    samples_matrix,
    scalar,
)
from ._protocol import FloatArray, IndexArray


@dataclass(frozen=True, eq=False)
class Logistic:
    """f_i(x) = (1/m) sum log(1 + exp(-y_s a_s.x)) + (l2/2)||x||^2, labels y in {-1, +1}.

    No intercept: append a column of ones to the features for one (it is then
    regularized like every other weight). ``predict`` gives sign(a.x) with 0 read as +1.
    """

    kind: ClassVar[str] = "logistic"

    features: FloatArray
    labels: FloatArray
    l2: float = 1e-2

    def __post_init__(self) -> None:
        a = samples_matrix(self.features)
        y = plus_minus_one(self.labels, a.shape[0])
        object.__setattr__(self, "l2", regularization(self.l2))
        object.__setattr__(self, "features", a)
        object.__setattr__(self, "labels", y)

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    @property
    def samples(self) -> int:
        return int(self.features.shape[0])

    def value(self, x: FloatArray, batch: IndexArray | None = None) -> float:
        """f_i(x), or the data term averaged over ``batch`` only (plus the full l2 term)."""
        a = self.features if batch is None else self.features[batch]
        y = self.labels if batch is None else self.labels[batch]
        margins = y * (a @ x)
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

    def predict(self, x: FloatArray, features: npt.ArrayLike) -> FloatArray:
        """The predicted label (-1.0 or +1.0) of every row of ``features``."""
        a = held_out(features, self.dim, self.kind)
        scores = a @ parameters(x, self.dim, self.kind)
        predicted: FloatArray = np.where(scores >= 0, 1.0, -1.0)
        return predicted

    def accuracy(self, x: FloatArray, features: npt.ArrayLike, labels: npt.ArrayLike) -> float:
        """The fraction of rows whose label ``predict`` gets right."""
        a = held_out(features, self.dim, self.kind)
        y = plus_minus_one(labels, a.shape[0])
        return float(np.mean(self.predict(x, a) == y))

    def loss(self, x: FloatArray, features: npt.ArrayLike, labels: npt.ArrayLike) -> float:
        """The mean logistic loss on the given rows, without the l2 term."""
        a = held_out(features, self.dim, self.kind)
        y = plus_minus_one(labels, a.shape[0])
        margins = y * (a @ parameters(x, self.dim, self.kind))
        return float(np.mean(np.logaddexp(0.0, -margins)))

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays :meth:`from_arrays` rebuilds this objective from (``np.savez``-safe)."""
        return {"features": self.features, "labels": self.labels, "l2": np.array(self.l2)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]]) -> Logistic:
        k = cls.kind
        return cls(
            entry(arrays, "features", k), entry(arrays, "labels", k), scalar(arrays, "l2", k)
        )


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = np.exp(-np.logaddexp(0.0, -z))
    return out
