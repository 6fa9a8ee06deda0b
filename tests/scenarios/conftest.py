"""Fixtures of the scenario tests: processes a test starts are stopped by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest

from tests.scenarios.support import children_of


@pytest.fixture
def stopped_at_end() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; stopped by PID (with their children) when it ends."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        leftovers = children_of(process.pid)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
