"""Stopping child processes and the tasks around them, always within a bound.

Brokers, agent processes and crypto workers are all stopped the same way: by PID,
SIGTERM (or whatever polite request the caller already made), a bounded wait,
then SIGKILL for whatever is still there, and a bounded wait to reap it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

Process = asyncio.subprocess.Process


async def stop_processes(
    processes: Sequence[Process], *, grace: float, terminate: bool = True
) -> list[Process]:
    """Stop ``processes`` (concurrently) and return the ones that had to be killed.

    ``terminate=False``: the caller already asked them to exit (e.g. closed their
    stdin); they are only waited for, then killed.
    """
    running = [p for p in processes if p.returncode is None]
    if not running:
        return []
    if terminate:
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
    waits = {asyncio.ensure_future(p.wait()): p for p in running}
    _, pending = await asyncio.wait(waits, timeout=grace)
    late = [waits[task] for task in pending]
    for process in late:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await settle_tasks(list(waits), grace=grace)
    return late


async def settle_tasks(tasks: Sequence[asyncio.Task[Any]], *, grace: float) -> None:
    """Let ``tasks`` finish within ``grace`` seconds (e.g. readers of a stopped child's
    pipes), cancel the rest, and collect them all, errors included."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
