"""LIBSVM / SVMlight files, read by scikit-learn and densified.

Rows in messages are the file's line numbers; columns are the feature indices as written.
scikit-learn's parser is fast but does not say where a file is wrong: when it refuses a
file, or reads NaN or infinity, the file is scanned again here to name the line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_file  # type: ignore[import-untyped]

from ._dataset import Dataset
from ._labels import check_task, encode_labels
from ._refusal import LINE_NOTE, Where, shown

MAX_DENSE_CELLS = 20_000_000
"""The largest rows x features a LIBSVM file may densify to (160 MB of float64)."""

Problem = tuple[int, str, str]


def _content(line: str) -> str:
    return line.split("#", 1)[0].strip()


def _data_lines(path: Path) -> Callable[[int], int]:
    """Maps a data row's 0-based index to its line in the file (read when first needed)."""
    lines: list[int] = []

    def row_of(index: int) -> int:
        if not lines:
            text = path.read_text(encoding="utf-8", errors="replace")
            lines.extend(n for n, line in enumerate(text.splitlines(), 1) if _content(line))
        return lines[index] if index < len(lines) else index + 1

    return row_of


def _token_problem(token: str, previous: int) -> tuple[int | None, str | None]:
    """The token's feature index, or a description of what is wrong with it."""
    index_text, colon, value_text = token.partition(":")
    if not colon:
        return None, f"{shown(token)} is not index:value"
    try:
        index = int(index_text)
    except ValueError:
        return None, f"feature index {shown(index_text)} is not an integer"
    try:
        value = float(value_text)
    except ValueError:
        return index, f"value {shown(value_text)} is not a number"
    if not math.isfinite(value):
        return (
            index,
            f"value {shown(value_text)} is not a finite number (NaN and infinity are refused)",
        )
    if index < 0 or index <= previous:
        return index, "feature indices must be non-negative and increase along a line"
    return index, None


def _first_problem(path: Path, n_features: int | None) -> Problem | None:
    """The first line, column and complaint that make the file unreadable or non-finite."""
    text = path.read_text(encoding="utf-8", errors="replace")
    widest: tuple[int, int] | None = None
    zero_based = False
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = _content(line).split()
        if not tokens:
            continue
        try:
            label = float(tokens[0])
        except ValueError:
            return number, "the label", f"label {shown(tokens[0])} is not a number"
        if not math.isfinite(label):
            return number, "the label", f"label {shown(tokens[0])} is not a finite number"
        previous = -1
        for token in tokens[1:]:
            if token.startswith("qid:"):
                continue
            index, complaint = _token_problem(token, previous)
            column = "feature token" if index is None else f"feature {index} (as written)"
            if complaint is not None:
                return number, column, complaint
            assert index is not None
            previous = index
            zero_based = zero_based or index == 0
            if widest is None or index > widest[1]:
                widest = (number, index)
    if n_features is not None and widest is not None:
        count = widest[1] + (1 if zero_based else 0)
        if count > n_features:
            return (
                widest[0],
                f"feature {widest[1]} (as written)",
                (f"needs {count} features where n_features={n_features}"),
            )
    return None


def _refused(where: Where, path: Path, n_features: int | None, fallback: str) -> Exception:
    problem = _first_problem(path, n_features)
    if problem is None:
        return where.refuse(fallback)
    line, column, complaint = problem
    return where.refuse(complaint, row=line, column=column)


def load_svmlight(
    path: str | Path, *, n_features: int | None = None, task: str | None = None
) -> Dataset:
    """A LIBSVM/SVMlight file (``label index:value ...``, one row per line, ``#`` comments)
    as a dense :class:`Dataset`. Feature indices may be 0- or 1-based (detected);
    ``n_features`` fixes the width (e.g. to match a test file). Refused above
    :data:`MAX_DENSE_CELLS` rows x features. Features are named ``f0, f1, ...`` (0-based
    column positions); the task is inferred as for tables unless given."""
    path = Path(path)
    where = Where(source=str(path), row_note=LINE_NOTE, row_of=_data_lines(path))
    checked_task = check_task(task, where)
    if n_features is not None and (isinstance(n_features, bool) or n_features < 1):
        raise where.refuse(f"n_features must be a positive integer, got {shown(n_features)}")
    try:
        matrix, labels = load_svmlight_file(
            str(path), n_features=n_features, dtype=np.float64, multilabel=False
        )
    except OSError as exc:
        raise where.refuse(
            f"cannot read the file: {exc.strerror or exc} (no row or column was read)"
        ) from exc
    except ValueError as exc:
        raise _refused(where, path, n_features, f"not a LIBSVM file: {exc}") from exc
    rows, columns = matrix.shape
    if rows == 0:
        raise where.refuse("the file has no data rows", row=1, column="all columns")
    if rows * columns > MAX_DENSE_CELLS:
        raise where.refuse(
            f"{rows} rows x {columns} features = {rows * columns} values is over the limit of "
            f"{MAX_DENSE_CELLS} (MAX_DENSE_CELLS) for a dense dataset"
        )
    dense = np.asarray(matrix.toarray(), dtype=np.float64)
    if not (np.isfinite(dense).all() and np.isfinite(labels).all()):
        raise _refused(where, path, n_features, "NaN or infinity in the file")
    ids, found_task, classes = encode_labels(
        np.asarray(labels, dtype=np.float64), task=checked_task, where=where, column="the label"
    )
    return Dataset(
        features=dense,
        labels=ids,
        feature_names=tuple(f"f{j}" for j in range(columns)),
        label_name="label",
        task=found_task,
        classes=classes,
        source=where.source,
    )
