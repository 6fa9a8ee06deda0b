"""Labels as loaders read them (numbers or strings) turned into a task and class ids.

Task inference (``task=None``): labels that are not all numbers are classes; numeric labels
that are all whole numbers with at most :data:`MAX_INFERRED_CLASSES` distinct values are
classes; any other numeric labels are a regression target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ._dataset import TASKS, ClassValue, Dataset, FloatArray, IntArray, Task
from ._refusal import Where, column_named, shown

MAX_INFERRED_CLASSES = 20


def check_task(task: str | None, where: Where) -> Task | None:
    """``task`` as given, refused unless it is None or one of :data:`TASKS`."""
    if task is None:
        return None
    for known in TASKS:
        if task == known:
            return known
    raise where.refuse(f"task must be one of {TASKS} or None (inferred), got {shown(task)}")


def _as_numbers(raw: Sequence[str]) -> tuple[FloatArray, int | None]:
    """The values as floats, and the index of the first one that is not a number (or None)."""
    values = np.empty(len(raw), dtype=np.float64)
    for i, text in enumerate(raw):
        try:
            values[i] = float(text)
        except ValueError:
            return values, i
    return values, None


def encode_labels(
    raw: Sequence[str] | npt.NDArray[np.generic],
    *,
    task: Task | None,
    where: Where,
    column: str,
) -> tuple[FloatArray | IntArray, Task, tuple[ClassValue, ...]]:
    """Labels, task and classes from raw label values (strings from a text file, or an array).

    Refused: a missing (empty) label, NaN or infinity, a non-number for a regression task,
    a non-whole number for a classification task, fewer than two distinct classes."""
    array = np.asarray(raw)
    if array.dtype.kind in "US":
        texts = [str(v).strip() for v in array.tolist()]
        for i, text in enumerate(texts):
            if not text:
                raise where.at_data_row(i, "missing label (empty value)", column=column)
        numbers, first_text = _as_numbers(texts)
        if first_text is not None:
            if task == "regression":
                raise where.at_data_row(
                    first_text,
                    f"label {shown(texts[first_text])} is not a number (task='regression')",
                    column=column,
                )
            classes = tuple(sorted(set(texts)))
            _need_two(classes, len(texts), where, column)
            lookup = {c: k for k, c in enumerate(classes)}
            return np.array([lookup[t] for t in texts], dtype=np.int64), "classification", classes
    elif array.dtype.kind in "biuf":
        numbers = np.asarray(array, dtype=np.float64)
    else:
        raise where.refuse(f"labels must be numbers or strings, got dtype {array.dtype}")
    return _numeric_labels(numbers, task=task, where=where, column=column)


def _numeric_labels(
    numbers: FloatArray, *, task: Task | None, where: Where, column: str
) -> tuple[FloatArray | IntArray, Task, tuple[ClassValue, ...]]:
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        i = int(bad[0])
        raise where.at_data_row(
            i, f"label {shown(float(numbers[i]))} is not a finite number", column=column
        )
    whole = numbers % 1 == 0
    if task is None:
        few = np.unique(numbers).size <= MAX_INFERRED_CLASSES
        task = "classification" if bool(whole.all()) and few else "regression"
    if task == "regression":
        return numbers, task, ()
    if not whole.all():
        i = int(np.flatnonzero(~whole)[0])
        raise where.at_data_row(
            i,
            f"label {shown(float(numbers[i]))} is not a whole number, so it cannot be a class "
            "(use task='regression', or integer or string labels)",
            column=column,
        )
    values, ids = np.unique(numbers, return_inverse=True)
    classes: tuple[ClassValue, ...] = tuple(int(v) for v in values)
    _need_two(classes, numbers.size, where, column)
    return ids.astype(np.int64).reshape(-1), task, classes


def _need_two(classes: tuple[ClassValue, ...], n_rows: int, where: Where, column: str) -> None:
    if len(classes) < 2:
        raise where.refuse(
            f"every one of the {n_rows} rows has the label {shown(classes[0])}: "
            "a classification task needs at least two classes",
            row=where.row_of(0),
            column=column,
        )


def check_finite_features(
    features: FloatArray, names: Sequence[str], columns: Sequence[int], where: Where
) -> None:
    """Refuse NaN or infinity, naming the row and the source column (``columns[j]`` is the
    index in the file of feature ``j``)."""
    bad = np.argwhere(~np.isfinite(features))
    if bad.size:
        i, j = (int(v) for v in bad[0])
        raise where.at_data_row(
            i,
            f"{shown(float(features[i, j]))} is not a finite number (NaN and infinity are refused)",
            column=column_named(names[j], columns[j]),
        )


def from_arrays(
    features: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    feature_names: Sequence[str] | None = None,
    label_name: str = "label",
    task: str | None = None,
    source: str = "arrays",
) -> Dataset:
    """A :class:`Dataset` from in-memory arrays: numeric ``features`` (n x d) and ``labels``
    (n numbers or strings), with the same checks and task inference as the file loaders.
    Feature names default to ``x0, x1, ...``; ``source`` is what messages name."""
    return arrays_dataset(
        features,
        labels,
        feature_names=feature_names,
        label_name=label_name,
        task=task,
        where=Where(source=source),
    )


def arrays_dataset(
    features: npt.ArrayLike,
    labels: npt.ArrayLike,
    *,
    feature_names: Sequence[str] | None,
    label_name: str,
    task: str | None,
    where: Where,
) -> Dataset:
    """:func:`from_arrays` with messages located by ``where``."""
    checked_task = check_task(task, where)
    matrix = np.asarray(features)
    if matrix.ndim != 2 or matrix.shape[0] < 1 or matrix.shape[1] < 1:
        raise where.refuse(
            f"features must be 2-D with at least one row and one column, got shape {matrix.shape}"
        )
    if matrix.dtype.kind not in "biuf":
        raise where.refuse(f"features must be numeric, got dtype {matrix.dtype}")
    matrix = matrix.astype(np.float64)
    names = (
        tuple(f"x{j}" for j in range(matrix.shape[1]))
        if feature_names is None
        else tuple(str(n) for n in feature_names)
    )
    if len(names) != matrix.shape[1]:
        raise where.refuse(f"{len(names)} feature names for {matrix.shape[1]} feature columns")
    check_finite_features(matrix, names, range(matrix.shape[1]), where)
    raw = np.asarray(labels)
    if raw.ndim != 1 or raw.shape[0] != matrix.shape[0]:
        raise where.refuse(
            f"labels must be 1-D with one value per row ({matrix.shape[0]}), got shape {raw.shape}"
        )
    ids, found_task, classes = encode_labels(
        raw, task=checked_task, where=where, column=f"label {shown(label_name)}"
    )
    return Dataset(
        features=matrix,
        labels=ids,
        feature_names=names,
        label_name=label_name,
        task=found_task,
        classes=classes,
        source=where.source,
    )
