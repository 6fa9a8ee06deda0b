"""A run's broker children watched: when one exits under the agents' feet, the run
fails at once with one line, instead of every agent waiting out its reconnection
bound.

The embedded broker and a managed Mosquitto are child processes of the runner; both
tell when they exit (``wait_exited()``). :meth:`BrokerWatch.guard` awaits the agents
(tasks, or the supervisor of their processes) and cancels them when a watched
broker exits first; their cleanup runs, then :class:`RunFailed` names the broker, its
PID and how it ended (``embedded broker (pid 123) died: signal 9``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from .._errors import RunFailed

T = TypeVar("T")


class BrokerChild(Protocol):
    """A broker running as a child process of this one."""

    @property
    def pid(self) -> int: ...

    async def wait_exited(self) -> int: ...


def exit_reason(returncode: int) -> str:
    """``signal 9 (SIGKILL)`` or ``exit code 1``: how a child process ended."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        return f"signal {-returncode} ({signal.Signals(-returncode).name})"
    except ValueError:
        return f"signal {-returncode}"


@dataclass(frozen=True, slots=True)
class _Watched:
    name: str
    child: BrokerChild


class BrokerWatch:
    """The broker children of a run, each named (``embedded broker``, ``mosquitto``)
    while it is supposed to run."""

    def __init__(self) -> None:
        self._watched: list[_Watched] = []

    @contextlib.contextmanager
    def watching(self, name: str, child: BrokerChild) -> Iterator[None]:
        """Watch ``child`` for the span of the ``with`` (leave it before stopping it)."""
        entry = _Watched(name, child)
        self._watched.append(entry)
        try:
            yield
        finally:
            self._watched.remove(entry)

    async def guard(self, work: Awaitable[T]) -> T:
        """Await ``work`` in this task; should a watched broker exit first, ``work`` is
        cancelled (its cleanup runs) and :class:`RunFailed` names the broker."""
        task = asyncio.current_task()
        assert task is not None
        died: list[tuple[_Watched, int]] = []

        def exited(entry: _Watched, done: asyncio.Future[int]) -> None:
            if done.cancelled() or done.exception() is not None or died:
                return
            died.append((entry, done.result()))
            task.cancel()

        waits = []
        for entry in self._watched:
            wait = asyncio.ensure_future(entry.child.wait_exited())
            wait.add_done_callback(functools.partial(exited, entry))
            waits.append(wait)
        try:
            return await work
        except BaseException:
            # cancelled by us, or failing meanwhile because the broker went away
            if not died:
                raise
            if task.cancelling():
                task.uncancel()
            entry, code = died[0]
            raise RunFailed(
                f"{entry.name} (pid {entry.child.pid}) died: {exit_reason(code)}"
            ) from None
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
