"""The hemesh command as a user types it, in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scenarios import BadInput, RunFailed, ScenarioError
from scenarios.cli import EXIT_BAD_INPUT, EXIT_FAILED, exit_code
from tests.scenarios.support import hemesh

ROOT = Path(__file__).parents[2]
RING8 = ROOT / "scenarios" / "examples" / "ring8.toml"


def test_invalid_scenario_exits_2_with_one_line_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(RING8.read_text().replace("gamma0 = 1.0", "gamma0 = -1"))
    result = hemesh("run", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "algorithm.gamma0" in lines[0]
    assert "-1" in lines[0]
    assert not (tmp_path / "runs").exists()


def test_bad_topology_parameter_is_refused_before_anything_starts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(RING8.read_text().replace("n = 8", "n = 2"))
    result = hemesh("run", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "topology" in result.stderr
    assert "n must be" in result.stderr


@pytest.mark.slow
def test_ring8_example_end_to_end_over_the_embedded_broker(tmp_path: Path) -> None:
    """The README's first command, shortened to 3 iterations, with its 2048-bit keys."""
    result = hemesh("run", str(RING8), "--iterations", "3", "-o", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "final MSE" in result.stdout
    assert "paillier" in result.stdout
    (root,) = tmp_path.iterdir()
    run_dir = root / "paillier"
    assert (run_dir / "scenario.toml").read_text() == RING8.read_text()
    assert json.loads((run_dir / "resolved.json").read_text())["transport"]["kind"] == "mqtt"
    assert len(list((run_dir / "logs").glob("a*.jsonl"))) == 8
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["iterations"] == 3
    assert summary["messages_sent"] > 0
    assert summary["skipped_edges"] == 0
    recomputed = hemesh("summarize", str(root), "--json", cwd=tmp_path)
    assert recomputed.returncode == 0, recomputed.stderr
    assert json.loads(recomputed.stdout) == [summary]


def test_summarize_refuses_a_folder_without_runs(tmp_path: Path) -> None:
    result = hemesh("summarize", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "no run directory" in result.stderr


def test_bad_input_found_while_starting_a_run_exits_2(tmp_path: Path) -> None:
    """Caught by run_scenario rather than by the loader, it is still bad input: exit 2
    (it was 1 when the CLI chose the code per call site), and nothing ran."""
    memory = tmp_path / "memory.toml"
    memory.write_text(RING8.read_text().replace('kind = "mqtt"', 'kind = "memory"'))
    assert 'kind = "memory"' in memory.read_text()
    result = hemesh("run", str(memory), "--spawn", "processes", "-o", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "--spawn processes needs transport.kind = 'mqtt'" in line
    assert not list(tmp_path.glob("ring8-*"))


def test_the_exit_code_follows_the_exception_class() -> None:
    assert exit_code(BadInput("x")) == EXIT_BAD_INPUT == 2
    assert exit_code(RunFailed("x")) == EXIT_FAILED == 1
    assert exit_code(ScenarioError("x")) == EXIT_FAILED
