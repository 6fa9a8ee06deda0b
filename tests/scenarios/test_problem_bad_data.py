"""Bad data in a scenario's ``data =`` file: ``hemesh run`` exits 2 with one line on
stderr naming the file, the row and the column, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenarios._problem_support import CSV_SCENARIO, GOOD_ROWS
from tests.scenarios.support import hemesh

BAD = {
    "nan": (
        "a,b,y\n1,2,0\n3,nan,1\n" + GOOD_ROWS,
        ["row 3 (header = row 1)", "column 'b' (index 1)", "not a finite number"],
    ),
    "non-numeric": (
        "a,b,y\n1,2,0\n3,4,1\nfive,6,0\n" + GOOD_ROWS,
        ["row 4 (header = row 1)", "column 'a' (index 0)", "non-numeric value 'five'"],
    ),
    "missing label column": (
        "a,b,z\n" + GOOD_ROWS,
        ["row 1 (header = row 1)", "column 'y'", "no label column 'y'"],
    ),
    "empty file": ("", ["row 1", "all columns", "the file is empty"]),
    "fewer rows than agents": (
        "a,b,y\n1,2,0\n3,4,1\n5,6,0\n",
        ["all rows and columns", "2 training rows", "for 4 agents"],
    ),
    "ragged row": (
        "a,b,y\n1,2,0\n3,4,1,7\n" + GOOD_ROWS,
        ["row 3 (header = row 1)", "column index 3", "ragged row"],
    ),
    "regression target": (
        "a,b,y\n1,2,0.5\n" + GOOD_ROWS,
        ["row 2 (header = row 1)", "column 'y' (index 2)", "not a whole number"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_data_exits_2_with_one_line_naming_file_row_and_column(
    tmp_path: Path, case: str
) -> None:
    content, words = BAD[case]
    data = tmp_path / "data.csv"
    data.write_text(content)
    path = tmp_path / "bad.toml"
    path.write_text(CSV_SCENARIO)
    result = hemesh("run", str(path), "-o", str(tmp_path / "runs"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert f"{data.resolve()}, " in lines[0], lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert not (tmp_path / "runs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "data.csv"]
