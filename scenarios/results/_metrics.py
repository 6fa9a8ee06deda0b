"""Convergence and learning metrics, computed from a run directory alone.

With x* (convex problems)::

    MSE(k)        = (1/N) sum_i ||x_i(k) - x*||^2
    gap(k)        = F(xbar(k)) - F(x*)

Always::

    consensus(k)  = (1/N) sum_i ||x_i(k) - xbar(k)||^2
    train loss    = F(x)/N = (1/N) sum_j f_j(x), for x = xbar(k) (the network average) and
                    for x = x_i(k) (each agent's model), so every number is on one scale

With held-out rows: the test loss (and the test accuracy, for a classifier) of xbar(k) and
of each x_i(k), from :meth:`Problem.evaluate`. Losses and accuracies cost a pass over the
data per model, so they are evaluated on a grid of the K logged iterations: every
``max(1, K // 200)``-th one, and the last (:func:`evaluation_grid`).
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
from ._json import read_json, read_jsonl, write_json, write_jsonl
from ._leakage import Leakage, read_leakage
from ._rundir import RunDir, find_runs
from ._series import Series, entry, evaluation_grid, finite

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
        """The metrics of every iteration all agents logged a state for (see the module)."""
        ks, x = self.states()
        problem, n = self.problem, x.shape[1]
        mean = x.mean(axis=1, keepdims=True)
        consensus = np.mean(np.sum((x - mean) ** 2, axis=2), axis=1)
        mse = gap = errors = None
        if problem.x_star is not None:
            errors = np.sum((x - problem.x_star) ** 2, axis=2)  # (K, N)
            mse = np.mean(errors, axis=1)
            f_star = problem.total(problem.x_star)
            gap = np.array([problem.total(m[0]) - f_star for m in mean])
        grid = evaluation_grid(len(ks))
        # models[m, 0] is the network average at the m-th evaluated iteration, then the agents
        models = np.concatenate([mean[grid], x[grid]], axis=1)  # (M, 1 + N, d)
        train = np.array([[problem.total(v) / n for v in row] for row in models])
        tests = [[problem.evaluate(v) for v in row] for row in models]

        def column(name: str) -> FloatArray | None:
            if not tests or name not in tests[0][0]:
                return None
            return np.array([[t[name] for t in row] for row in tests], dtype=np.float64)

        test_loss, test_accuracy = column("test_loss"), column("test_accuracy")
        train = train.reshape(len(grid), 1 + n)
        return Series(
            ks,
            mse,
            consensus,
            gap,
            errors,
            agents=tuple(self.logs),
            evaluated=ks[grid],
            train_loss=train[:, 0],
            agent_train_loss=train[:, 1:],
            test_loss=None if test_loss is None else test_loss[:, 0],
            agent_test_loss=None if test_loss is None else test_loss[:, 1:],
            test_accuracy=None if test_accuracy is None else test_accuracy[:, 0],
            agent_test_accuracy=None if test_accuracy is None else test_accuracy[:, 1:],
        )

    @property
    def has_states(self) -> bool:
        """False for a run that logged digests (output.record = 'digest'): no metrics."""
        return bool(self.resolved.get("output", {}).get("record") != "digest")

    def summary(self, series: Series | None = None) -> dict[str, Any]:
        """The numbers ``hemesh run`` and ``hemesh summarize`` print (``series``: this
        run's, if already computed). A run that logged digests instead of states
        (output.record = 'digest') has no convergence metrics, and a problem without x*
        no MSE and gap: those entries are None, as are the test metrics of a problem
        without held-out rows (the accuracy also for a model that is not a classifier)."""
        records = [r for agent_log in self.logs.values() for r in agent_log.records]
        times = [r["t"] for r in records]
        convergence: dict[str, Any] = dict.fromkeys(CONVERGENCE_KEYS)
        iterations = max((int(r["k"]) for r in records), default=0)
        if self.has_states:
            s = series if series is not None else self.series()
            iterations = int(s.k[-1]) if len(s.k) else 0
            convergence = _convergence(s)
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

    def leakage(self) -> list[Leakage]:
        """The audit's scores per adversary, target and iteration (empty without
        adversaries): see :class:`Leakage`."""
        return read_leakage(self.dir)

    def frame(self) -> Any:
        """:meth:`series` as a pandas DataFrame, one row per iteration and model (each
        agent's and the network average's); needs pandas (``hemesh[notebook]``)."""
        from ._frame import series_frame  # pandas is optional: imported when asked for

        return series_frame(self.series())

    def write_results(self) -> dict[str, Any]:
        """Write ``metrics.jsonl`` (not for a run that logged digests) and ``summary.json``
        from one computation of the series; the summary."""
        series = self.series() if self.has_states else None
        if series is not None:
            write_jsonl(self.dir.metrics, series.lines())
        summary = self.summary(series)
        write_json(self.dir.summary, summary)
        return summary


CONVERGENCE_KEYS = (
    "mse_initial",
    "mse_final",
    "mse_ratio",
    "consensus_initial",
    "consensus_final",
    "objective_gap_final",
    "train_loss_final",
    "test_loss_final",
    "test_loss_min",
    "test_loss_max",
    "test_accuracy_final",
    "test_accuracy_min",
    "test_accuracy_max",
    "final_by_agent",
)
"""The summary's entries that need states; ``*_final`` is the network average's at the last
iteration, ``*_min``/``*_max`` the range over the agents' own models there."""


def _convergence(s: Series) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(CONVERGENCE_KEYS)
    if not len(s.k):
        return out
    if s.mse is not None and s.gap is not None:
        out["mse_initial"] = finite(s.mse[0])
        out["mse_final"] = finite(s.mse[-1])
        out["mse_ratio"] = finite(s.mse[-1] / s.mse[0]) if s.mse[0] > 0 else None
        out["objective_gap_final"] = finite(s.gap[-1])
    out["consensus_initial"] = finite(s.consensus[0])
    out["consensus_final"] = finite(s.consensus[-1])
    out["train_loss_final"] = entry(s.train_loss, -1)
    for name, average, agents in (
        ("test_loss", s.test_loss, s.agent_test_loss),
        ("test_accuracy", s.test_accuracy, s.agent_test_accuracy),
    ):
        if average is not None and agents is not None:
            out[f"{name}_final"] = finite(average[-1])
            out[f"{name}_min"] = finite(np.min(agents[-1]))
            out[f"{name}_max"] = finite(np.max(agents[-1]))
    out["final_by_agent"] = s.lines()[-1]["agents"]
    return out


def open_run(path: Path | str) -> Run:
    """The run directory ``path``, loaded; or the only run directory in ``path`` (the
    folder of a ``hemesh run``). :class:`BadInput` when there is none or several (it
    names them: open one)."""
    path = Path(path)
    runs = find_runs(path)
    if not runs:
        raise BadInput(f"{path}: no run directory here")
    if len(runs) > 1:
        names = ", ".join(r.path.name for r in runs)
        raise BadInput(f"{path}: {len(runs)} run directories ({names}): open one of them")
    return Run.load(runs[0])


def summaries(path: Path | str) -> list[dict[str, Any]]:
    """The summary of the run directory ``path``, or of every run directory in it (what
    ``hemesh summarize`` prints); :class:`BadInput` when there is none."""
    path = Path(path)
    runs = find_runs(path)
    if not runs:
        raise BadInput(f"{path}: no run directory here")
    return [Run.load(r).summary() for r in runs]
