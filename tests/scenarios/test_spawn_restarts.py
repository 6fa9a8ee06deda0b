"""``Supervisor(restarts=N)`` and ``hemesh run --restarts N``: a crashed agent process is
started again with the same command line; when its budget is used up the run fails.

The agents here are fake: ``python -c`` scripts that write log lines, crash or sleep
as a marker file in ``tmp_path`` says, so the tests need no broker and take seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from scenarios import RunDir, ScenarioError, parse, run_scenario
from scenarios.deploy import Supervisor
from tests.scenarios.support import agent_pid, hemesh

ROOT = Path(__file__).parents[2]
RING8 = ROOT / "scenarios" / "examples" / "ring8.toml"

FAKE_AGENT = """
import json, os, signal, sys, time
from pathlib import Path

log, starts, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
with starts.open("a") as f:
    f.write(f"{os.getpid()}\\n")
start = len(starts.read_text().splitlines())
print(f"boom {start}", file=sys.stderr, flush=True)

def write(*ks):
    with log.open("a") as f:
        for k in ks:
            f.write(json.dumps({"k": k, "agent": log.stem}) + "\\n")

if mode == "fine":
    write(0, 1, 2, 3, 4, 5)
elif mode == "crash_once":  # killed after k = 2; resumed at k = 2 (logged again), done at 5
    if start == 1:
        write(0, 1, 2)
        os.kill(os.getpid(), signal.SIGKILL)
    write(2, 3, 4, 5)
elif mode == "crash_then_hang":
    if start == 1:
        write(0, 1)
        os.kill(os.getpid(), signal.SIGKILL)
    write(1)
    time.sleep(600)
elif mode == "always_crash":
    write(0)
    sys.exit(3)
"""


def fake(run: RunDir, agent: str, mode: str, starts: Path) -> list[str]:
    return [sys.executable, "-c", FAKE_AGENT, str(run.log(agent)), str(starts), mode]


def started(starts: Path) -> list[int]:
    """The pids of the processes a fake agent's command started, in order."""
    return [int(p) for p in starts.read_text().splitlines()] if starts.exists() else []


def gone(pid: int) -> bool:
    """Exited and reaped, or at least no longer running."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def two_agents(
    tmp_path: Path, mode: str, *, restarts: int, deadline: float = 60.0
) -> tuple[Supervisor, list[int], dict[str, Path]]:
    """a0 runs the fake in ``mode``, a1 a fine one; returns the supervisor, a list the
    progress callback appends to, and the files where each agent's starts are recorded."""
    run = RunDir(tmp_path / "run")
    run.logs.mkdir(parents=True)
    starts = {a: tmp_path / f"{a}.starts" for a in ("a0", "a1")}
    steps: list[int] = []
    supervisor = Supervisor(
        run,
        [fake(run, "a0", mode, starts["a0"]), fake(run, "a1", "fine", starts["a1"])],
        agents=["a0", "a1"],
        deadline=deadline,
        progress=steps.append,
        restarts=restarts,
    )
    return supervisor, steps, starts


def restart_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "hemesh.spawn" and r.levelno == logging.WARNING
    ]


def test_an_agent_killed_once_is_restarted_and_its_progress_counted_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor, steps, starts = two_agents(tmp_path, "crash_once", restarts=1)
    with caplog.at_level(logging.WARNING, logger="hemesh.spawn"):
        asyncio.run(supervisor.run())
    assert supervisor.restarts == {"a0": 1, "a1": 0}
    first, second = started(starts["a0"])
    assert supervisor.pids["a0"] == second != first
    (warning,) = restart_warnings(caplog)
    assert f"agent a0 (pid {first}) was killed by signal SIGKILL; restarting (1 of 1)" in warning
    assert "boom 1" in warning  # the last line of its stderr
    # a0's log: k = 0, 1, 2 | 2 (resumed), 3, 4, 5; the line it wrote again is not counted
    assert len(supervisor._run.log("a0").read_text().splitlines()) == 7
    assert sum(steps) == 5 + 5  # iterations 1..5 of each agent, once


