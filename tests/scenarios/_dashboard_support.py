"""Helpers of the dashboard tests: tiny run directories and headless Chromium."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scenarios import RunResult, parse, run_scenario

INSECURE_TEST_BITS = 256
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_TIMEOUT = 90.0


def scenario(out: Path, *, name: str = "ring4", iterations: int = 8, **algorithm: Any) -> Any:
    return parse(
        {
            "name": name,
            "seed": 1,
            "iterations": iterations,
            "topology": {"kind": "ring", "n": 4},
            "problem": {"kind": "least_squares", "dim": 3},
            "algorithm": algorithm or {"kind": "clear"},
            "crypto": {"key_bits": INSECURE_TEST_BITS, "insecure_keys": True, "inline": True},
            "transport": {"kind": "memory", "round_timeout": 10},
            "output": {"dir": str(out)},
        },
        source="test",
    )


def make_runs(out: Path, **kwargs: Any) -> list[RunResult]:
    return asyncio.run(run_scenario(scenario(out, **kwargs)))


def chromium() -> str:
    """The chromium binary, or skip (fail with HEMESH_REQUIRE_CHROMIUM=1)."""
    found = shutil.which("chromium") or (CHROMIUM if os.access(CHROMIUM, os.X_OK) else None)
    if found is None:
        if os.environ.get("HEMESH_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is required (HEMESH_REQUIRE_CHROMIUM=1) but not installed")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return found


def run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium to completion, bounded; its whole process group is stopped."""
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=CHROMIUM_TIMEOUT)
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def console_errors(stderr: str) -> list[str]:
    """Lines of Chromium's log that report a page error or a console message."""
    return [
        line
        for line in stderr.splitlines()
        if "Uncaught" in line or ":CONSOLE(" in line or "console error" in line.lower()
    ]
