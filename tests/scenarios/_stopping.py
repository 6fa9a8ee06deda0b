"""What the interrupt and broker-death tests share: a small paillier scenario with its
own crypto workers, the process tree of a run, and waiting for it to be gone."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.scenarios.support import INSECURE_TEST_BITS, children_of

ROUND_TIMEOUT = 4.0


def path3(out: Path, broker: str, *, iterations: int = 20000) -> dict[str, Any]:
    """Three agents on a path, paillier with a crypto pool of one worker (not inline):
    the run has broker, agents and crypto workers to leave behind."""
    return {
        "name": "path3",
        "seed": 1,
        "iterations": iterations,
        "topology": {"kind": "path", "n": 3},
        "problem": {"kind": "least_squares", "dim": 3},
        "algorithm": {"kind": "paillier"},
        "crypto": {"key_bits": INSECURE_TEST_BITS, "insecure_keys": True, "workers": 1},
        "transport": {
            "kind": "mqtt",
            "broker": broker,
            "round_timeout": ROUND_TIMEOUT,
            "startup_timeout": 60,
        },
        "output": {"dir": str(out)},
    }


def descendants(pid: int) -> dict[int, list[str]]:
    """Every process below ``pid`` (children, grandchildren...), with command lines."""
    found: dict[int, list[str]] = {}
    todo = [pid]
    while todo:
        for child, command in children_of(todo.pop()).items():
            found[child] = command
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_all_gone(pids: dict[int, list[str]], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while left := {p: c for p, c in pids.items() if alive(p)}:
        if time.monotonic() > deadline:
            pytest.fail(f"processes left: {left}")
        time.sleep(0.05)


def wait_for_logs(runs: Path, agents: int, lines: int, timeout: float = 90.0) -> list[Path]:
    """The agents' logs once each holds ``lines`` lines (the run is under way)."""
    deadline = time.monotonic() + timeout
    while True:
        logs = sorted(runs.glob("*/*/logs/*.jsonl"))
        if len(logs) == agents and all(_lines(p) >= lines for p in logs):
            return logs
        if time.monotonic() > deadline:
            pytest.fail(f"the run did not get going: {[(p.name, _lines(p)) for p in logs]}")
        time.sleep(0.05)


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def child_env(tmp: Path) -> dict[str, str]:
    """The environment of a ``hemesh`` child whose temporary files go to ``tmp``."""
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp)}


SECRET_NAMES = ("credentials.json", "passwd")


def secrets_under(folder: Path, passwords: tuple[str, ...] = ()) -> list[Path]:
    """Files under ``folder`` that hold broker secrets: by name, a Mosquitto password
    hash, or one of ``passwords``."""
    found = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.name in SECRET_NAMES:
            found.append(path)
            continue
        try:
            text = path.read_bytes()
        except OSError:
            continue
        if b"$7$101$" in text or any(p.encode() in text for p in passwords):
            found.append(path)
    return found
