"""NumPy files: ``.npy`` (one 2-D table) and ``.npz`` (named arrays). Never unpickled.

Rows in messages count from 1 (the first data row is row 1); columns are 0-based indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ._columns import ColumnRef, select_columns
from ._dataset import Dataset
from ._labels import arrays_dataset, check_finite_features, check_task, encode_labels
from ._refusal import Where, column_named, shown

NPZ_FEATURES = ("features", "X")
NPZ_LABELS = ("labels", "y")


def _load(path: Path, where: Where) -> npt.NDArray[np.generic] | np.lib.npyio.NpzFile:
    try:
        loaded: npt.NDArray[np.generic] | np.lib.npyio.NpzFile = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise where.refuse(
            f"cannot read the file: {exc.strerror or exc} (no row or column was read)"
        ) from exc
    except (ValueError, EOFError) as exc:
        raise where.refuse(
            f"not a NumPy file this loader reads ({exc}; object arrays need pickle and are refused)"
        ) from exc
    return loaded


def load_npy(
    path: str | Path,
    *,
    label: ColumnRef | None = None,
    features: Sequence[ColumnRef] | None = None,
    task: str | None = None,
) -> Dataset:
    """A ``.npy`` file holding one numeric 2-D array, one row per record. The label column
    and the feature columns are chosen as in :func:`load_table` (0-based indices or the
    names ``col0, col1, ...``; default: the last column is the label)."""
    where = Where(source=str(path))
    checked_task = check_task(task, where)
    array = _load(Path(path), where)
    if not isinstance(array, np.ndarray):
        array.close()
        raise where.refuse("holds several arrays (an .npz archive): use load_npz")
    if array.ndim != 2 or array.shape[0] < 1:
        raise where.refuse(f"needs a 2-D array with at least one row, got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise where.refuse(f"needs a numeric array, got dtype {array.dtype}")
    names = [f"col{j}" for j in range(array.shape[1])]
    label_index, feature_indices = select_columns(
        names, label=label, features=features, where=where
    )
    matrix = array[:, feature_indices].astype(np.float64)
    check_finite_features(matrix, [names[j] for j in feature_indices], feature_indices, where)
    labels, found_task, classes = encode_labels(
        array[:, label_index],
        task=checked_task,
        where=where,
        column=column_named(names[label_index], label_index),
    )
    return Dataset(
        features=matrix,
        labels=labels,
        feature_names=tuple(names[j] for j in feature_indices),
        label_name=names[label_index],
        task=found_task,
        classes=classes,
        source=where.source,
    )


def _one_of(archive: np.lib.npyio.NpzFile, keys: tuple[str, ...], where: Where) -> str:
    present = [k for k in keys if k in archive.files]
    if len(present) != 1:
        found = ", ".join(shown(f) for f in archive.files) or "none"
        raise where.refuse(
            f"needs exactly one array named {' or '.join(map(repr, keys))}; arrays found: {found}"
        )
    return present[0]


def load_npz(path: str | Path, *, task: str | None = None) -> Dataset:
    """A ``.npz`` archive with a 2-D numeric array named ``features`` (or ``X``) and a 1-D
    array named ``labels`` (or ``y``: numbers or strings), one label per row. Optional:
    ``feature_names`` (1-D strings, one per column) and ``label_name`` (a 0-d string).
    Other arrays are ignored."""
    where = Where(source=str(path))
    archive = _load(Path(path), where)
    if isinstance(archive, np.ndarray):
        raise where.refuse("holds a single array (an .npy file): use load_npy")
    with archive:
        try:
            features = archive[_one_of(archive, NPZ_FEATURES, where)]
            labels = archive[_one_of(archive, NPZ_LABELS, where)]
            names = archive["feature_names"] if "feature_names" in archive.files else None
            label_name = archive["label_name"] if "label_name" in archive.files else None
        except ValueError as exc:
            raise where.refuse(f"an array cannot be read without pickle ({exc})") from exc
    if names is not None and (names.ndim != 1 or names.dtype.kind not in "US"):
        raise where.refuse("feature_names must be a 1-D array of strings")
    if label_name is not None and (label_name.ndim != 0 or label_name.dtype.kind not in "US"):
        raise where.refuse("label_name must be a 0-d string array")
    return arrays_dataset(
        features,
        labels,
        feature_names=None if names is None else [str(n) for n in names.tolist()],
        label_name="label" if label_name is None else str(label_name.item()),
        task=task,
        where=where,
    )
