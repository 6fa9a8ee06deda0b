"""A crashed agent container resumes: its restart policy starts it again, it resumes from
its checkpoint in the logs volume, and the run converges (issue #15).

The crash is a SIGKILL of the container's process from outside, as the kernel's OOM
killer or a fault would deliver it: the engine sees exit 137 and applies
``restart: on-failure``, which ``docker kill`` / ``podman kill`` would not (a stop by
the user is not a failure).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenarios import Run, find_runs, read_log, write_compose
from tests.containers._engine import Engine, Project, project
from tests.containers._ring import AGENTS, project_name, ring_scenario

pytestmark = [pytest.mark.containers, pytest.mark.slow, pytest.mark.timeout(900)]

ITERATIONS = 60
VICTIM = "a2"
KILL_AFTER = 10
"""Iterations the victim has logged when it is killed."""


@pytest.fixture
def compose_run(
    tmp_path: Path, engine: Engine, hemesh_image: str
) -> Iterator[tuple[Project, Path]]:
    scenario = ring_scenario(tmp_path / "scenario", iterations=ITERATIONS)
    written = write_compose(scenario, tmp_path / "deploy" / "compose.yml", image=hemesh_image)
    with project(engine, written.compose, project_name()) as started:
        yield started, written.run_dir


def wait_for_lines(log: Path, count: int, *, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            lines = log.read_bytes().count(b"\n")
            if lines >= count:
                return lines
        time.sleep(0.02)
    pytest.fail(f"{log} has fewer than {count} lines after {timeout:.0f} s")


def test_a_killed_agent_container_restarts_resumes_and_the_run_converges(
    compose_run: tuple[Project, Path],
) -> None:
    compose, run_dir = compose_run
    agents = [f"a{i}" for i in range(AGENTS)]
    compose.up()
    volume = compose.volume_path(VICTIM, "/runs")
    log = volume / run_dir.parent.name / run_dir.name / "logs" / f"{VICTIM}.jsonl"
    logged = wait_for_lines(log, KILL_AFTER, timeout=180)
    pid = int(str(compose.state(VICTIM)["Pid"]))
    assert pid > 0
    os.kill(pid, signal.SIGKILL)  # the agent process itself (the container's pid 1)
    exits = compose.wait_for_exit(agents, timeout=300)
    for done in exits:
        assert done.exit_code == 0, f"{done.service} exited {done.exit_code}:\n{done.output}"
    victim = next(e for e in exits if e.service == VICTIM)
    assert victim.restarts >= 1  # started again by its restart policy
    report = json.loads(victim.output.strip().splitlines()[-1])
    assert report["iterations"] == ITERATIONS
    assert report["resumed_at"] is not None
    assert report["resumed_at"] >= logged - 1  # from its checkpoint, not from scratch
    others = [e for e in exits if e.service != VICTIM]
    assert all(e.restarts == 0 for e in others)

    compose.copy_out("a0", "/runs/.", run_dir.parent.parent)
    (found,) = find_runs(run_dir)
    # what it logged before it died: it resumes where its last checkpoint (every
    # iteration, written just before the log line) left it, however long the kill took
    lines = read_log(found.log(VICTIM)).records
    before = lines[: next(i for i, r in enumerate(lines) if r.get("resumed"))]
    killed_at = before[-1]["k"]
    assert killed_at <= report["resumed_at"] <= killed_at + 1, (killed_at, report)
    run = Run.load(found)
    _, states = run.states()
    assert states.shape == (ITERATIONS + 1, AGENTS, 4)  # every agent logged every iteration
    summary = run.summary()
    assert summary["iterations"] == ITERATIONS
    assert summary["mse_ratio"] < 0.05, summary  # converged despite the crash
    print(f"victim resumed at {report['resumed_at']} (killed at {killed_at}); {summary}")
