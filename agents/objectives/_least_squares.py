"""Least squares and ridge regression: f_i(x) = (1/2m)||A x - b||^2 (+ (l2/2)||x||^2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from ._data import entry, regularization, row_vector, samples_matrix, scalar
from ._protocol import FloatArray, IndexArray


@dataclass(frozen=True, eq=False)
class LeastSquares:
    """f_i(x) = (1/2m) ||A x - b||^2."""

    kind: ClassVar[str] = "least_squares"

    features: FloatArray
    targets: FloatArray
    _ata: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        a = samples_matrix(self.features)
        y = row_vector(self.targets, a.shape[0], "targets")
        object.__setattr__(self, "features", a)
        object.__setattr__(self, "targets", y)
        object.__setattr__(self, "_ata", a.T @ a / a.shape[0])

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    @property
    def samples(self) -> int:
        return int(self.features.shape[0])

    def value(self, x: FloatArray, batch: IndexArray | None = None) -> float:
        """f_i(x), or the same loss averaged over ``batch`` only."""
        a = self.features if batch is None else self.features[batch]
        y = self.targets if batch is None else self.targets[batch]
        r = a @ x - y
        return float(r @ r) / (2 * int(a.shape[0]))

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

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays :meth:`from_arrays` rebuilds this objective from (``np.savez``-safe)."""
        return {"features": self.features, "targets": self.targets}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]]) -> LeastSquares:
        return cls(entry(arrays, "features", cls.kind), entry(arrays, "targets", cls.kind))


@dataclass(frozen=True, eq=False)
class Ridge(LeastSquares):
    """f_i(x) = (1/2m) ||A x - b||^2 + (l2/2) ||x||^2: least squares plus an l2 term.

    Its Hessian is A^T A / m + l2 I everywhere, so ``smoothness()`` is exactly
    lambda_max(A^T A / m) + l2, and ``normal_equations()`` summed over agents give x*.
    """

    kind: ClassVar[str] = "ridge"

    _: KW_ONLY
    l2: float

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "l2", regularization(self.l2))

    def value(self, x: FloatArray, batch: IndexArray | None = None) -> float:
        """f_i(x), or the data term averaged over ``batch`` only (plus the full l2 term)."""
        return super().value(x, batch) + 0.5 * self.l2 * float(x @ x)

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        result: FloatArray = super().gradient(x, batch) + self.l2 * x
        return result

    def smoothness(self) -> float:
        return super().smoothness() + self.l2

    def normal_equations(self) -> tuple[FloatArray, FloatArray]:
        """(A^T A / m + l2 I, A^T b / m): summed over agents they give x* in closed form."""
        ata, atb = super().normal_equations()
        hessian: FloatArray = ata + self.l2 * np.eye(self.dim)
        return hessian, atb

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays :meth:`from_arrays` rebuilds this objective from (``np.savez``-safe)."""
        return {**super().to_arrays(), "l2": np.array(self.l2)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]]) -> Ridge:
        k = cls.kind
        return cls(
            entry(arrays, "features", k), entry(arrays, "targets", k), l2=scalar(arrays, "l2", k)
        )
