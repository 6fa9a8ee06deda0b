"""The broker (embedded, or the run's Mosquitto) killed under a running ``hemesh run``:
the runner notices its child exited and fails within a couple of round timeouts with
one line, exit 1, and no process left (broker, agents, crypto workers)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from scenarios import RunFailed
from scenarios.deploy import BrokerWatch, exit_reason
from scenarios.run._tasks import _failure_summary
from tests._brokers import free_port, require_mosquitto
from tests.scenarios._stopping import (
    ROUND_TIMEOUT,
    assert_all_gone,
    child_env,
    descendants,
    path3,
    wait_for_logs,
)
from tests.scenarios.support import children_of, hemesh, start_hemesh, write_toml

BROKER_MODULE = "transport.embedded._server"


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["embedded", "mosquitto"])
@pytest.mark.parametrize("spawn", ["tasks", "processes"])
def test_a_killed_broker_fails_the_run_at_once(
    tmp_path: Path, stopped_at_end: list[subprocess.Popen[str]], spawn: str, broker: str
) -> None:
    if broker == "mosquitto":
        require_mosquitto()
    scenario = write_toml(tmp_path / "s.toml", path3(tmp_path / "runs", broker))
    run = start_hemesh(
        "run", str(scenario), "--json", "--spawn", spawn, cwd=tmp_path, env=child_env(tmp_path)
    )
    stopped_at_end.append(run)
    wait_for_logs(tmp_path / "runs", agents=3, lines=3)
    tree = descendants(run.pid)
    mark, name = (BROKER_MODULE, "embedded broker") if broker == "embedded" else ("-c", "mosquitto")
    (pid,) = [p for p, c in children_of(run.pid).items() if mark in c]
    assert any("agents._crypto_worker" in c for c in tree.values())  # they have workers
    if spawn == "processes":
        assert sum("agent" in c for c in tree.values()) >= 3
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    _, stderr = run.communicate(timeout=60)
    took = time.monotonic() - killed
    assert run.returncode == 1, stderr
    assert stderr.strip().splitlines() == [f"error: {name} (pid {pid}) died: signal 9 (SIGKILL)"]
    assert took < 3 * ROUND_TIMEOUT, f"noticed after {took:.1f} s"
    assert_all_gone(tree)


class _Child:
    """A broker child that exits when told to."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def wait_exited(self) -> int:
        return await asyncio.shield(self.exited)  # each watcher's wait is its own


def test_the_watch_cancels_the_work_and_names_the_broker() -> None:
    cleaned: list[bool] = []

    async def work() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.append(True)

    async def main() -> None:
        watch = BrokerWatch()
        child = _Child(1234)
        with watch.watching("embedded broker", child):
            asyncio.get_running_loop().call_later(0.05, child.exited.set_result, -9)
            async with asyncio.timeout(5):
                with pytest.raises(RunFailed) as failed:
                    await watch.guard(work())
        assert str(failed.value) == "embedded broker (pid 1234) died: signal 9 (SIGKILL)"
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0  # nothing left pending on us

    asyncio.run(main())
    assert cleaned == [True]


def test_the_watch_lets_finished_work_through_and_forgets_a_broker_it_left() -> None:
    async def main() -> None:
        watch = BrokerWatch()
        child = _Child(1)
        with watch.watching("mosquitto", child):
            assert await watch.guard(asyncio.sleep(0.01, "done")) == "done"
        child.exited.set_result(0)  # stopped on purpose, after it was left
        assert await watch.guard(asyncio.sleep(0.01, "again")) == "again"
        with pytest.raises(ValueError, match="mine"):  # the work's own error passes through
            await watch.guard(_fails())

    asyncio.run(main())


async def _fails() -> None:
    raise ValueError("mine")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (-9, "signal 9 (SIGKILL)"),
        (-15, "signal 15 (SIGTERM)"),
        (1, "exit code 1"),
        (0, "exit code 0"),
    ],
)
def test_exit_reasons(code: int, reason: str) -> None:
    assert exit_reason(code) == reason


def test_a_run_on_a_url_where_nothing_listens_fails_in_one_line(tmp_path: Path) -> None:
    """Agents in tasks on a broker URL: each one's failure, said once, alike ones grouped."""
    url = f"mqtt://127.0.0.1:{free_port()}"
    scenario = write_toml(tmp_path / "s.toml", path3(tmp_path / "runs", url))
    done = hemesh("run", str(scenario), "--json", cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()
    where = re.escape(url)
    prefix = rf"^error: run failed: agent a\d: ConnectionLost: cannot reach broker {where}: "
    assert re.match(prefix, line), line
    assert line.count("cannot reach broker") == 1, line  # the agents that failed alike, once
    assert not re.search(r"agent a\d: ConnectionLost: agent", line), line  # named once


def test_agents_that_failed_alike_are_named_after_one_line() -> None:
    lines = {
        "a0": "agent a0: ConnectionLost: lost broker mqtt://h:1 within 60 s (45 attempts)",
        "a1": "agent a1: AgentError: bad reply",
        "a2": "agent a2: ConnectionLost: lost broker mqtt://h:1 within 60 s (44 attempts)",
        "a3": "agent a3: ConnectionLost: lost broker mqtt://h:1 within 60 s (41 attempts)",
    }
    assert _failure_summary(lines) == (
        "agent a0: ConnectionLost: lost broker mqtt://h:1 within 60 s (45 attempts) "
        "(likewise 2 more: a2, a3); agent a1: AgentError: bad reply"
    )
    assert _failure_summary({"a0": lines["a0"]}) == lines["a0"]
