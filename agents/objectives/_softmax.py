"""Multinomial logistic (softmax) regression over C classes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ._cross_entropy import cross_entropy, residual
from ._data import (
    class_labels,
    entry,
    held_out,
    parameters,
    positive_count,
    regularization,
    samples_matrix,
    saved_int,
    scalar,
)
from ._protocol import FloatArray, IndexArray


@dataclass(frozen=True, eq=False)
class Softmax:
    """f_i(x) = (1/m) sum_s [logsumexp(W a_s) - (W a_s)_{y_s}] + (l2/2)||x||^2.

    Layout: ``x`` is ``W.ravel()`` for the row-major weight matrix W of shape
    (classes, d): ``x[c*d:(c+1)*d]`` are the weights of class c, so ``dim`` is
    classes * d. There are no biases: append a column of ones to the features for
    them (they are then regularized like every other weight). Labels are class ids
    0..classes-1; ``classes`` is explicit so that every agent's shard has the same
    dim even when some class is missing from it.

    Smoothness: the Hessian is (1/m) sum_s (diag(p_s) - p_s p_s^T) kron a_s a_s^T
    + l2 I, p_s = softmax(W a_s). By Gershgorin, every eigenvalue of
    diag(p) - p p^T is at most max_c [p_c(1 - p_c) + p_c sum_{c' != c} p_c'] =
    max_c 2 p_c (1 - p_c) <= 1/2. The Kronecker product with a PSD a a^T keeps
    that order, so the Hessian is below (1/2) I kron (A^T A / m) + l2 I, whose
    largest eigenvalue is 0.5 * lambda_max(A^T A / m) + l2. The bound is reached
    at x = 0 with two classes.
    """

    kind: ClassVar[str] = "softmax"

    features: FloatArray
    labels: IndexArray
    _: KW_ONLY
    classes: int
    l2: float = 1e-2
    _columns: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        classes = positive_count(self.classes, "classes", minimum=2)
        a = samples_matrix(self.features)
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "features", a)
        object.__setattr__(self, "labels", class_labels(self.labels, a.shape[0], classes))
        object.__setattr__(self, "l2", regularization(self.l2))
        object.__setattr__(self, "_columns", int(a.shape[1]))

    @property
    def dim(self) -> int:
        return self.classes * self._columns

    @property
    def samples(self) -> int:
        return int(self.features.shape[0])

    def weights(self, x: FloatArray) -> FloatArray:
        """``x`` as the (classes, d) weight matrix (a view)."""
        w: FloatArray = parameters(x, self.dim, self.kind).reshape(self.classes, self._columns)
        return w

    def value(self, x: FloatArray, batch: IndexArray | None = None) -> float:
        """f_i(x), or the data term averaged over ``batch`` only (plus the full l2 term)."""
        a = self.features if batch is None else self.features[batch]
        y = self.labels if batch is None else self.labels[batch]
        w = self.weights(x)
        return cross_entropy(a @ w.T, y) + 0.5 * self.l2 * float(x @ x)

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        a = self.features if batch is None else self.features[batch]
        y = self.labels if batch is None else self.labels[batch]
        w = self.weights(x)
        g: FloatArray = (residual(a @ w.T, y).T @ a).ravel() + self.l2 * x
        return g

    def smoothness(self) -> float:
        a = self.features
        return 0.5 * float(np.linalg.eigvalsh(a.T @ a / a.shape[0])[-1]) + self.l2

    def predict(self, x: FloatArray, features: npt.ArrayLike) -> IndexArray:
        """The most likely class id of every row of ``features`` (ties: the lowest id)."""
        a = held_out(features, self._columns, self.kind)
        predicted: IndexArray = np.argmax(a @ self.weights(x).T, axis=1).astype(np.intp)
        return predicted

    def accuracy(self, x: FloatArray, features: npt.ArrayLike, labels: npt.ArrayLike) -> float:
        """The fraction of rows whose class ``predict`` gets right."""
        a = held_out(features, self._columns, self.kind)
        y = class_labels(labels, a.shape[0], self.classes)
        return float(np.mean(self.predict(x, a) == y))

    def loss(self, x: FloatArray, features: npt.ArrayLike, labels: npt.ArrayLike) -> float:
        """The mean cross-entropy on the given rows, without the l2 term."""
        a = held_out(features, self._columns, self.kind)
        y = class_labels(labels, a.shape[0], self.classes)
        return cross_entropy(a @ self.weights(x).T, y)

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays :meth:`from_arrays` rebuilds this objective from (``np.savez``-safe)."""
        return {
            "features": self.features,
            "labels": self.labels.astype(np.int64),
            "classes": np.array(self.classes, dtype=np.int64),
            "l2": np.array(self.l2),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]]) -> Softmax:
        k = cls.kind
        return cls(
            entry(arrays, "features", k),
            entry(arrays, "labels", k),
            classes=saved_int(arrays, "classes", k),
            l2=scalar(arrays, "l2", k),
        )
