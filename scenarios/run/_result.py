"""What a run returns, how its progress is reported, and how its agents are spawned."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents import AgentReport, Algorithm
from transport import Transport

from .._errors import BadInput, RunFailed
from ..results import Run, RunDir

Progress = Callable[[Algorithm, int], None]
"""Called with (algorithm, agent-iterations just completed) as agents advance."""

TransportFactory = Callable[[str], Transport]
"""Builds the transport of one algorithm's run from its run id (the seam tests use in
place of the scenario's broker; the runner still pads it and injects faults)."""


class SpawnMode(enum.StrEnum):
    """How ``hemesh run`` runs its agents."""

    TASKS = "tasks"
    """All agents as asyncio tasks of this process."""
    PROCESSES = "processes"
    """One ``hemesh agent`` process per agent."""


@dataclass(frozen=True, slots=True)
class RunResult:
    run: RunDir
    summary: dict[str, Any]
    reports: tuple[AgentReport, ...]
    crypto_ops: dict[str, int] | None = None
    """Ciphertexts encrypted, served and decrypted in this process (in-process runs)."""


def write_summary(run: RunDir) -> dict[str, Any]:
    """Compute ``run``'s summary from its directory and write ``summary.json`` (and
    ``metrics.jsonl``); a run whose logs cannot be summarized failed (:class:`RunFailed`)."""
    try:
        return Run.load(run).write_results()
    except BadInput as exc:
        raise RunFailed(f"run failed: {exc}") from exc
