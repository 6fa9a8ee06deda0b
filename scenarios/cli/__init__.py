"""The ``hemesh`` command line: the typer app, its tables and progress display, the bench."""

from ._app import app, main
from ._exits import EXIT_BAD_INPUT, EXIT_FAILED, exit_code

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "app", "exit_code", "main"]
