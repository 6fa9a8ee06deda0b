"""The one place an exception becomes an exit code (DESIGN.md: translated at the boundary).

Exit codes: 0 success; 1 the run failed (:class:`RunFailed`, or a bare
:class:`ScenarioError`: an agent, the broker or the network); 2 bad input
(:class:`BadInput`: scenario file, run directory, command-line usage; nothing ran).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from .._errors import BadInput, ScenarioError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

F = TypeVar("F", bound=Callable[..., Any])
console = Console(stderr=True)


def exit_code(exc: ScenarioError) -> int:
    """The exit code of a command that raised ``exc``."""
    return EXIT_BAD_INPUT if isinstance(exc, BadInput) else EXIT_FAILED


def fail(message: str, code: int) -> typer.Exit:
    """Print ``message`` as one error line; the exit to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def mapped(command: F) -> F:
    """``command`` with every :class:`ScenarioError` it raises turned into one error
    line and the exit code of its class."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ScenarioError as exc:
            raise fail(str(exc), exit_code(exc)) from None

    return run  # type: ignore[return-value]


class App(typer.Typer):
    """A typer app whose every command goes through :func:`mapped`."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorator(function: F) -> F:
            register(mapped(function))
            return function

        return decorator
