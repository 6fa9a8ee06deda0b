"""A damaged run directory is read or refused with one line naming the file (and line):
``hemesh summarize``, ``hemesh dashboard`` and the live dashboard server alike.

One small real run (memory transport) is made once per module; each case damages a copy.
Refused: exit 2, exactly one line on stderr, no traceback, nothing written. Read around (a
torn last line, missing agents with ``--partial``): exit 0 and one warning line each.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scenarios import BadInput, RunDir, read_log
from scenarios.dashboards import LiveDashboard
from tests.scenarios.support import hemesh, ring8, write_toml

AGENTS = 4
ITERATIONS = 6
DIM = 5


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run directory of ``plain`` on a ring of 4 (its 7 log lines per agent)."""
    root = tmp_path_factory.mktemp("damaged")
    doc = ring8(root / "runs", "unused", iterations=ITERATIONS, kind="plain")
    doc["topology"] = {"kind": "ring", "n": AGENTS}
    doc["transport"] = {"kind": "memory"}
    result = hemesh("run", str(write_toml(root / "s.toml", doc)), cwd=root)
    assert result.returncode == 0, result.stderr
    (folder,) = (root / "runs").iterdir()
    (run,) = folder.iterdir()
    assert RunDir.is_run(run)
    return run


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def replace_line(path: Path, number: int, line: bytes) -> None:
    lines = lines_of(path)
    lines[number - 1] = line
    path.write_bytes(b"".join(lines))


def record(path: Path, number: int) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(lines_of(path)[number - 1])
    return result


def changed(path: Path, number: int, **fields: Any) -> None:
    """Line ``number`` of ``path`` with ``fields`` set (a value of None removes the key)."""
    rec = record(path, number)
    for key, value in fields.items():
        if value is None:
            del rec[key]
        else:
            rec[key] = value
    replace_line(path, number, json.dumps(rec).encode() + b"\n")


# damages: each takes the copy's RunDir, returns the file and line it names ("" = none)


def missing_log(run: RunDir) -> tuple[Path, str]:
    run.log("a2").unlink()
    return run.path, "agent a2"


def binary_garbage(run: RunDir) -> tuple[Path, str]:
    path = run.log("a1")
    lines = lines_of(path)
    lines.insert(3, bytes(range(128, 256)) + b"\n")
    path.write_bytes(b"".join(lines))
    return path, "line 4"


def binary_tail(run: RunDir) -> tuple[Path, str]:
    path = run.log("a1")
    path.write_bytes(path.read_bytes() + b"\x00\xff\xfe garbage")
    return path, f"line {ITERATIONS + 2}"


def x_string(run: RunDir) -> tuple[Path, str]:
    changed(run.log("a3"), 3, x="0.1, 0.2")
    return run.log("a3"), "line 3"


def x_short(run: RunDir) -> tuple[Path, str]:
    changed(run.log("a3"), 5, x=[0.1] * (DIM - 1))
    return run.log("a3"), "line 5"


def x_bools(run: RunDir) -> tuple[Path, str]:
    changed(run.log("a0"), 2, x=[True] * DIM)
    return run.log("a0"), "line 2"


def no_t(run: RunDir) -> tuple[Path, str]:
    changed(run.log("a0"), 4, t=None)
    return run.log("a0"), "line 4"


def k_string(run: RunDir) -> tuple[Path, str]:
    changed(run.log("a0"), 4, k="3")
    return run.log("a0"), "line 4"


def not_an_object(run: RunDir) -> tuple[Path, str]:
    replace_line(run.log("a2"), 2, b"[1, 2, 3]\n")
    return run.log("a2"), "line 2"


def torn_in_the_middle(run: RunDir) -> tuple[Path, str]:
    path = run.log("a2")
    replace_line(path, 3, lines_of(path)[2][:40] + b"\n")  # not followed by a resume
    return path, "line 3"


def log_is_a_directory(run: RunDir) -> tuple[Path, str]:
    run.log("a1").unlink()
    run.log("a1").mkdir()
    return run.log("a1"), "directory"


def resolved_without_algorithm(run: RunDir) -> tuple[Path, str]:
    doc = json.loads(run.resolved.read_text())
    del doc["algorithm"]
    run.resolved.write_text(json.dumps(doc))
    return run.resolved, "algorithm"


def resolved_not_json(run: RunDir) -> tuple[Path, str]:
    run.resolved.write_text('{"name": "ring8", "algorithm": ')
    return run.resolved, "line 1"


def resolved_binary(run: RunDir) -> tuple[Path, str]:
    run.resolved.write_bytes(bytes(range(256)))
    return run.resolved, ""


REFUSED: dict[str, Callable[[RunDir], tuple[Path, str]]] = {
    "missing-log": missing_log,
    "binary-garbage": binary_garbage,
    "binary-tail": binary_tail,
    "x-string": x_string,
    "x-short": x_short,
    "x-bools": x_bools,
    "no-t": no_t,
    "k-string": k_string,
    "not-an-object": not_an_object,
    "torn-in-the-middle": torn_in_the_middle,
    "log-is-a-directory": log_is_a_directory,
    "resolved-without-algorithm": resolved_without_algorithm,
    "resolved-not-json": resolved_not_json,
    "resolved-binary": resolved_binary,
}


def damaged_copy(original: Path, tmp_path: Path, damage: Callable[[RunDir], Any]) -> RunDir:
    run = RunDir(tmp_path / "copy" / original.name)
    shutil.copytree(original, run.path)
    for written in (run.summary, run.metrics):
        written.unlink()  # what a killed run leaves: no summary yet
    damage(run)
    return run


def one_line(result: Any) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return str(lines[0])


