"""Binary logistic regression, labels in {-1, +1}."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .._errors import ConfigError
from ._data import (
    entry,
    held_out,
    parameters,
    plus_minus_one,
    regularization,
    samples_matrix,
    saved_int,
    scalar,
)
from ._protocol import FloatArray, IndexArray


@dataclass(frozen=True, eq=False)
class Logistic:
    """f_i(x) = (1/m) sum log(1 + exp(-y_s a_s.x)) + (l2/2)||x||^2, labels y in {-1, +1}.

    With ``intercept=True`` the last entry of x is a bias b, not regularized:
    x = (w, b), dim = d + 1, f_i = (1/m) sum log(1 + exp(-y_s (a_s.w + b))) + (l2/2)||w||^2.
    (A column of ones in the features gives a bias that l2 does shrink.)
    ``predict`` gives the sign of the score a.w (+ b), 0 read as +1.
    """

    kind: ClassVar[str] = "logistic"

    features: FloatArray
    labels: FloatArray
    l2: float = 1e-2
    _: KW_ONLY
    intercept: bool = False

    def __post_init__(self) -> None:
        a = samples_matrix(self.features)
        y = plus_minus_one(self.labels, a.shape[0])
        object.__setattr__(self, "l2", regularization(self.l2))
        if not isinstance(self.intercept, bool):
            raise ConfigError(f"intercept must be True or False, got {self.intercept!r}")
        object.__setattr__(self, "features", a)
        object.__setattr__(self, "labels", y)

    @property
    def dim(self) -> int:
        return int(self.features.shape[1]) + self.intercept

    @property
    def samples(self) -> int:
        return int(self.features.shape[0])

    def value(self, x: FloatArray, batch: IndexArray | None = None) -> float:
        """f_i(x), or the data term averaged over ``batch`` only (plus the full l2 term)."""
        a = self.features if batch is None else self.features[batch]
        y = self.labels if batch is None else self.labels[batch]
        w = x[:-1] if self.intercept else x
        margins = y * self._scores(x, w, a)
        return float(np.mean(np.logaddexp(0.0, -margins)) + 0.5 * self.l2 * (w @ w))

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        a = self.features if batch is None else self.features[batch]
        y = self.labels if batch is None else self.labels[batch]
        w = x[:-1] if self.intercept else x
        weights = -y * _sigmoid(-y * self._scores(x, w, a))
        result: FloatArray = a.T @ weights / a.shape[0] + self.l2 * w
        if self.intercept:
            result = np.append(result, weights.sum() / a.shape[0])
        return result

    def smoothness(self) -> float:
        """lambda_max(B^T B / m) / 4 + l2, B the features (with a column of ones for the bias).

        The Hessian is B^T D B / m + l2 I (no l2 on the bias) with D's entries
        sigmoid' <= 1/4; with an intercept the bound is not tight in the bias direction.
        """
        a = self.features
        if self.intercept:
            a = np.hstack([a, np.ones((a.shape[0], 1))])
        return float(np.linalg.eigvalsh(a.T @ a / a.shape[0])[-1]) / 4 + self.l2

    def predict(self, x: FloatArray, features: npt.ArrayLike) -> FloatArray:
        """The predicted label (-1.0 or +1.0) of every row of ``features``."""
        a = held_out(features, self.features.shape[1], self.kind)
        v = parameters(x, self.dim, self.kind)
        scores = self._scores(v, v[:-1] if self.intercept else v, a)
        predicted: FloatArray = np.where(scores >= 0, 1.0, -1.0)
        return predicted

    def accuracy(self, x: FloatArray, features: npt.ArrayLike, labels: npt.ArrayLike) -> float:
        """The fraction of rows whose label ``predict`` gets right."""
        a = held_out(features, self.features.shape[1], self.kind)
        y = plus_minus_one(labels, a.shape[0])
        return float(np.mean(self.predict(x, a) == y))

    def loss(self, x: FloatArray, features: npt.ArrayLike, labels: npt.ArrayLike) -> float:
        """The mean logistic loss on the given rows, without the l2 term."""
        a = held_out(features, self.features.shape[1], self.kind)
        y = plus_minus_one(labels, a.shape[0])
        v = parameters(x, self.dim, self.kind)
        margins = y * self._scores(v, v[:-1] if self.intercept else v, a)
        return float(np.mean(np.logaddexp(0.0, -margins)))

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays :meth:`from_arrays` rebuilds this objective from (``np.savez``-safe)."""
        return {
            "features": self.features,
            "labels": self.labels,
            "l2": np.array(self.l2),
            "intercept": np.array(int(self.intercept), dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]]) -> Logistic:
        """Arrays saved without ``intercept`` (the scenarios' first format) mean none."""
        k = cls.kind
        flag = saved_int(arrays, "intercept", k) if "intercept" in arrays else 0
        if flag not in (0, 1):
            raise ConfigError(f"{k}: saved 'intercept' must be 0 or 1, got {flag}")
        return cls(
            entry(arrays, "features", k),
            entry(arrays, "labels", k),
            scalar(arrays, "l2", k),
            intercept=bool(flag),
        )

    def _scores(self, x: FloatArray, w: FloatArray, a: FloatArray) -> FloatArray:
        """a.w, plus the bias x[-1] with an intercept."""
        scores: FloatArray = a @ w
        return scores + x[-1] if self.intercept else scores


def _sigmoid(z: FloatArray) -> FloatArray:
    out: FloatArray = np.exp(-np.logaddexp(0.0, -z))
    return out
