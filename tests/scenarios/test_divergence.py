"""A diverging run is stopped with one line naming agent, iteration and value (exit 1)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from agents import AgentConfig, AgentError, Algorithm, ConfigError, Diverged, Stepsize
from agents.runtime._update import check_state
from tests.scenarios.support import hemesh, ring8, write_toml


def _config(**extra: object) -> AgentConfig:
    return AgentConfig(
        run="r1",
        agent_id="a3",
        neighbours={"a2": 2},
        algorithm=Algorithm.PLAIN,
        iterations=5,
        x0=(0.0, 0.0),
        seed=(1,),
        stepsize=Stepsize(lambda0=0.1),
        **extra,  # type: ignore[arg-type]
    )


def test_a_state_beyond_the_bound_or_not_finite_is_diverged() -> None:
    cfg = _config()
    assert cfg.max_state == 1e9
    check_state(cfg, 3, np.array([1e9, -1e9]))  # at the bound: still fine
    with pytest.raises(Diverged) as caught:
        check_state(cfg, 17, np.array([1.0, -3.1e134]))
    assert str(caught.value) == "agent a3 at iteration 17: |x| = 3.1e+134 > 1e9"
    assert isinstance(caught.value, AgentError)
    assert (caught.value.agent, caught.value.iteration) == ("a3", 17)
    with pytest.raises(Diverged, match=r"\|x\| = inf > 1e9"):
        check_state(cfg, 2, np.array([math.inf, 0.0]))
    with pytest.raises(Diverged, match="x is NaN"):
        check_state(cfg, 2, np.array([math.nan, 0.0]))
    check_state(_config(max_state=math.inf), 2, np.array([1e300, 0.0]))
    with pytest.raises(ConfigError, match="max_state"):
        _config(max_state=0.0)
    with pytest.raises(ConfigError, match="max_state"):
        _config(max_state=math.nan)


def test_a_plain_run_with_a_huge_stepsize_fails_with_one_line(tmp_path: Path) -> None:
    doc = ring8(tmp_path / "runs", "embedded", iterations=200, kind="plain", lambda0=50.0)
    doc["transport"] = {"kind": "memory"}
    result = hemesh("run", str(write_toml(tmp_path / "s.toml", doc)), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr
    line = errors[0]
    assert line.startswith("error: run diverged: agent a"), line
    assert " at iteration " in line and "|x| = " in line and "> 1e9" in line, line
    assert line.endswith("; lower algorithm.lambda0"), line
    assert "hemesh run summary" not in result.stdout


def test_a_diverging_run_in_processes_fails_with_the_same_one_line(tmp_path: Path) -> None:
    """``--spawn processes``: the agent that diverged says so in one line and is not
    restarted; the supervisor reports that line (exit 1), the other agents are stopped."""
    doc = ring8(tmp_path / "runs", "embedded", iterations=200, kind="plain", lambda0=50.0)
    doc["topology"] = {"kind": "ring", "n": 4}
    result = hemesh(
        "run", str(write_toml(tmp_path / "s.toml", doc)), "--spawn", "processes",
        "--restarts", "2", cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "iterations (" not in line]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: run diverged: agent a"), line
    assert " at iteration " in line and "|x| = " in line and "> 1e9" in line, line
    assert line.endswith("; lower algorithm.lambda0"), line
    assert "restart" not in result.stderr
    assert "hemesh run summary" not in result.stdout
