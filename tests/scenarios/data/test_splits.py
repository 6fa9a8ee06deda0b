"""Seeded train/test splits and a standardizer fitted on the training rows only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scenarios import BadInput
from scenarios.data import Standardizer, from_arrays, load_builtin, train_test_split


def test_split_is_seeded_disjoint_and_complete() -> None:
    ds = load_builtin("wine")
    train, test = train_test_split(ds, 0.25, seed=3)
    assert test.n_rows == 45
    assert train.n_rows == 133
    again_train, _ = train_test_split(ds, 0.25, seed=3)
    np.testing.assert_array_equal(train.features, again_train.features)
    other_train, _ = train_test_split(ds, 0.25, seed=4)
    assert not np.array_equal(train.features, other_train.features)
    rows = np.concatenate([train.features, test.features])
    assert np.unique(rows, axis=0).shape[0] == ds.n_rows


def test_stratified_split_keeps_class_shares() -> None:
    ds = load_builtin("breast_cancer")
    _, test = train_test_split(ds, 0.2, seed=0)
    share = np.bincount(test.labels) / test.n_rows
    overall = np.bincount(ds.labels) / ds.n_rows
    np.testing.assert_allclose(share, overall, atol=0.01)


def test_split_of_a_regression_dataset_ignores_stratify() -> None:
    ds = load_builtin("diabetes")
    train, test = train_test_split(ds, 0.1, seed=0)
    assert (train.n_rows, test.n_rows) == (397, 45)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.5, 0.99])
def test_split_refuses_fractions_that_empty_a_side(fraction: float) -> None:
    ds = from_arrays(np.arange(10.0).reshape(5, 2), [0, 1, 0, 1, 0])
    with pytest.raises(BadInput, match="test_fraction"):
        train_test_split(ds, fraction, seed=0)


def test_standardizer_uses_training_rows_only() -> None:
    ds = load_builtin("iris")
    train, test = train_test_split(ds, 0.3, seed=1)
    fitted = Standardizer.fit(train)
    shifted_test = test.with_features(test.features + 100.0)
    np.testing.assert_array_equal(fitted.mean, Standardizer.fit(train).mean)
    np.testing.assert_array_equal(fitted.mean, train.features.mean(axis=0))
    assert not np.allclose(fitted.mean, Standardizer.fit(shifted_test).mean)
    scaled_train = fitted.apply(train)
    np.testing.assert_allclose(scaled_train.features.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled_train.features.std(axis=0), 1.0)
    scaled_test = fitted.apply(shifted_test)
    np.testing.assert_allclose(
        scaled_test.features, (test.features + 100.0 - fitted.mean) / fitted.scale
    )


def test_constant_columns_keep_scale_one() -> None:
    features = np.array([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]])
    fitted = Standardizer.fit(features)
    np.testing.assert_array_equal(fitted.scale[1], 1.0)
    np.testing.assert_array_equal(fitted.transform(features)[:, 1], 0.0)


def test_standardizer_is_plain_arrays_and_round_trips_through_json() -> None:
    fitted = Standardizer.fit(load_builtin("wine").features)
    restored = Standardizer.from_dict(json.loads(json.dumps(fitted.to_dict())))
    np.testing.assert_array_equal(restored.mean, fitted.mean)
    np.testing.assert_array_equal(restored.scale, fitted.scale)
    assert isinstance(fitted.mean, np.ndarray)
    assert fitted.mean.dtype == np.float64
    with pytest.raises(BadInput, match="fitted on 13 features"):
        fitted.transform(np.ones((2, 3)))
