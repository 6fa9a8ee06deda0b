"""Train/test splits and a standardizer fitted on the training rows only."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._dataset import Dataset, FloatArray, IntArray
from ._refusal import Where, shown


def _test_rows_per_class(counts: IntArray, n_test: int) -> IntArray:
    """Test rows for each class, proportional to its size, summing to ``n_test``
    (largest remainder; ties go to the lower class id)."""
    quotas = counts * (n_test / counts.sum())
    base = np.floor(quotas).astype(np.int64)
    extra = n_test - int(base.sum())
    order = np.argsort(-(quotas - base), kind="stable")
    base[order[:extra]] += 1
    result: IntArray = base
    return result


def train_test_split(
    dataset: Dataset, test_fraction: float, *, seed: int, stratify: bool = True
) -> tuple[Dataset, Dataset]:
    """``(train, test)``: ``ceil(test_fraction * n_rows)`` rows drawn at random for the test
    set with ``numpy.random.default_rng(seed)``, the others for training, each kept in the
    dataset's row order. ``stratify`` (classification only) takes each class's share of the
    test rows in proportion to its size. Both sides must get at least one row."""
    where = Where(source=dataset.source or "dataset")
    if isinstance(test_fraction, bool) or not 0.0 < float(test_fraction) < 1.0:
        raise where.refuse(f"test_fraction must be in (0, 1), got {shown(test_fraction)}")
    n = dataset.n_rows
    n_test = math.ceil(float(test_fraction) * n)
    if n_test >= n:
        raise where.refuse(
            f"test_fraction {test_fraction} of {n} rows leaves no training row", column="all"
        )
    rng = np.random.default_rng(seed)
    if stratify and dataset.task == "classification":
        labels = dataset.labels
        present = np.unique(labels)
        counts = np.array([np.count_nonzero(labels == c) for c in present], dtype=np.int64)
        per_class = _test_rows_per_class(counts, n_test)
        test = np.concatenate(
            [
                rng.permutation(np.flatnonzero(labels == c))[:k]
                for c, k in zip(present, per_class, strict=True)
            ]
        )
    else:
        test = rng.permutation(n)[:n_test]
    is_test = np.zeros(n, dtype=bool)
    is_test[test] = True
    return dataset.take(np.flatnonzero(~is_test)), dataset.take(np.flatnonzero(is_test))


@dataclass(frozen=True, kw_only=True, eq=False)
class Standardizer:
    """``(x - mean) / scale`` per feature column. Fit it on the training rows only
    (:meth:`fit`) and apply it to every split (:meth:`apply`). ``scale`` is the population
    standard deviation; a constant column keeps scale 1 (it becomes all zeros).

    Stored as two plain float64 arrays; :meth:`to_dict` / :meth:`from_dict` give and take
    JSON-ready lists, and reproduce the same arrays bit for bit."""

    mean: FloatArray
    scale: FloatArray

    def __post_init__(self) -> None:
        where = Where(source="standardizer")
        mean = np.array(self.mean, dtype=np.float64, copy=True)
        scale = np.array(self.scale, dtype=np.float64, copy=True)
        if mean.ndim != 1 or mean.shape != scale.shape or mean.size < 1:
            raise where.refuse("mean and scale must be 1-D arrays of one length")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise where.refuse("mean must be finite and scale finite and positive")
        mean.setflags(write=False)
        scale.setflags(write=False)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "scale", scale)

    @classmethod
    def fit(cls, train: Dataset | npt.ArrayLike) -> Standardizer:
        """Mean and scale of the training features (a :class:`Dataset` or an n x d array)."""
        features = np.asarray(train.features if isinstance(train, Dataset) else train, float)
        if features.ndim != 2 or features.shape[0] < 1:
            raise Where(source="standardizer").refuse("fit needs a 2-D array with rows")
        mean = features.mean(axis=0)
        constant = features.max(axis=0) == features.min(axis=0)
        scale = np.where(constant, 1.0, features.std(axis=0))
        return cls(mean=mean, scale=scale)

    def transform(self, features: npt.ArrayLike) -> FloatArray:
        """Standardized copy of an n x d array."""
        array = np.asarray(features, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] != self.mean.size:
            raise Where(source="standardizer").refuse(
                f"fitted on {self.mean.size} features, given shape {array.shape}"
            )
        result: FloatArray = (array - self.mean) / self.scale
        return result

    def apply(self, dataset: Dataset) -> Dataset:
        """The dataset with standardized features (labels and names unchanged)."""
        return dataset.with_features(self.transform(dataset.features))

    def to_dict(self) -> dict[str, list[float]]:
        """``{"mean": [...], "scale": [...]}`` (floats round-trip exactly through JSON)."""
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        """The inverse of :meth:`to_dict`."""
        try:
            return cls(mean=np.asarray(data["mean"]), scale=np.asarray(data["scale"]))
        except (KeyError, TypeError) as exc:
            raise Where(source="standardizer").refuse(
                "needs 'mean' and 'scale' lists of numbers"
            ) from exc
