"""SIGINT and SIGTERM, handled alike: the work is cancelled, its cleanup runs (children
stopped by PID, logs closed), and :class:`Interrupted` says which signal it was.

``hemesh run`` and ``hemesh agent`` exit with ``128 + signal`` (130 for SIGINT, 143 for
SIGTERM) after one line. A second signal during the cleanup is ignored: the cleanup
is bounded. Handlers nest: inside an :func:`interruptible` await, an inner one (the
supervisor's, say) leaves the signals to the outer one.
"""

from __future__ import annotations

import asyncio
import contextvars
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .._errors import RunFailed

T = TypeVar("T")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a run or an agent cleanly."""

_HANDLING: contextvars.ContextVar[bool] = contextvars.ContextVar("hemesh_signals", default=False)


class Interrupted(RunFailed):
    """A run or an agent stopped by SIGINT or SIGTERM (its cleanup done)."""

    def __init__(self, message: str, signum: signal.Signals) -> None:
        super().__init__(message)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """What a shell reports for a process killed by the signal: 128 + its number."""
        return 128 + int(self.signum)


async def interruptible(work: Awaitable[T], *, message: Callable[[signal.Signals], str]) -> T:
    """Await ``work`` in this task; SIGINT or SIGTERM cancel it, and once its cleanup has
    run, :class:`Interrupted` is raised with ``message(signal)``.

    Off the main thread (no signal handlers there), or inside another
    :func:`interruptible`, ``work`` is simply awaited."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    if _HANDLING.get():
        return await work
    caught: list[signal.Signals] = []

    def on_signal(signum: signal.Signals) -> None:
        if not caught:  # the first one counts; later ones would cut the cleanup short
            caught.append(signum)
            task.cancel()

    installed = []
    try:
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
        for signum in installed:
            loop.remove_signal_handler(signum)
        return await work
    token = _HANDLING.set(True)
    try:
        return await work
    except BaseException:
        # cancelled, or failing while cancelled (a TaskGroup of agents, say)
        if not caught:
            raise
        if task.cancelling():
            task.uncancel()
        raise Interrupted(message(caught[0]), caught[0]) from None
    finally:
        _HANDLING.reset(token)
        for signum in installed:
            loop.remove_signal_handler(signum)