def test_without_restarts_a_killed_agent_fails_the_run_as_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor, _, starts = two_agents(tmp_path, "crash_once", restarts=0)
    with (
        caplog.at_level(logging.WARNING, logger="hemesh.spawn"),
        pytest.raises(ScenarioError) as failed,
    ):
        asyncio.run(supervisor.run())
    (pid,) = started(starts["a0"])
    message = str(failed.value)
    assert message.startswith(f"run failed: agent a0 (pid {pid}) was killed by signal SIGKILL;")
    assert "boom 1" in message
    assert "restarted" not in message
    assert restart_warnings(caplog) == []
    assert supervisor.restarts == {"a0": 0, "a1": 0}


def test_an_agent_that_always_crashes_fails_the_run_after_its_restarts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor, _, starts = two_agents(tmp_path, "always_crash", restarts=2)
    with (
        caplog.at_level(logging.WARNING, logger="hemesh.spawn"),
        pytest.raises(ScenarioError) as failed,
    ):
        asyncio.run(supervisor.run())
    pids = started(starts["a0"])
    assert len(pids) == 3  # the first start and 2 restarts
    message = str(failed.value)
    assert message.startswith(f"run failed: agent a0 (pid {pids[-1]}) exited with code 3;")
    assert "boom 3" in message and "boom 1" not in message  # the stderr of the last process
    assert "a0 had been restarted 2 time(s)" in message
    warnings = restart_warnings(caplog)
    assert [w.split("; ")[1] for w in warnings] == ["restarting (1 of 2)", "restarting (2 of 2)"]
    assert [f"(pid {pid})" in w for pid, w in zip(pids, warnings, strict=False)] == [True, True]
    assert supervisor.restarts == {"a0": 2, "a1": 0}


@pytest.mark.parametrize("how", ["SIGTERM", "cancel"])
def test_stopping_the_run_stops_a_restarted_agent(tmp_path: Path, how: str) -> None:
    assert threading.current_thread() is threading.main_thread()  # SIGTERM goes to our handler
    supervisor, _, starts = two_agents(tmp_path, "crash_then_hang", restarts=3)
    seen: list[int] = []

    async def main() -> None:
        running = asyncio.create_task(supervisor.run())
        async with asyncio.timeout(30):  # until a0's second process runs, supervised
            while True:
                pids = started(starts["a0"])
                if len(pids) == 2 and supervisor.pids.get("a0") == pids[-1]:
                    break
                await asyncio.sleep(0.02)
        seen.append(supervisor.pids["a0"])
        assert supervisor.restarts["a0"] == 1
        if how == "SIGTERM":
            os.kill(os.getpid(), signal.SIGTERM)
            with pytest.raises(ScenarioError, match="stopped by SIGTERM"):
                await running
        else:
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running

    asyncio.run(main())
    (pid,) = seen
    assert gone(pid)
    assert all(gone(p) for p in started(starts["a0"]) + started(starts["a1"]))


