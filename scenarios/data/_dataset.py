"""The :class:`Dataset` value: features, labels, names, task and where it came from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from ._refusal import Where, shown

Task: TypeAlias = Literal["regression", "classification"]
ClassValue: TypeAlias = int | float | str
FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]

TASKS: tuple[Task, ...] = ("regression", "classification")


def _frozen(array: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, kw_only=True, eq=False)
class Dataset:
    """A table of numeric features with one label per row.

    - ``features``: float64, ``n_rows x n_features``, every value finite.
    - ``labels``: float64 for ``task="regression"``; int64 class ids ``0..C-1`` for
      ``task="classification"``, where ``classes[k]`` is the original label value of id ``k``
      (``classes`` is empty for regression).
    - ``feature_names`` (one per column), ``label_name``, and ``source`` (the path, or
      ``builtin:NAME``), which error messages name.

    The arrays are copied on construction and read-only, so a Dataset is a value: derive
    new ones with :meth:`take` or :meth:`with_features`. Compare arrays, not Datasets
    (``==`` is identity).
    """

    features: FloatArray
    labels: FloatArray | IntArray
    feature_names: tuple[str, ...]
    label_name: str
    task: Task
    classes: tuple[ClassValue, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        where = Where(source=self.source or "dataset")
        features = np.array(self.features, dtype=np.float64, copy=True)
        if features.ndim != 2 or features.shape[0] < 1 or features.shape[1] < 1:
            raise where.refuse(
                f"features must be a 2-D array with at least one row and one column, "
                f"got shape {features.shape}"
            )
        bad = np.argwhere(~np.isfinite(features))
        if bad.size:
            row, col = (int(v) for v in bad[0])
            raise where.at_data_row(
                row,
                f"{shown(float(features[row, col]))} is not a finite number",
                column=f"feature column {col}",
            )
        names = tuple(self.feature_names)
        if len(names) != features.shape[1] or not all(isinstance(n, str) for n in names):
            raise where.refuse(
                f"feature_names must be {features.shape[1]} strings, got {len(names)}"
            )
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise where.refuse(f"feature name {shown(twice)} appears twice")
        if self.task not in TASKS:
            raise where.refuse(f"task must be one of {TASKS}, got {shown(self.task)}")
        labels = self._checked_labels(where, features.shape[0])
        object.__setattr__(self, "features", _frozen(features))
        object.__setattr__(self, "labels", _frozen(labels))
        object.__setattr__(self, "feature_names", names)
        object.__setattr__(self, "classes", tuple(self.classes))

    def _checked_labels(self, where: Where, n_rows: int) -> FloatArray | IntArray:
        raw = np.asarray(self.labels)
        if raw.shape != (n_rows,):
            raise where.refuse(f"labels must be 1-D with {n_rows} values, got shape {raw.shape}")
        column = f"label column {shown(self.label_name)}"
        if raw.dtype.kind not in "biuf":
            raise where.refuse(f"labels must be numeric, got dtype {raw.dtype}", column=column)
        if self.task == "regression":
            if self.classes:
                raise where.refuse("a regression dataset has no classes", column=column)
            labels = np.array(raw, dtype=np.float64, copy=True)
            bad = np.flatnonzero(~np.isfinite(labels))
            if bad.size:
                row = int(bad[0])
                raise where.at_data_row(
                    row, f"{shown(float(labels[row]))} is not a finite number", column=column
                )
            return labels
        n_classes = len(self.classes)
        if len(set(self.classes)) != n_classes:
            raise where.refuse("classes must be distinct", column=column)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(raw) & (np.asarray(raw, dtype=np.float64) % 1 == 0)
        ids = np.where(whole, raw, -1).astype(np.int64)
        bad = np.flatnonzero((ids < 0) | (ids >= n_classes))
        if bad.size:
            row = int(bad[0])
            raise where.at_data_row(
                row,
                f"class id {shown(raw[row].item())} is not one of 0..{n_classes - 1}",
                column=column,
            )
        return ids

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.features.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns."""
        return int(self.features.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return len(self.classes)

    def take(self, rows: npt.ArrayLike) -> Dataset:
        """The rows at these 0-based indices, in this order (for a partition's part or a split)."""
        index = np.asarray(rows)
        if index.ndim != 1 or index.dtype.kind not in "iu":
            raise Where(source=self.source or "dataset").refuse(
                "rows must be a 1-D array of integer indices"
            )
        if index.size and (index.min() < 0 or index.max() >= self.n_rows):
            raise Where(source=self.source or "dataset").refuse(
                f"row indices must be in 0..{self.n_rows - 1}"
            )
        return dataclasses.replace(self, features=self.features[index], labels=self.labels[index])

    def with_features(
        self, features: npt.ArrayLike, *, feature_names: tuple[str, ...] | None = None
    ) -> Dataset:
        """The same labels with other features (e.g. standardized)."""
        return dataclasses.replace(
            self,
            features=np.asarray(features, dtype=np.float64),
            feature_names=self.feature_names if feature_names is None else feature_names,
        )

    def column(self, name: str) -> FloatArray:
        """A copy of the feature column called ``name``."""
        if name not in self.feature_names:
            raise Where(source=self.source or "dataset").refuse(
                f"no feature column {shown(name)}; the columns are "
                + ", ".join(shown(n) for n in self.feature_names)
            )
        return np.array(self.features[:, self.feature_names.index(name)])
