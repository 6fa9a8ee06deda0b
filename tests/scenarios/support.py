"""Helpers shared by the scenario tests: the ``hemesh`` command, child processes,
scenario documents and files.

Imported as ``tests.scenarios.support`` (``tests`` is a package, so pytest puts the
project root on ``sys.path``).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from agents import new_identities
from scenarios import Series
from scenarios.results import RunDir

INSECURE_TEST_BITS = 256


def ring8(
    out: Path, broker: str, *, iterations: int, kind: str = "paillier", **extra: Any
) -> dict[str, Any]:
    return {
        "name": "ring8",
        "seed": 1,
        "iterations": iterations,
        "topology": {"kind": "ring", "n": 8},
        "problem": {"kind": "least_squares", "dim": 5},
        "algorithm": {"kind": kind, **extra},
        "crypto": {"key_bits": INSECURE_TEST_BITS, "insecure_keys": True, "inline": True},
        "transport": {"kind": "mqtt", "broker": broker, "round_timeout": 10, "startup_timeout": 30},
        "output": {"dir": str(out)},
    }


def write_toml(path: Path, doc: dict[str, Any]) -> Path:
    """A scenario file: the tests' dicts are two levels deep at most."""
    lines = [f"{k} = {json.dumps(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for section, values in doc.items():
        if isinstance(values, dict):
            lines.append(f"[{section}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def hemesh_command(*args: str) -> list[str]:
    """The command line of ``hemesh ARGS`` (``python -m scenarios ARGS``)."""
    return [sys.executable, "-m", "scenarios", *args]


def hemesh(
    *args: str,
    cwd: Path,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    columns: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``hemesh ARGS`` to its end (bounded by ``timeout``); its output as text.
    ``columns``: the terminal width rich wraps its help and errors to."""
    if columns is not None:
        env = {**(env if env is not None else os.environ), "COLUMNS": str(columns)}
    return subprocess.run(
        hemesh_command(*args),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_hemesh(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``hemesh ARGS`` in the background (stop it by PID: ``stopped_at_end``)."""
    return subprocess.Popen(
        hemesh_command(*args),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


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


def agent_pid(agent: str, parent: int | None = None) -> int | None:
    """The pid of the ``hemesh agent --id AGENT`` child of ``parent`` (default: this
    process), or None while there is none."""
    for pid, command in children_of(os.getpid() if parent is None else parent).items():
        where = [i for i, word in enumerate(command) if word == agent and i > 0]
        if "agent" in command and any(command[i - 1] == "--id" for i in where):
            return pid
    return None


def wait_for_lines(path: Path, lines: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and path.read_text().count("\n") >= lines:
            return
        time.sleep(0.02)
    pytest.fail(f"{path} did not reach {lines} lines within {timeout} s")


def mse_of(series: Series) -> npt.NDArray[np.float64]:
    """A run's MSE series; the run must have had an x* (every least-squares run has)."""
    assert series.mse is not None, "this run has no x*, so no MSE"
    return series.mse


def write_identities(run_dir: Path, run: str, agents: int) -> None:
    """What the runner writes for a lone ``hemesh agent``: the roster of run ``run`` and
    each of the ``agents`` agents' secret identity, in ``run_dir``."""
    directory = RunDir(run_dir)
    roster, identities = new_identities(run, [f"a{i}" for i in range(agents)])
    for agent, identity in identities.items():
        identity.save(directory.identity(agent))
    roster.save(directory.roster)


def heard(record: Path) -> collections.Counter[tuple[str, int, str, str]]:
    """The envelopes in an eavesdropper's record: (kind, iteration, from, to), counted."""
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    envelopes = [line["envelope"] for line in lines if "envelope" in line]
    return collections.Counter((e["kind"], e["k"], e["from"], e["to"]) for e in envelopes)
