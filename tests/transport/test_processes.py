"""Stopping children by PID within a bound: the one way brokers, agents and workers end."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

from transport import settle_tasks, stop_processes

STUBBORN = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print(1, flush=True); time.sleep(60)"
)
POLITE = "import time; print(1, flush=True); time.sleep(60)"
ON_EOF = "import sys; print(1, flush=True); sys.stdin.read()"


async def child(code: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    await process.stdout.readline()  # running, signal handlers in place
    return process


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.asyncio
async def test_sigterm_then_sigkill_for_the_stubborn_only() -> None:
    polite, stubborn = await child(POLITE), await child(STUBBORN)
    started = time.monotonic()
    killed = await stop_processes([polite, stubborn], grace=0.5)
    assert killed == [stubborn]
    assert polite.returncode == -15 and stubborn.returncode == -9
    assert gone(polite.pid) and gone(stubborn.pid)
    assert time.monotonic() - started < 5  # one grace for all, not one each


@pytest.mark.asyncio
async def test_without_terminate_a_child_asked_otherwise_is_only_waited_for() -> None:
    worker, stuck = await child(ON_EOF), await child(POLITE)
    for process in (worker, stuck):
        assert process.stdin is not None
        process.stdin.close()  # the polite request: end of input
    killed = await stop_processes([worker, stuck], grace=0.5, terminate=False)
    assert killed == [stuck]
    assert worker.returncode == 0 and stuck.returncode == -9


@pytest.mark.asyncio
async def test_exited_processes_and_no_processes_are_fine() -> None:
    assert await stop_processes([], grace=0.1) == []
    done = await child(ON_EOF)
    assert done.stdin is not None
    done.stdin.close()
    await done.wait()
    assert await stop_processes([done], grace=0.1) == []


@pytest.mark.asyncio
async def test_settle_tasks_cancels_what_does_not_finish_in_time() -> None:
    quick = asyncio.create_task(asyncio.sleep(0.01, result="done"))
    slow = asyncio.create_task(asyncio.sleep(60))

    async def boom() -> None:
        raise RuntimeError("collected, not raised")

    failing = asyncio.create_task(boom())
    await settle_tasks([quick, slow, failing], grace=0.3)
    assert quick.result() == "done"
    assert slow.cancelled()
    assert isinstance(failing.exception(), RuntimeError)
    await settle_tasks([], grace=0.1)
