"""A bad command-line value or place to write is refused before anything starts: exit 2,
one line on stderr naming the option (or path) and the value, no traceback, nothing
written, no process left. And a bad data file of a scenario (the classes not in
test_problem_bad_data.py): the same one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.scenarios._problem_support import CSV_SCENARIO, GOOD_ROWS
from tests.scenarios._refusals import leftover_processes, toml
from tests.scenarios.support import hemesh

UNWRITABLE = Path("/sys/hemesh-unwritable")
"""A place nobody may create anything in, root included (sysfs refuses new entries)."""


def scenario(tmp: Path) -> Path:
    path = tmp / "s.toml"
    path.write_bytes(toml()(tmp / "out"))
    return path


def mqtt_scenario(tmp: Path) -> Path:
    path = tmp / "s.toml"
    path.write_bytes(toml(transport__kind='"mqtt"')(tmp / "out"))
    return path


def a_file(tmp: Path) -> Path:
    path = tmp / "a-file"
    path.write_text("taken\n")
    return path


# (id, the arguments from a temporary folder, words the one line must hold)
Args = Callable[[Path], list[str]]
CASES: list[tuple[str, Args, list[str]]] = [
    ("run-o-file", lambda t: ["run", str(scenario(t)), "-o", str(a_file(t))],
     ["--output", "a-file", "is a file, not a directory"]),
    ("run-o-under-a-file", lambda t: ["run", str(scenario(t)), "-o", f"{a_file(t)}/runs"],
     ["--output", "a-file/runs", "is a file, not a directory"]),
    ("run-o-unwritable", lambda t: ["run", str(scenario(t)), "-o", str(UNWRITABLE)],
     ["--output", str(UNWRITABLE), "cannot write in /sys"]),
    ("dashboard-o-file", lambda t: ["dashboard", str(t), "-o", str(a_file(t))],
     ["--output", "a-file", "is a file, not a directory"]),
    ("dashboard-o-unwritable", lambda t: ["dashboard", str(t), "-o", f"{UNWRITABLE}/figs"],
     ["--output", f"{UNWRITABLE}/figs", "cannot write in /sys"]),
    ("agent-out-under-a-file",
     lambda t: ["agent", "--scenario", str(scenario(t)), "--id", "a0", "--run", "r1",
                "--out", f"{a_file(t)}/r1", "--broker", "mqtt://127.0.0.1:1"],
     ["--out", "a-file/r1", "is a file, not a directory"]),
    ("agent-out-unwritable",
     lambda t: ["agent", "--scenario", str(scenario(t)), "--id", "a0", "--run", "r1",
                "--out", str(UNWRITABLE), "--broker", "mqtt://127.0.0.1:1"],
     ["--out", str(UNWRITABLE), "cannot write in /sys"]),
    ("agent-broker-port",
     lambda t: ["agent", "--scenario", str(mqtt_scenario(t)), "--id", "a0", "--run", "r1",
                "--out", str(t / "r1"), "--broker", "mqtt://127.0.0.1:99999"],
     ["--broker", "'mqtt://127.0.0.1:99999'", "[1, 65535]"]),
    ("agent-reconnect-nan",
     lambda t: ["agent", "--scenario", str(mqtt_scenario(t)), "--id", "a0", "--run", "r1",
                "--out", str(t / "r1"), "--reconnect-timeout", "nan"],
     ["--reconnect-timeout nan", "[0, 86400]"]),
    ("topology-o-txt", lambda t: ["topology", "show", "ring n=4", "-o", str(t / "x.txt")],
     ["-o", "x.txt", "'.txt' is not an image format", ".png", ".pdf", ".svg"]),
    ("topology-o-no-suffix", lambda t: ["topology", "show", "ring n=4", "-o", str(t / "x")],
     ["-o", "no suffix is not an image format", ".png"]),
    ("topology-o-missing-folder",
     lambda t: ["topology", "show", "ring n=4", "-o", str(t / "nowhere" / "x.png")],
     ["-o", "nowhere/x.png", "its folder", "does not exist"]),
    ("topology-o-unwritable",
     lambda t: ["topology", "show", "ring n=4", "-o", f"{UNWRITABLE}.png"],
     ["-o", f"{UNWRITABLE}.png", "cannot write in /sys"]),
    ("bench-o-directory", lambda t: ["bench", "--quick", "-o", str(t)],
     ["--output", "is a directory, not a file"]),
    ("broker-port-high", lambda t: ["broker", str(scenario(t)), "--port", "70000"],
     ["'--port'", "65535", "'70000'"]),
    ("broker-port-zero", lambda t: ["broker", str(scenario(t)), "--port", "0"],
     ["'--port'", "greater than or equal to 1", "'0'"]),
    ("broker-port-negative", lambda t: ["broker", str(scenario(t)), "--port=-5"],
     ["'--port'", "'-5'"]),
    ("run-dashboard-port-high",
     lambda t: ["run", str(scenario(t)), "--dashboard", "--dashboard-port", "70000"],
     ["'--dashboard-port'", "65535", "'70000'"]),
    ("run-dashboard-port-negative",
     lambda t: ["run", str(scenario(t)), "--dashboard", "--dashboard-port", "-1"],
     ["'--dashboard-port'", "greater than or equal to 0", "'-1'"]),
    ("dashboard-port-high", lambda t: ["dashboard", "--serve", str(t), "--port", "70000"],
     ["'--port'", "65535", "'70000'"]),
    ("dashboard-port-negative", lambda t: ["dashboard", "--serve", str(t), "--port", "-1"],
     ["'--port'", "greater than or equal to 0", "'-1'"]),
    ("run-iterations-limit", lambda t: ["run", str(scenario(t)), "--iterations", "10000001"],
     ["--iterations 10000001", "less than or equal to 10000000"]),
    ("run-iterations-zero", lambda t: ["run", str(scenario(t)), "--iterations", "0"],
     ["'--iterations'", "'0'"]),
    ("run-iterations-float", lambda t: ["run", str(scenario(t)), "--iterations", "2.5"],
     ["'--iterations'", "'2.5'"]),
    ("run-iterations-text", lambda t: ["run", str(scenario(t)), "--iterations", "many"],
     ["'--iterations'", "'many'"]),
    ("bench-key-bits-limit", lambda t: ["bench", "--quick", "--key-bits", "65536"],
     ["'--key-bits'", "8192", "'65536'"]),
    ("run-restarts-negative",
     lambda t: ["run", str(scenario(t)), "--spawn", "processes", "--restarts", "-1"],
     ["'--restarts'", "greater than or equal to 0", "'-1'"]),
]  # fmt: skip


def listing(folder: Path) -> list[tuple[Path, int]]:
    return sorted((p.relative_to(folder), p.stat().st_size) for p in folder.rglob("*"))


@pytest.mark.parametrize(("args", "words"), [pytest.param(a, w, id=i) for i, a, w in CASES])
def test_a_bad_option_or_place_is_refused_with_one_line(
    tmp_path: Path, args: Args, words: list[str]
) -> None:
    arguments = args(tmp_path)
    before = listing(tmp_path)
    result = hemesh(*arguments, cwd=tmp_path, timeout=60, columns=80)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert result.stdout == ""
    assert listing(tmp_path) == before
    assert not UNWRITABLE.exists()
    assert leftover_processes(str(tmp_path)) == []


def test_the_cli_still_runs_what_is_sound(tmp_path: Path) -> None:
    """The checks refuse the rows above only: a missing output folder is made, as before."""
    result = hemesh(
        "run", str(scenario(tmp_path)), "-o", str(tmp_path / "new" / "runs"), "--iterations", "2",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "new" / "runs").iterdir()
    drawing = tmp_path / "ring.svg"
    shown = hemesh("topology", "show", "ring n=4", "-o", str(drawing), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert drawing.stat().st_size > 0
    figures = tmp_path / "figs" / "deeper"
    drawn = hemesh("dashboard", str(folder), "-o", str(figures), cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    assert (figures / "index.html").is_file()
    assert not list(tmp_path.rglob(".hemesh-probe-*"))


DATA: dict[str, tuple[str | None, list[str]]] = {
    "missing-file": (None, ["data.csv", "No such file or directory"]),
    "header-only": ("a,b,y\n", ["data.csv", "row 2", "only a header, no data rows"]),
    "three-labels": ("a,b,y\n1,2,0\n3,4,2\n" + GOOD_ROWS, ["data.csv", "label column 'y'",
                     "needs two classes", "(0, 1, 2)"]),
    "one-label": ("a,b,y\n" + "1,2,0\n" * 6, ["data.csv", "column 'y'", "two classes"]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(DATA))
def test_bad_data_is_refused_with_one_line(tmp_path: Path, case: str) -> None:
    content, words = DATA[case]
    if content is not None:
        (tmp_path / "data.csv").write_text(content)
    (tmp_path / "bad.toml").write_text(CSV_SCENARIO)
    before = listing(tmp_path)
    result = hemesh("run", "bad.toml", "-o", str(tmp_path / "runs"), cwd=tmp_path)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert listing(tmp_path) == before
