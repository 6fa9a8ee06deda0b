"""The small real datasets that scikit-learn ships (read from its package, no download)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import datasets as _sk  # type: ignore[import-untyped]

from ._dataset import ClassValue, Dataset, Task
from ._refusal import Where, shown

_LOADERS: dict[str, tuple[Callable[[], Any], Task]] = {
    "breast_cancer": (_sk.load_breast_cancer, "classification"),
    "diabetes": (_sk.load_diabetes, "regression"),
    "digits": (_sk.load_digits, "classification"),
    "iris": (_sk.load_iris, "classification"),
    "wine": (_sk.load_wine, "classification"),
}
BUILTIN_NAMES: tuple[str, ...] = tuple(sorted(_LOADERS))
"""breast_cancer (569 x 30, 2 classes), diabetes (442 x 10, regression; scikit-learn's
scaled features), digits (1797 x 64, 10 classes), iris (150 x 4, 3 classes),
wine (178 x 13, 3 classes)."""


def _class_value(value: Any) -> ClassValue:
    item = value.item() if isinstance(value, np.generic) else value
    return item if isinstance(item, int | float | str) else str(item)


def load_builtin(name: str) -> Dataset:
    """One of :data:`BUILTIN_NAMES` as a :class:`Dataset` (``source`` is ``builtin:NAME``).
    Class names are scikit-learn's ``target_names`` (digits: the integers 0..9)."""
    if name not in _LOADERS:
        raise Where(source=f"builtin:{name}").refuse(
            f"no built-in dataset {shown(name)}; the built-in datasets are "
            + ", ".join(BUILTIN_NAMES)
        )
    loader, task = _LOADERS[name]
    bunch = loader()
    labels = np.asarray(bunch.target)
    classes: tuple[ClassValue, ...] = ()
    if task == "classification":
        classes = tuple(_class_value(v) for v in bunch.target_names)
        labels = labels.astype(np.int64)
    return Dataset(
        features=np.asarray(bunch.data, dtype=np.float64),
        labels=labels,
        feature_names=tuple(str(n) for n in getattr(bunch, "feature_names", ())),
        label_name="target",
        task=task,
        classes=classes,
        source=f"builtin:{name}",
    )
