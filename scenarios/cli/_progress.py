"""Progress display for long CLI steps: rich bars on a terminal, plain lines otherwise.

When stderr is not a terminal (piped, CI, a log file) rich would draw nothing
until the end; here each task prints a line at every tenth of its total and at
its end instead, so a log shows how far a run got.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class StepProgress:
    """``with StepProgress(console) as p: t = p.add("paillier", 60); p.update(t, 10)``."""

    def __init__(
        self, console: Console, *, disable: bool = False, unit: str = "iterations"
    ) -> None:
        self._console = console
        self._disable = disable
        self._unit = unit
        self._plain = not console.is_terminal
        self._bar = Progress(
            TextColumn("{task.description:>10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=disable or self._plain,
        )
        self._tasks: dict[TaskID, tuple[str, int]] = {}
        self._printed: dict[TaskID, int] = {}
        self._started = time.monotonic()

    @property
    def plain(self) -> bool:
        """True when progress is printed as plain lines (not a terminal)."""
        return self._plain

    def __enter__(self) -> StepProgress:
        self._bar.__enter__()
        self._started = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.__exit__(exc_type, exc, tb)

    def add(self, description: str, total: int) -> TaskID:
        task = self._bar.add_task(description, total=total)
        self._tasks[task] = (description, total)
        self._printed[task] = -1
        return task

    def update(self, task: TaskID, completed: int) -> None:
        self._bar.update(task, completed=completed)
        if not self._plain or self._disable or completed <= 0:
            return
        description, total = self._tasks[task]
        step = max(1, total // 10)
        if completed >= total or completed // step > self._printed[task] // step:
            if completed == self._printed[task]:
                return
            self._printed[task] = completed
            elapsed = time.monotonic() - self._started
            self._console.print(
                f"{description}: {completed}/{total} {self._unit} ({elapsed:.1f} s)",
                highlight=False,
                soft_wrap=True,
            )
