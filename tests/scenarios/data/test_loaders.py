"""Every loader reads back a small file the test writes, in each format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import dump_svmlight_file  # type: ignore[import-untyped]

from scenarios.data import (
    Dataset,
    from_arrays,
    load_column,
    load_dataset,
    load_npy,
    load_npz,
    load_svmlight,
    load_table,
)

FEATURES = np.array([[1.5, -2.0], [0.0, 3.25], [4.0, 1e-3], [-7.5, 2.0]])
LABELS = np.array([0, 1, 1, 0])


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _table_text(delimiter: str, *, header: bool = True) -> str:
    lines = [delimiter.join(["a", "b", "y"])] if header else []
    for row, label in zip(FEATURES, LABELS, strict=True):
        lines.append(delimiter.join([repr(float(v)) for v in row] + [str(label)]))
    return "\n".join(lines) + "\n"


def _assert_round_trip(ds: Dataset, names: tuple[str, ...] = ("a", "b")) -> None:
    assert ds.features.dtype == np.float64
    np.testing.assert_array_equal(ds.features, FEATURES)
    assert ds.labels.dtype == np.int64
    np.testing.assert_array_equal(ds.labels, LABELS)
    assert ds.task == "classification"
    assert ds.classes == (0, 1)
    assert ds.feature_names == names


@pytest.mark.parametrize(
    ("delimiter", "suffix"),
    [(",", ".csv"), (";", ".csv"), ("\t", ".csv"), ("\t", ".tsv"), (" ", ".txt")],
)
def test_table_with_header_round_trips_with_a_sniffed_delimiter(
    tmp_path: Path, delimiter: str, suffix: str
) -> None:
    path = _write(tmp_path / f"t{suffix}", _table_text(delimiter))
    ds = load_table(path)
    _assert_round_trip(ds)
    assert ds.label_name == "y"
    assert ds.source == str(path)
    _assert_round_trip(load_dataset(path))


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_table_without_header_names_columns_by_index(tmp_path: Path, delimiter: str) -> None:
    path = _write(tmp_path / "t.csv", _table_text(delimiter, header=False))
    ds = load_table(path, header=False)
    _assert_round_trip(ds, names=("col0", "col1"))
    assert ds.label_name == "col2"


def test_explicit_delimiter_is_used(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.dat", _table_text(";"))
    _assert_round_trip(load_table(path, delimiter=";"))
    _assert_round_trip(load_dataset(path, format="table", delimiter=";"))


def test_quoted_fields_keep_their_delimiters(tmp_path: Path) -> None:
    text = 'name,"x, first",x2,label\n"Doe, J",1,2,yes\n"Roe; R",3,4,no\n"Poe ""E""",5,6,yes\n'
    path = _write(tmp_path / "q.csv", text)
    ds = load_table(path, features=["x, first", "x2"])
    np.testing.assert_array_equal(ds.features, [[1, 2], [3, 4], [5, 6]])
    assert ds.classes == ("no", "yes")
    np.testing.assert_array_equal(ds.labels, [1, 0, 1])
    np.testing.assert_array_equal(load_column(path, "name"), ["Doe, J", "Roe; R", 'Poe "E"'])


def test_label_and_features_by_name_and_index(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "y,a,skip,b\n1.5,1,9,2\n2.5,3,9,4\n3.5,5,9,6\n")
    by_name = load_table(path, label="y", features=["b", "a"])
    by_index = load_table(path, label=0, features=[3, 1])
    for ds in (by_name, by_index):
        np.testing.assert_array_equal(ds.features, [[2, 1], [4, 3], [6, 5]])
        assert ds.feature_names == ("b", "a")
        assert ds.task == "regression"
        assert ds.labels.dtype == np.float64
        np.testing.assert_array_equal(ds.labels, [1.5, 2.5, 3.5])
    everything_else = load_table(path, label="y")
    assert everything_else.feature_names == ("a", "skip", "b")


