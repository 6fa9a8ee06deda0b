"""Fixtures of the scenario tests: processes a test starts are stopped by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def children_of(pid: int) -> dict[int, list[str]]:
    """Processes whose parent is ``pid``, with their command lines (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found[int(entry.name)] = [c.decode() for c in cmdline if c]
    return found


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
