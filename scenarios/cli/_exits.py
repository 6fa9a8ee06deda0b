"""The one place an exception becomes an exit code (DESIGN.md: translated at the boundary).

Exit codes: 0 success; 1 the run failed (:class:`RunFailed`, or a bare
:class:`ScenarioError`: an agent, the broker or the network); 2 bad input
(:class:`BadInput`: scenario file, run directory, command-line usage; nothing ran).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
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


def main(app: typer.Typer, *, prog_name: str, args: Sequence[str] | None = None) -> None:
    """Run ``app`` as a console script: a bad option or argument value (out of range, of
    the wrong type) is one error line naming the option and the value, exit 2, like any
    other bad input; help and the other usage errors print as click prints them."""
    given = list(sys.argv[1:] if args is None else args)
    try:
        code = app(prog_name=prog_name, args=given, standalone_mode=False)
    except typer.BadParameter as exc:
        value = _value_given(getattr(exc.param, "opts", []), given)
        shown = f" (got {value!r})" if value is not None and value not in exc.message else ""
        message = exc.format_message().replace("\n", " ") + shown
        raise SystemExit(fail(message, EXIT_BAD_INPUT).exit_code) from None
    except typer.Abort:
        raise SystemExit(EXIT_FAILED) from None
    except typer.TyperException as exc:  # click's other usage errors, help without arguments
        show: Any = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        raise SystemExit(getattr(exc, "exit_code", EXIT_BAD_INPUT)) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _value_given(opts: Sequence[str], args: list[str]) -> str | None:
    """What the command line gave for the option spelled ``opts`` (its last occurrence)."""
    value = None
    for i, word in enumerate(args):
        for name in opts:
            if word == name and i + 1 < len(args):
                value = args[i + 1]
            elif word.startswith(name + "="):
                value = word.removeprefix(name + "=")
    return value
