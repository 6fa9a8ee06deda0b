"""hemesh dashboard / topology show / progress lines, as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import topologies
from tests._brokers import free_port
from tests.scenarios.support import hemesh

TINY = """
name = "tiny"
seed = 1
iterations = 6
[topology]
kind = "ring"
n = 4
[problem]
kind = "least_squares"
dim = 3
[algorithm]
kind = "clear"
baselines = ["plain"]
[crypto]
key_bits = 256
insecure_keys = true
inline = true
[transport]
kind = "memory"
"""


@pytest.fixture(scope="module")
def tiny_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    cwd = tmp_path_factory.mktemp("cli")
    (cwd / "tiny.toml").write_text(TINY, encoding="utf-8")
    result = hemesh("run", "tiny.toml", "-o", "runs", cwd=cwd)
    assert result.returncode == 0, result.stderr
    (folder,) = (cwd / "runs").iterdir()
    return folder, result


def test_progress_falls_back_to_plain_lines_when_piped(
    tiny_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, result = tiny_run
    lines = result.stderr.splitlines()
    assert "clear: 6/6 iterations" in " ".join(lines)
    assert any(re.fullmatch(r"plain: 6/6 iterations \(\d+\.\d s\)", line) for line in lines)
    assert any(re.fullmatch(r"clear: [1-5]/6 iterations \(\d+\.\d s\)", line) for line in lines)
    assert "\x1b[" not in result.stderr  # no terminal control codes in a pipe


def test_dashboard_command_writes_page_and_figures(
    tiny_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    folder, _ = tiny_run
    result = hemesh("dashboard", str(folder), "-o", "figs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "figs" / "index.html").is_file()
    assert (tmp_path / "figs" / "mse.pdf").is_file()
    missing = hemesh("dashboard", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2
    assert str(tmp_path / "nope") in missing.stderr


def test_dashboard_serve_answers_and_stops_on_ctrl_c(
    tiny_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    folder, _ = tiny_run
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scenarios",
            "dashboard",
            "--serve",
            str(folder),
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # "dashboard: http://127.0.0.1:PORT/ (Ctrl-C stops)"
        assert f"http://127.0.0.1:{port}/" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/data.json", timeout=30) as response:
            data = json.load(response)
        assert sorted(r["label"] for r in data["runs"]) == ["tiny · clear", "tiny · plain"]
        assert all(r["iterations"] == 6 for r in data["runs"])
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def test_topology_show_reports_degrees_and_spectral_gap(tmp_path: Path) -> None:
    result = hemesh("topology", "show", "ring n=8", "--json", "-o", "ring8.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["spec"] == {"kind": "ring", "n": 8}
    assert (facts["nodes"], facts["edges"], facts["degree_min"], facts["degree_max"]) == (
        8,
        8,
        2,
        2,
    )
    assert facts["spectral_gap"] == pytest.approx(topologies.spectral_gap(topologies.ring(8)))
    assert (tmp_path / "ring8.png").read_bytes()[:4] == b"\x89PNG"
    er = hemesh("topology", "show", "erdos_renyi n=16 p=0.3 seed=1", "--json", cwd=tmp_path)
    graph = topologies.erdos_renyi(16, 0.3, seed=1)
    assert json.loads(er.stdout)["edges"] == graph.number_of_edges()


def test_topology_show_reads_a_graph_file(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text(json.dumps(topologies.to_json(topologies.star(5))), encoding="utf-8")
    result = hemesh("topology", "show", str(path), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["degree_max"] == 4


@pytest.mark.parametrize(
    ("spec", "named"),
    [("ring m=8", "'m'"), ("ring n", "'n'"), ("hexagon n=6", "'hexagon'"), ("", "empty")],
)
def test_topology_show_refuses_bad_specs_with_exit_2(spec: str, named: str, tmp_path: Path) -> None:
    result = hemesh("topology", "show", spec, cwd=tmp_path)
    assert result.returncode == 2
    assert named in result.stderr


@pytest.mark.parametrize("command", [["dashboard"], ["topology", "show"], ["run"]])
def test_help_has_an_example(command: list[str], tmp_path: Path) -> None:
    result = hemesh(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "Example" in result.stdout
