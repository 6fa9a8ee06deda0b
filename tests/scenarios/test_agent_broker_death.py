"""``hemesh agent`` (one agent in its own process) whose Mosquitto is killed mid-run: each
agent tries its reconnect bound, then fails with one line naming the broker URL and how
long it tried, exit 1, no traceback, and leaves no process (its crypto worker included)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests._brokers import Mosquitto, require_mosquitto
from tests.scenarios._stopping import ROUND_TIMEOUT, assert_all_gone, descendants, path3
from tests.scenarios._stopping import wait_for_logs as wait_for_lines
from tests.scenarios.support import start_hemesh, write_identities, write_toml

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

RECONNECT = 3.0
"""The agents' --reconnect-timeout (the default is 60 s)."""


def test_a_lone_agent_whose_broker_is_killed_fails_with_one_line(
    tmp_path: Path, stopped_at_end: list[subprocess.Popen[str]]
) -> None:
    with Mosquitto(require_mosquitto(), tmp_path) as broker:
        url = f"mqtt://127.0.0.1:{broker.address.port}"
        scenario = write_toml(tmp_path / "s.toml", path3(tmp_path / "runs", url))
        run_dir = tmp_path / "runs" / "path3" / "r1"
        write_identities(run_dir, "r1", 3)  # what the runner writes for lone agents
        agents = []
        for i in range(3):
            agent = start_hemesh(
                "agent", "--scenario", str(scenario), "--id", f"a{i}", "--run", "r1",
                "--out", str(run_dir), "--reconnect-timeout", str(RECONNECT), cwd=tmp_path,
            )  # fmt: skip
            stopped_at_end.append(agent)
            agents.append(agent)
        wait_for_lines(tmp_path / "runs", agents=3, lines=3)
        tree = {pid: c for a in agents for pid, c in descendants(a.pid).items()}
        assert any("agents._crypto_worker" in c for c in tree.values())  # they have workers
        os.kill(broker.pid, signal.SIGKILL)
        killed = time.monotonic()
        for agent in agents:
            _, stderr = agent.communicate(timeout=60)
            took = time.monotonic() - killed
            assert agent.returncode == 1, stderr
            assert "Traceback" not in stderr
            (line,) = stderr.strip().splitlines()
            assert re.match(
                rf"^error: agent a\d: ConnectionLost: lost broker {re.escape(url)} and could "
                rf"not reconnect within {RECONNECT:g} s \(\d+ attempts; last: ",
                line,
            ), line
            # its bound, and at most a round timeout or so of iterating before it noticed
            assert took < RECONNECT + 2 * ROUND_TIMEOUT, f"failed after {took:.1f} s"
        assert_all_gone(tree)
        logs = sorted(run_dir.glob("logs/*.jsonl"))
        assert [p.stem for p in logs] == ["a0", "a1", "a2"]  # what was logged stays


def test_a_bad_reconnect_timeout_is_refused(tmp_path: Path) -> None:
    scenario = write_toml(tmp_path / "s.toml", path3(tmp_path / "runs", "mqtt://127.0.0.1:1"))
    agent = start_hemesh(
        "agent", "--scenario", str(scenario), "--id", "a0", "--run", "r1",
        "--out", str(tmp_path / "r1"), "--reconnect-timeout", "-1", cwd=tmp_path,
    )  # fmt: skip
    _, stderr = agent.communicate(timeout=60)
    assert agent.returncode == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert line == "error: --reconnect-timeout -1.0: must be in [0, 86400] s", line
    assert not (tmp_path / "r1").exists()