def assert_names(line: str, file: Path, where: str) -> None:
    assert str(file) in line, line
    assert where in line, line


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_summarize_refuses_a_damaged_run_with_one_line(
    original: Path, tmp_path: Path, case: str
) -> None:
    run = damaged_copy(original, tmp_path, lambda r: None)
    file, where = REFUSED[case](run)
    before = sorted(p.relative_to(run.path) for p in run.path.rglob("*"))
    result = hemesh("summarize", str(run.path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = one_line(result)
    assert line.startswith("error: "), line
    assert_names(line, file, where)
    assert result.stdout == ""
    assert sorted(p.relative_to(run.path) for p in run.path.rglob("*")) == before


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_dashboard_refuses_a_damaged_run_with_one_line(
    original: Path, tmp_path: Path, case: str
) -> None:
    run = damaged_copy(original, tmp_path, lambda r: None)
    file, where = REFUSED[case](run)
    figures = tmp_path / "figs"
    result = hemesh("dashboard", str(run.path), "-o", str(figures), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert_names(one_line(result), file, where)
    assert not figures.exists()
    assert not run.dashboard.exists()


def test_summarize_partial_names_the_missing_agent_and_summarizes_the_rest(
    original: Path, tmp_path: Path
) -> None:
    run = damaged_copy(original, tmp_path, missing_log)
    result = hemesh("summarize", str(run.path), "--partial", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = one_line(result)
    assert line.startswith("warning: "), line
    assert "a2" in line and f"the other {AGENTS - 1} agents" in line, line
    (summary,) = json.loads(result.stdout)
    assert summary["agents"] == AGENTS - 1
    assert summary["missing_agents"] == ["a2"]
    assert summary["iterations"] == ITERATIONS
    assert summary["mse_final"] is not None
    # the table form says it too, on stderr
    table = hemesh("summarize", str(run.path), "--partial", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert one_line(table) == line


def test_dashboard_partial_draws_the_rest_and_warns(original: Path, tmp_path: Path) -> None:
    run = damaged_copy(original, tmp_path, missing_log)
    figures = tmp_path / "figs"
    result = hemesh("dashboard", str(run.path), "-o", str(figures), "--partial", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = one_line(result)
    assert line.startswith("warning: ") and "no log of agent a2" in line, line
    assert (figures / "index.html").is_file()
    assert (figures / "mse.png").stat().st_size > 0


def torn_last_line(run: RunDir) -> tuple[Path, int]:
    path = run.log("a1")
    last = lines_of(path)[-1]
    path.write_bytes(path.read_bytes()[: -len(last) // 2])
    return path, ITERATIONS + 1


def test_a_torn_last_line_is_tolerated_with_one_warning(original: Path, tmp_path: Path) -> None:
    run = damaged_copy(original, tmp_path, lambda r: None)
    path, number = torn_last_line(run)
    result = hemesh("summarize", str(run.path), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = one_line(result)
    assert line.startswith("warning: "), line
    assert_names(line, path, f"line {number}")
    (summary,) = json.loads(result.stdout)
    assert summary["agents"] == AGENTS
    assert summary["bad_log_lines"] == {"a1": [number]}
    assert summary["iterations"] == ITERATIONS - 1  # a1's last iteration is lost
    figures = tmp_path / "figs"
    drawn = hemesh("dashboard", str(run.path), "-o", str(figures), cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    assert_names(one_line(drawn), path, f"line {number}")


def test_a_torn_line_before_a_resume_is_tolerated(original: Path, tmp_path: Path) -> None:
    """What a killed agent process restarted from its checkpoint leaves (the journal puts
    a newline after the torn line before it appends)."""
    run = damaged_copy(original, tmp_path, lambda r: None)
    path = run.log("a0")
    lines = lines_of(path)
    resumed = json.loads(lines[3])
    resumed["resumed"] = True
    path.write_bytes(
        b"".join([*lines[:3], lines[3][:30] + b"\n", json.dumps(resumed).encode() + b"\n"])
    )
    log = read_log(path, dim=DIM)
    assert log.bad_lines == [4]
    assert [r["k"] for r in log.records] == [0, 1, 2, 3]
    assert log.warnings == [
        f"{path}: line 4 is not a complete record (its writer was killed?); skipped"
    ]
    path.write_bytes(b"".join([*lines[:3], lines[3][:30] + b"\n", *lines[4:]]))  # no resume
    with pytest.raises(BadInput, match=rf"^{path}: line 4: not a JSON record \("):
        read_log(path, dim=DIM)


# the live server ------------------------------------------------------------------------------


async def fetch_json(url: str) -> dict[str, Any]:
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    async with asyncio.timeout(10):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET /data.json HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        response = await reader.read()
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    result: dict[str, Any] = json.loads(body)
    return result


@pytest.mark.asyncio
@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_the_live_server_keeps_serving_and_reports_a_damaged_run(
    original: Path, tmp_path: Path, case: str
) -> None:
    run = damaged_copy(original, tmp_path, lambda r: None)
    saved = {p: p.read_bytes() for p in (run.resolved, *run.agent_logs()) if p.is_file()}
    file, where = REFUSED[case](run)
    async with LiveDashboard([run.path], port=0, interval=0.1) as dashboard:
        damaged = await fetch_json(dashboard.url)
        problems = damaged["problems"]
        assert any(str(file) in p and where in p for p in problems), problems
        # repaired while served: the next request draws it
        if run.log("a1").is_dir():
            run.log("a1").rmdir()
        for path, content in saved.items():
            path.write_bytes(content)
        repaired = await fetch_json(dashboard.url)
        assert repaired["problems"] == [], repaired["problems"]
        assert "mse" in repaired["figures"]
