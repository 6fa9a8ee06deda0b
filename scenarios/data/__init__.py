"""Datasets and partitions users bring: loaders, checks, splits, scaling, non-IID splits.

Load a :class:`Dataset` (``load_dataset("sites.csv", label="y")``, ``load_builtin("wine")``),
split and standardize it (:func:`train_test_split`, :class:`Standardizer` fitted on the
training rows), then partition the training rows across agents (:func:`iid`,
:func:`dirichlet`, :func:`quantity_skew`, :func:`by_column`) and take each agent's shard
(``partition.shards(train)``).

Bad data is refused before anything starts with one :class:`scenarios.BadInput` line that
names the file, the row and the column. Rows are 1-based: in a table with a header the
header is row 1 (so a row is a line of the file); in arrays the first data row is row 1.
Columns are given by name and 0-based index.
"""

from ._arrays import NPZ_FEATURES, NPZ_LABELS, load_npy, load_npz
from ._builtin import BUILTIN_NAMES, load_builtin
from ._dataset import TASKS, ClassValue, Dataset, Task
from ._labels import MAX_INFERRED_CLASSES, from_arrays
from ._partition import (
    Partition,
    by_column,
    dirichlet,
    iid,
    label_histograms,
    label_skew,
    quantity_skew,
)
from ._sources import FORMATS, SUFFIXES, load_dataset
from ._split import Standardizer, train_test_split
from ._svmlight import MAX_DENSE_CELLS, load_svmlight
from ._table import load_column, load_table

__all__ = [
    "BUILTIN_NAMES",
    "FORMATS",
    "MAX_DENSE_CELLS",
    "MAX_INFERRED_CLASSES",
    "NPZ_FEATURES",
    "NPZ_LABELS",
    "SUFFIXES",
    "TASKS",
    "ClassValue",
    "Dataset",
    "Partition",
    "Standardizer",
    "Task",
    "by_column",
    "dirichlet",
    "from_arrays",
    "iid",
    "label_histograms",
    "label_skew",
    "load_builtin",
    "load_column",
    "load_dataset",
    "load_npy",
    "load_npz",
    "load_svmlight",
    "load_table",
    "quantity_skew",
    "train_test_split",
]
