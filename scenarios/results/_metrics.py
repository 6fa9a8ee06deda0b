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

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import BadInput
from ..assembly import Problem
from ..spec import agent_id
from ._json import read_json, write_json, write_jsonl
from ._leakage import Leakage, read_leakage
from ._logs import AgentLog, read_log
from ._rundir import RunDir, find_runs
from ._series import Series, entry, evaluation_grid, finite

FloatArray = npt.NDArray[np.float64]


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
    missing: tuple[str, ...] = ()
    """Agents of the run's graph that have no log (loaded with ``partial=True``)."""

    @classmethod
    def load(cls, run: RunDir, *, partial: bool = False) -> Run:
        """Read and check ``run``: its resolved scenario, problem, graph and every agent's
        log (:func:`read_log`). :class:`BadInput` naming the file (and line) that cannot
        be used, or the agents of the graph without a log unless ``partial`` (then the
        others are loaded and the missing ones listed in :attr:`missing`)."""
        resolved = _resolved(run)
        try:
            problem = Problem.load(run.problem)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise BadInput(f"{run.problem}: not a readable run directory: {exc}") from exc
        agents = _graph_agents(run)
        found = {p.stem: p for p in run.agent_logs()}
        missing = tuple(a for a in agents if a not in found)
        if missing and not partial:
            raise BadInput(
                f"{run.path}: no log of {_listed(missing)} ({len(agents) - len(missing)} of "
                f"{len(agents)} agents logged); --partial summarizes the others"
            )
        logs = {a: read_log(p, dim=problem.dim) for a, p in sorted(found.items()) if a in agents}
        if not logs:
            raise BadInput(f"{run.path}: no agent logs in {run.logs}")
        return cls(run, resolved, problem, logs, missing)

    @property
    def warnings(self) -> list[str]:
        """One line per thing read around: a torn log line skipped, agents without a log."""
        lines = [w for agent_log in self.logs.values() for w in agent_log.warnings]
        if self.missing:
            lines.append(
                f"{self.dir.path}: no log of {_listed(self.missing)}; summarized the other "
                f"{len(self.logs)} agents"
            )
        return lines

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
            "missing_agents": list(self.missing),
            "warnings": self.warnings,
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


def _resolved(run: RunDir) -> dict[str, Any]:
    """``resolved.json``, checked for what the readers use: a name and an algorithm kind."""
    resolved = read_json(run.resolved)
    algorithm = resolved.get("algorithm") if isinstance(resolved, dict) else None
    kind = algorithm.get("kind") if isinstance(algorithm, dict) else None
    if not isinstance(kind, str):
        raise BadInput(f"{run.resolved}: no algorithm.kind (not a run's resolved scenario)")
    if not isinstance(resolved.get("name"), str):
        raise BadInput(f"{run.resolved}: no name (not a run's resolved scenario)")
    return dict(resolved)


def _graph_agents(run: RunDir) -> list[str]:
    """The agent ids of the nodes of ``graph.json``."""
    graph = read_json(run.graph)
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, list) or not nodes:
        raise BadInput(f"{run.graph}: no list of nodes (not a run's graph)")
    return [agent_id(i) for i in range(len(nodes))]


def _listed(agents: tuple[str, ...]) -> str:
    shown = ", ".join(agents[:10]) + (f" and {len(agents) - 10} more" if len(agents) > 10 else "")
    return f"agent{'s' if len(agents) > 1 else ''} {shown}"


def open_run(path: Path | str, *, partial: bool = False) -> Run:
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
    return Run.load(runs[0], partial=partial)


def summaries(path: Path | str, *, partial: bool = False) -> list[dict[str, Any]]:
    """The summary of the run directory ``path``, or of every run directory in it (what
    ``hemesh summarize`` prints); :class:`BadInput` when there is none, or a file cannot
    be used (``partial``: as :meth:`Run.load`). Each summary's ``warnings`` are the lines
    to show about what was read around."""
    path = Path(path)
    runs = find_runs(path)
    if not runs:
        raise BadInput(f"{path}: no run directory here")
    return [Run.load(r, partial=partial).summary() for r in runs]