def test_task_inference_and_override(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "a,y\n1,-1\n2,1\n3,1\n4,-1\n")
    ds = load_table(path)
    assert ds.task == "classification"
    assert ds.classes == (-1, 1)
    np.testing.assert_array_equal(ds.labels, [0, 1, 1, 0])
    as_regression = load_table(path, task="regression")
    np.testing.assert_array_equal(as_regression.labels, [-1.0, 1.0, 1.0, -1.0])
    many = _write(tmp_path / "many.csv", "a,y\n" + "".join(f"{i},{i}\n" for i in range(30)))
    assert load_table(many).task == "regression"
    assert load_table(many, task="classification").n_classes == 30


def test_categorical_columns_one_hot_on_request(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.csv", "city,x,y\nParis,1,0\nLyon,2,1\nParis,3,1\n")
    ds = load_table(path, categorical="onehot")
    assert ds.feature_names == ("city=Lyon", "city=Paris", "x")
    np.testing.assert_array_equal(ds.features, [[0, 1, 1], [1, 0, 2], [0, 1, 3]])


def test_blank_lines_and_a_byte_order_mark_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _table_text(",").replace("\n", "\n\n", 1).encode())
    _assert_round_trip(load_table(path))


def test_npy_round_trips_with_the_label_column_chosen(tmp_path: Path) -> None:
    path = tmp_path / "t.npy"
    np.save(path, np.column_stack([LABELS, FEATURES]))
    ds = load_npy(path, label=0)
    _assert_round_trip(ds, names=("col1", "col2"))
    last = tmp_path / "last.npy"
    np.save(last, np.column_stack([FEATURES, LABELS]))
    _assert_round_trip(load_dataset(last), names=("col0", "col1"))


@pytest.mark.parametrize(("x_key", "y_key"), [("features", "labels"), ("X", "y")])
def test_npz_round_trips_under_either_pair_of_names(tmp_path: Path, x_key: str, y_key: str) -> None:
    path = tmp_path / "t.npz"
    arrays: dict[str, Any] = {x_key: FEATURES, y_key: LABELS}  # numpy's stubs: Any, not bool
    np.savez(path, **arrays)
    _assert_round_trip(load_npz(path), names=("x0", "x1"))
    _assert_round_trip(load_dataset(path), names=("x0", "x1"))


def test_npz_carries_names_and_string_labels(tmp_path: Path) -> None:
    path = tmp_path / "t.npz"
    np.savez(
        path,
        X=FEATURES,
        y=np.array(["b", "a", "a", "b"]),
        feature_names=np.array(["a", "b"]),
        label_name=np.array("kind"),
    )
    ds = load_npz(path)
    np.testing.assert_array_equal(ds.features, FEATURES)
    assert ds.classes == ("a", "b")
    np.testing.assert_array_equal(ds.labels, [1, 0, 0, 1])
    assert ds.feature_names == ("a", "b")
    assert ds.label_name == "kind"


@pytest.mark.parametrize("suffix", [".svm", ".libsvm", ".svmlight"])
def test_svmlight_round_trips_densified(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    dump_svmlight_file(FEATURES, LABELS, str(path), zero_based=False)
    ds = load_svmlight(path)
    _assert_round_trip(ds, names=("f0", "f1"))
    _assert_round_trip(load_dataset(path), names=("f0", "f1"))


def test_svmlight_n_features_widens_and_comments_are_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.svm", "# a comment\n1 1:2.5 3:1\n\n-1 2:4  # trailing\n")
    ds = load_svmlight(path, n_features=5)
    assert ds.features.shape == (2, 5)
    np.testing.assert_array_equal(ds.features, [[2.5, 0, 1, 0, 0], [0, 4, 0, 0, 0]])
    assert ds.classes == (-1, 1)


def test_dataset_take_and_column() -> None:
    ds = from_arrays(FEATURES, LABELS, feature_names=["a", "b"])
    part = ds.take(np.array([2, 0]))
    np.testing.assert_array_equal(part.features, FEATURES[[2, 0]])
    np.testing.assert_array_equal(part.labels, LABELS[[2, 0]])
    np.testing.assert_array_equal(ds.column("b"), FEATURES[:, 1])
    assert not ds.features.flags.writeable
