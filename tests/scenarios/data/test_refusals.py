"""Bad data is refused with one BadInput line naming the file, the row and the column.

Rows are 1-based; in a table with a header the header is row 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scenarios import BadInput
from scenarios.data import (
    MAX_DENSE_CELLS,
    dirichlet,
    iid,
    load_builtin,
    load_dataset,
    load_npy,
    load_npz,
    load_svmlight,
    load_table,
    quantity_skew,
)


def _refused(call: object, *fragments: str) -> str:
    assert callable(call)
    with pytest.raises(BadInput) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def _csv(tmp_path: Path, text: str, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-Infinity"])
def test_nan_or_infinity_in_a_feature(tmp_path: Path, value: str) -> None:
    path = _csv(tmp_path, f"a,b,y\n1,2,0\n3,{value},1\n")
    _refused(
        lambda: load_table(path),
        str(path),
        "row 3 (header = row 1)",
        "column 'b' (index 1)",
        "not a finite number",
    )


def test_nan_in_a_label(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,y\n1,0\n2,1\n3,nan\n")
    _refused(lambda: load_table(path), str(path), "row 4", "column 'y' (index 1)", "finite")


def test_non_numeric_feature_names_column_and_value(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,city,y\n1,2,0\n2,Paris,1\n")
    _refused(
        lambda: load_table(path),
        str(path),
        "row 3",
        "column 'city' (index 1)",
        "'Paris'",
        "categorical='onehot'",
    )


def test_empty_value(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,b,y\n1,,0\n")
    _refused(lambda: load_table(path), str(path), "row 2", "column 'b' (index 1)", "missing")


def test_missing_label_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,b,y\n1,2,0\n")
    _refused(
        lambda: load_table(path, label="target"),
        str(path),
        "row 1",
        "column 'target'",
        "no label column",
        "'a', 'b', 'y'",
    )
    _refused(lambda: load_table(path, features=["a", "c"]), str(path), "row 1", "column 'c'")
    _refused(lambda: load_table(path, label=3), str(path), "row 1", "column index 3")


def test_empty_file(tmp_path: Path) -> None:
    path = _csv(tmp_path, "")
    _refused(lambda: load_table(path), str(path), "row 1", "column", "empty")
    blank = _csv(tmp_path, "\n  \n", name="blank.csv")
    _refused(lambda: load_table(blank), str(blank), "row 1", "empty")


def test_header_only(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,b,y\n")
    _refused(lambda: load_table(path), str(path), "row 2", "all columns", "only a header")


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("1,2,0\n3,4,1,9\n", ("row 3", "column index 3", "4 values", "3 columns")),
        ("1,2,0\n3,4\n", ("row 3", "column 'y' (index 2)", "2 values", "3 columns")),
    ],
)
def test_ragged_row(tmp_path: Path, body: str, fragments: tuple[str, ...]) -> None:
    path = _csv(tmp_path, "a,b,y\n" + body)
    _refused(lambda: load_table(path), str(path), *fragments)


def test_ragged_row_without_header_counts_from_the_first_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, "1,2,0\n3,4,1\n5,6\n")
    _refused(lambda: load_table(path, header=False), str(path), "row 3", "column 'col2'")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    for loader in (load_table, load_npy, load_npz, load_svmlight, load_dataset):
        _refused(lambda loader=loader: loader(path), str(path), "No such file", "no row or column")


def test_fewer_rows_than_agents() -> None:
    for call in (
        lambda: iid(3, 4, 0, source="three.csv"),
        lambda: dirichlet(np.array([0, 1, 1]), 4, 0.5, 0, source="three.csv"),
        lambda: quantity_skew(3, 4, 0.5, 0, source="three.csv"),
    ):
        _refused(call, "three.csv", "3 rows for 4 agents", "all rows and columns")


@pytest.mark.parametrize(
    ("labels", "fragments"),
    [
        ("0\n1\n2.5\n", ("row 4", "column 'y' (index 1)", "2.5", "not a whole number")),
        ("1\n1\n1\n", ("row 2", "column 'y' (index 1)", "at least two classes")),
    ],
)
def test_labels_that_cannot_be_classes(
    tmp_path: Path, labels: str, fragments: tuple[str, ...]
) -> None:
    rows = "".join(f"{i},{v}" for i, v in enumerate(labels.splitlines(keepends=True)))
    path = _csv(tmp_path, "a,y\n" + rows)
    _refused(lambda: load_table(path, task="classification"), str(path), *fragments)


def test_string_labels_for_a_regression_task(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,y\n1,2.5\n2,high\n")
    _refused(lambda: load_table(path, task="regression"), str(path), "row 3", "'high'")


def test_npy_nan_names_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.npy"
    table = np.ones((4, 3))
    table[2, 1] = np.nan
    np.save(path, table)
    _refused(
        lambda: load_npy(path),
        str(path),
        "row 3 (first data row = row 1)",
        "column 'col1' (index 1)",
    )


def test_npy_object_arrays_are_not_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "obj.npy"
    np.save(path, np.array([[1, "a"]], dtype=object), allow_pickle=True)
    _refused(lambda: load_npy(path), str(path), "pickle")


def test_npz_needs_its_named_arrays(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, data=np.ones((3, 2)), labels=np.zeros(3))
    _refused(lambda: load_npz(path), str(path), "'features' or 'X'", "'data'")
    mismatch = tmp_path / "mismatch.npz"
    np.savez(mismatch, X=np.ones((3, 2)), y=np.zeros(2))
    _refused(lambda: load_npz(mismatch), str(mismatch), "one value per row")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("1 1:2\n0 1:abc\n", ("row 2 (row = line of the file)", "feature 1", "'abc'")),
        ("1 1:2\n# c\n0 2:nan\n", ("row 3", "feature 2", "finite")),
        ("1 1:2\nx 1:1\n", ("row 2", "the label", "'x'")),
        ("1 2:1 1:1\n", ("row 1", "feature 1", "increase")),
    ],
)
def test_svmlight_bad_lines_are_named(
    tmp_path: Path, text: str, fragments: tuple[str, ...]
) -> None:
    path = tmp_path / "bad.svm"
    path.write_text(text, encoding="utf-8")
    _refused(lambda: load_svmlight(path), str(path), *fragments)


def test_svmlight_too_narrow_for_n_features(tmp_path: Path) -> None:
    path = tmp_path / "wide.svm"
    path.write_text("1 1:1\n0 5:2\n", encoding="utf-8")
    _refused(lambda: load_svmlight(path, n_features=3), "row 2", "feature 5", "n_features=3")


def test_svmlight_over_the_dense_limit_names_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.svm"
    path.write_text(f"1 1:1\n0 {MAX_DENSE_CELLS}:2\n", encoding="utf-8")
    _refused(lambda: load_svmlight(path), str(path), str(MAX_DENSE_CELLS), "MAX_DENSE_CELLS")


def test_unknown_builtin_lists_the_valid_names() -> None:
    _refused(
        lambda: load_builtin("mnist"),
        "'mnist'",
        "breast_cancer, diabetes, digits, iris, wine",
    )
    _refused(lambda: load_dataset("builtin:mnist"), "breast_cancer")


def test_load_dataset_refuses_unknown_suffix_and_options(tmp_path: Path) -> None:
    _refused(lambda: load_dataset(tmp_path / "x.xlsx"), "'.xlsx'", ".csv", "format=")
    path = _csv(tmp_path, "a,y\n1,0\n2,1\n")
    _refused(lambda: load_dataset(path, n_features=3), "n_features", "delimiter")
    _refused(lambda: load_dataset("builtin:iris", label="y"), "no options")


def test_bad_options_are_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,b,y\n1,2,0\n3,4,1\n")
    _refused(lambda: load_table(path, task="ranking"), "task must be one of")
    _refused(
        lambda: load_table(path, categorical="drop"),  # type: ignore[arg-type]  # refused at run time
        "categorical must be",
    )
    _refused(lambda: load_table(path, features=["y"]), "also listed in features")
    _refused(lambda: load_table(path, delimiter="::"), "delimiter must be")


def test_single_column_file_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a\n1\n2\n")
    _refused(lambda: load_table(path), str(path), "row 1", "1 column", "delimiter")


def test_bad_quoting_names_the_row(tmp_path: Path) -> None:
    path = _csv(tmp_path, 'a,b,y\n1,2,0\n3,"4,1\n')
    _refused(lambda: load_table(path, delimiter=","), str(path), "row 3", "quoting")


def test_duplicate_header_names(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,a,y\n1,2,0\n")
    _refused(lambda: load_table(path), str(path), "row 1", "column 'a' (index 1)", "twice")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,y\n1,0\n\xe9,1\n")
    _refused(lambda: load_table(path), str(path), "row 3", "byte 1", "UTF-8")


def test_one_hot_still_refuses_empty_values(tmp_path: Path) -> None:
    path = _csv(tmp_path, "city,x,y\nParis,1,0\n,2,1\n")
    _refused(
        lambda: load_table(path, categorical="onehot"),
        str(path),
        "row 3",
        "column 'city' (index 0)",
        "missing",
    )


def test_header_after_blank_lines_is_named_by_its_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, "\n\na,b,y\n1,2,0\n")
    _refused(lambda: load_table(path, label="z"), str(path), "row 3", "column 'z'")
    _refused(lambda: load_table(_csv(tmp_path, "\n\na,b,y\n1,x,0\n", "x.csv")), "row 4")


def test_in_memory_arrays_are_checked_too() -> None:
    from scenarios.data import from_arrays

    features = np.ones((3, 2))
    features[1, 0] = np.inf
    _refused(lambda: from_arrays(features, [0, 1, 0], source="mine"), "mine", "row 2", "'x0'")
    _refused(lambda: from_arrays(np.ones((3, 2)), [0, 1]), "one value per row")