@pytest.mark.slow
def test_a_real_agent_killed_mid_run_is_restarted_and_the_run_converges(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``hemesh agent`` processes on the embedded broker: a2 is killed by PID mid-run;
    the supervisor starts it again, it resumes from its checkpoint, the run finishes."""
    doc = {
        "name": "ring5",
        "seed": 1,
        "iterations": 60,
        "topology": {"kind": "ring", "n": 5},
        "problem": {"kind": "least_squares", "dim": 5},
        "algorithm": {"kind": "paillier"},
        "crypto": {"key_bits": 256, "insecure_keys": True, "inline": True},
        "transport": {"kind": "mqtt", "broker": "embedded", "round_timeout": 0.5},
        "output": {"dir": str(tmp_path)},
    }
    steps: list[int] = []
    killed: list[int] = []
    restarted: list[int] = []

    def a2_lines() -> int:
        return sum(len(log.read_bytes().splitlines()) for log in tmp_path.glob("*/*/logs/a2.*"))

    async def kill_a2_mid_run() -> None:
        while True:
            pid = agent_pid("a2")
            if pid is not None and a2_lines() >= 15:
                break
            await asyncio.sleep(0.05)
        killed.append(pid)
        os.kill(pid, signal.SIGKILL)
        while True:  # the supervisor's new process
            again = agent_pid("a2")
            if again not in (None, pid):
                break
            await asyncio.sleep(0.05)
        restarted.append(again)

    async def main() -> list[Any]:
        killer = asyncio.create_task(kill_a2_mid_run())
        try:
            return await run_scenario(
                parse(doc, source="t"),
                spawn="processes",
                restarts=1,
                progress=lambda _, n: steps.append(n),
            )
        finally:
            killer.cancel()

    with caplog.at_level(logging.WARNING, logger="hemesh.spawn"):
        (result,) = asyncio.run(asyncio.wait_for(main(), timeout=240))
    (victim,) = killed
    (successor,) = restarted
    assert successor != victim
    # one restart, of a2 only: the supervisor warns once per restart
    (warning,) = restart_warnings(caplog)
    assert f"agent a2 (pid {victim}) was killed by signal SIGKILL; restarting (1 of 1)" in (warning)
    assert sum(steps) == 5 * 60  # every agent's every iteration once, resumed lines not again
    assert result.summary["iterations"] == 60
    assert result.summary["mse_final"] < 0.05 * result.summary["mse_initial"]
    (resumed_at,) = result.summary["resumed"]["a2"]  # and nobody else
    assert result.summary["resumed"].keys() == {"a2"} and 13 <= resumed_at < 60


def test_restarts_must_not_be_negative(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="restarts must be >= 0"):
        Supervisor(RunDir(tmp_path), [["true"]], agents=["a0"], deadline=1.0, restarts=-1)


def test_restarts_need_processes_and_checkpoints(tmp_path: Path) -> None:
    doc = {
        "name": "ring4",
        "iterations": 2,
        "topology": {"kind": "ring", "n": 4},
        "problem": {"kind": "least_squares", "dim": 2},
        "algorithm": {"kind": "clear"},
        "transport": {"kind": "mqtt", "broker": "mqtt://h:1883"},
        "output": {"dir": str(tmp_path), "checkpoint_every": 0},
    }
    scenario = parse(doc, source="t")
    with pytest.raises(ScenarioError, match=r"restarts = 1: needs spawn = 'processes'"):
        asyncio.run(run_scenario(scenario, spawn="tasks", restarts=1))
    with pytest.raises(ScenarioError, match=r"output.checkpoint_every = 0: .*restarts = 1"):
        asyncio.run(run_scenario(scenario, spawn="processes", restarts=1))
    assert not list(tmp_path.glob("ring4-*"))  # refused before the run directory


def test_cli_refuses_restarts_without_spawn_processes(tmp_path: Path) -> None:
    result = hemesh(
        "run", str(RING8), "--restarts", "1", "-o", str(tmp_path), cwd=tmp_path, columns=200
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "--restarts 1" in line
    assert "--spawn processes" in line
    assert not list(tmp_path.iterdir())


def test_cli_refuses_a_negative_restart_count(tmp_path: Path) -> None:
    result = hemesh(
        "run", str(RING8), "--spawn", "processes", "--restarts", "-1", cwd=tmp_path, columns=200
    )
    assert result.returncode == 2
    assert "Invalid value for '--restarts'" in result.stderr
    assert "greater than or equal to 0" in result.stderr
    assert not list(tmp_path.iterdir())


def test_cli_help_describes_restarts(tmp_path: Path) -> None:
    result = hemesh("run", "--help", cwd=tmp_path, columns=200)
    assert result.returncode == 0
    assert "restart a crashed agent process up to N times" in " ".join(result.stdout.split())
