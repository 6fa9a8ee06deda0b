"""Convergence metrics, computed from a run directory alone.

MSE(k)        = (1/N) sum_i ||x_i(k) - x*||^2
consensus(k)  = (1/N) sum_i ||x_i(k) - xbar(k)||^2
gap(k)        = F(xbar(k)) - F(x*)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import BadInput
from ..assembly import Problem
from ._json import read_json, read_jsonl
from ._rundir import RunDir

log = logging.getLogger("hemesh.metrics")
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AgentLog:
    agent: str
    records: list[dict[str, Any]]
    bad_lines: list[int] = field(default_factory=list)
    """1-based numbers of lines that were not valid JSON records (e.g. cut off by a kill)."""


def read_log(path: Path) -> AgentLog:
    """Read one agent's JSONL log, skipping (and reporting) lines that do not parse."""
    lines = read_jsonl(path, iteration=True)
    for number in lines.bad_lines:
        log.warning("%s: line %d is not a complete record; skipped", path, number)
    return AgentLog(path.stem, lines.records, lines.bad_lines)


def read_audit(run: RunDir) -> dict[str, Any] | None:
    """The audit summary of a run directory, or None when it had no adversaries."""
    path = run.adversaries.audit
    if not path.is_file():
        return None
    result: dict[str, Any] = read_json(path)
    return result


@dataclass(frozen=True, slots=True)
class Series:
    """Per-iteration metrics over the iterations every agent logged a state for."""

    k: npt.NDArray[np.int64]
    mse: FloatArray
    consensus: FloatArray
    gap: FloatArray
    errors: FloatArray | None = None
    """Each agent's squared error ||x_i(k) - x*||^2, shape (K, N)."""


@dataclass(frozen=True, slots=True)
class Run:
    """A run directory, loaded."""

    dir: RunDir
    resolved: dict[str, Any]
    problem: Problem
    logs: dict[str, AgentLog]

    @classmethod
    def load(cls, run: RunDir) -> Run:
        try:
            resolved = run.read_json(run.resolved.name)
            problem = Problem.load(run.problem)
        except (OSError, ValueError, KeyError) as exc:
            raise BadInput(f"{run.path}: not a readable run directory: {exc}") from exc
        logs = {p.stem: read_log(p) for p in run.agent_logs()}
        if not logs:
            raise BadInput(f"{run.path}: no agent logs in {run.logs}")
        return cls(run, resolved, problem, logs)

    @property
    def algorithm(self) -> str:
        return str(self.resolved["algorithm"]["kind"])

    def states(self) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Iterations logged by every agent, and the states: shape (K, N, d)."""
        per_agent: list[dict[int, list[float]]] = []
        for agent_log in self.logs.values():
            xs = {r["k"]: r["x"] for r in agent_log.records if "x" in r}
            if not agent_log.records:
                raise BadInput(
                    f"{self.dir.path}: agent {agent_log.agent} logged no iteration "
                    "(it stopped before its first line)"
                )
            if not xs:
                raise BadInput(
                    f"{self.dir.path}: agent {agent_log.agent} logged no states "
                    "(output.record = 'digest'); metrics need record = 'state'"
                )
            per_agent.append(xs)
        common = sorted(set.intersection(*(set(xs) for xs in per_agent)))
        ks = np.array(common, dtype=np.int64)
        states = np.array([[xs[k] for xs in per_agent] for k in common], dtype=np.float64)
        return ks, states.reshape(len(common), len(per_agent), self.problem.dim)

    def series(self) -> Series:
        ks, x = self.states()
        x_star = self.problem.x_star
        if x_star is None:
            raise BadInput(f"{self.dir.path}: the problem has no x*, so no MSE or objective gap")
        errors = np.sum((x - x_star) ** 2, axis=2)  # (K, N)
        mse = np.mean(errors, axis=1)
        mean = x.mean(axis=1, keepdims=True)
        consensus = np.mean(np.sum((x - mean) ** 2, axis=2), axis=1)
        f_star = self.problem.total(x_star)
        gap = np.array([self.problem.total(m[0]) - f_star for m in mean])
        return Series(ks, mse, consensus, gap, errors)

    def summary(self) -> dict[str, Any]:
        """The numbers ``hemesh run`` and ``hemesh summarize`` print. A run that logged
        digests instead of states (output.record = 'digest') has no convergence metrics:
        those entries are None."""
        records = [r for agent_log in self.logs.values() for r in agent_log.records]
        times = [r["t"] for r in records]
        digests = self.resolved.get("output", {}).get("record") == "digest"
        convergence: dict[str, Any] = dict.fromkeys(
            (
                "mse_initial",
                "mse_final",
                "mse_ratio",
                "consensus_initial",
                "consensus_final",
                "objective_gap_final",
            ),
        )
        iterations = max((int(r["k"]) for r in records), default=0)
        if not digests and self.problem.x_star is not None:  # no x*: mlp, a python factory
            s = self.series()
            iterations = int(s.k[-1]) if len(s.k) else 0
            convergence = {
                "mse_initial": float(s.mse[0]),
                "mse_final": float(s.mse[-1]),
                "mse_ratio": float(s.mse[-1] / s.mse[0]) if s.mse[0] > 0 else None,
                "consensus_initial": float(s.consensus[0]),
                "consensus_final": float(s.consensus[-1]),
                "objective_gap_final": float(s.gap[-1]),
            }
        return {
            "run": str(self.dir.path),
            "algorithm": self.algorithm,
            "agents": len(self.logs),
            "iterations": iterations,
            **convergence,
            "wall_seconds": float(max(times) - min(times)),
            "messages_sent": int(sum(r.get("msgs_out", 0) for r in records)),
            "bytes_sent": int(sum(r.get("bytes_out", 0) for r in records)),
            "crypto_seconds": float(sum(r.get("crypto_s", 0.0) for r in records)),
            "wait_seconds": float(sum(r.get("wait_s", 0.0) for r in records)),
            "skipped_edges": int(sum(len(r.get("skipped", [])) for r in records)),
            "jumped_iterations": int(sum(bool(r.get("jumped")) for r in records)),
            "resumed": {
                a: [r["k"] for r in lg.records if r.get("resumed")]
                for a, lg in self.logs.items()
                if any(r.get("resumed") for r in lg.records)
            },
            "bad_log_lines": {a: lg.bad_lines for a, lg in self.logs.items() if lg.bad_lines},
            "audit": read_audit(self.dir),
        }
