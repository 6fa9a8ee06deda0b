"""The datasets scikit-learn ships load with their known shapes, no download."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.data import BUILTIN_NAMES, load_builtin, load_dataset


@pytest.mark.parametrize(
    ("name", "shape", "task", "n_classes"),
    [
        ("breast_cancer", (569, 30), "classification", 2),
        ("digits", (1797, 64), "classification", 10),
        ("wine", (178, 13), "classification", 3),
        ("diabetes", (442, 10), "regression", 0),
        ("iris", (150, 4), "classification", 3),
    ],
)
def test_builtin_shapes(name: str, shape: tuple[int, int], task: str, n_classes: int) -> None:
    ds = load_builtin(name)
    assert ds.features.shape == shape
    assert ds.task == task
    assert ds.n_classes == n_classes
    assert len(ds.feature_names) == shape[1]
    assert ds.source == f"builtin:{name}"
    expected = np.int64 if task == "classification" else np.float64
    assert ds.labels.dtype == expected
    if n_classes:
        assert set(np.unique(ds.labels).tolist()) == set(range(n_classes))
    np.testing.assert_array_equal(load_dataset(f"builtin:{name}").features, ds.features)


def test_builtin_names_and_class_values() -> None:
    assert BUILTIN_NAMES == ("breast_cancer", "diabetes", "digits", "iris", "wine")
    assert load_builtin("breast_cancer").classes == ("malignant", "benign")
    assert load_builtin("digits").classes == tuple(range(10))
