"""What a dashboard draws of one run directory, read from the directory alone.

Everything here reads only what a run directory holds (``resolved.json``,
``graph.json``, ``problem.npz``, ``logs/*.jsonl`` and, when present,
``adversaries/*.jsonl``), so a copied directory renders anywhere; the metrics are
:mod:`scenarios.results`' own. The same views feed the plotly figures (``_plotly``),
the static and the live page (``_page``, ``_live``) and the matplotlib figures
(``_figures``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from .._errors import BadInput
from ..results import (
    AdversaryDir,
    Inversion,
    Run,
    RunDir,
    Series,
    find_runs,
    read_graph,
    read_inversions,
    read_jsonl,
)

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
)
TIME_PARTS = (("crypto_s", "crypto"), ("wait_s", "waiting"), ("compute_s", "compute"))
_NOT_METRICS = {"k", "t", "target", "iteration"}


@dataclass(frozen=True, slots=True)
class Curve:
    """One named line: iterations and values (NaN where undefined)."""

    name: str
    k: list[int]
    y: list[float]


@dataclass(frozen=True, slots=True)
class Band:
    """The network average's curve and the agents' range (min to max) around it."""

    k: list[int]
    average: list[float]
    low: list[float]
    high: list[float]


LEARNING = ("train_loss", "test_loss", "test_accuracy")
"""The learning metrics a view may hold (see :class:`RunView`)."""


@dataclass(frozen=True, slots=True)
class Topology:
    nodes: list[str]
    """Display names, indexed by node id."""
    edges: list[tuple[int, int]]
    members: list[int] = field(default_factory=list)
    """Adversary members (colluders), node ids."""
    targets: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunView:
    """What the dashboard draws for one run directory."""

    path: Path
    label: str
    color: str
    k: list[int]
    """Iterations every agent logged a state for."""
    err_median: list[float]
    err_low: list[float]
    err_high: list[float]
    consensus: list[float]
    gap: list[float]
    times: dict[str, Curve]
    """``crypto`` / ``waiting`` / ``compute``: seconds per iteration, mean over agents."""
    bytes_out: Curve
    """Bytes sent per iteration, summed over agents."""
    leakage: dict[str, list[Curve]]
    """Metric name (e.g. ``relative_error``) to one curve per adversary file and target."""
    topology: Topology | None
    problems: list[str]
    """Human-readable reports: unreadable log lines, missing states."""
    x_star: bool = True
    """False when the run's problem has no x* (no squared error, no gap to draw)."""
    learning: dict[str, Band] = field(default_factory=dict)
    """``train_loss``, ``test_loss``, ``test_accuracy`` (those the run has): the network
    average and the agents' range, over the evaluated iterations."""
    held_out: bool = False
    """The run's problem has held-out rows (test loss, maybe accuracy)."""
    inversions: list[Inversion] = field(default_factory=list)
    """Reconstructed inputs next to the true ones (``adversaries/*.inputs.json``)."""


def load_views(
    paths: Sequence[Path], *, strict: bool = True, partial: bool = False
) -> list[RunView]:
    """Every run directory under ``paths`` (a run directory or a ``hemesh run`` folder).

    ``strict``: a path without a run directory is an error (else it is skipped: a
    live run may not have written one yet). ``partial``: agents without a log are a
    problem reported on the view, not an error (:meth:`Run.load`).
    """
    runs: list[RunDir] = []
    for path in paths:
        found = find_runs(path)
        if not found and strict:
            raise BadInput(f"{path}: no run directory here (no resolved.json and graph.json)")
        runs.extend(found)
    labels = _labels(runs)
    return [
        view(run, label=label, color=PALETTE[i % len(PALETTE)], partial=partial)
        for i, (run, label) in enumerate(zip(runs, labels, strict=True))
    ]


def _labels(runs: Sequence[RunDir]) -> list[str]:
    """Scenario name + algorithm, made unique with the folder name when needed."""
    labels = []
    for run in runs:
        resolved = run.read_json(run.resolved.name)  # BadInput naming the file
        try:
            labels.append(f"{resolved['name']} · {resolved['algorithm']['kind']}")
        except (KeyError, TypeError) as exc:
            raise BadInput(f"{run.resolved}: no {exc} (not a run's resolved scenario)") from exc
    for i, label in enumerate(labels):
        if labels.count(label) > 1:
            labels[i] = f"{label} ({runs[i].path.parent.name})"
    return labels


def view(run: RunDir, *, label: str, color: str, partial: bool = False) -> RunView:
    """Load one run directory for drawing; a run still starting yields empty curves."""
    problems: list[str] = []
    loaded: Run | None = None
    try:
        loaded = Run.load(run, partial=partial)
    except BadInput:
        if not run.logs.is_dir() or any(run.agent_logs()):
            raise
        problems.append(f"no agent logs yet in {run.logs}")
    k: list[int] = []
    med: list[float] = []
    low: list[float] = []
    high: list[float] = []
    consensus: list[float] = []
    gap: list[float] = []
    learning: dict[str, Band] = {}
    times = {name: Curve(name, [], []) for _, name in TIME_PARTS}
    sent = Curve("bytes sent", [], [])
    if loaded is not None:
        problems += loaded.warnings
        try:
            series = loaded.series()
        except BadInput as exc:
            problems.append(str(exc))
        else:
            k = [int(v) for v in series.k]
            if k:
                consensus = _floats(series.consensus)
            if k and series.errors is not None and series.gap is not None:
                med = _floats(np.median(series.errors, axis=1))
                low = _floats(series.errors.min(axis=1))
                high = _floats(series.errors.max(axis=1))
                gap = _floats(series.gap)
            learning = _learning(series)
        times, sent = _costs(loaded)
    leakage = _leakage(run, problems)
    return RunView(
        path=run.path,
        label=label,
        color=color,
        k=k,
        err_median=med,
        err_low=low,
        err_high=high,
        consensus=consensus,
        gap=gap,
        times=times,
        bytes_out=sent,
        leakage=leakage,
        topology=_topology(run, problems),
        problems=problems,
        x_star=loaded is None or loaded.problem.x_star is not None,
        learning=learning,
        held_out=loaded is not None and loaded.problem.test is not None,
        inversions=read_inversions(run),
    )


SUCCESS = (
    ("mi_auc", "membership AUC"),
    ("input_cosine", "input reconstruction |cosine|"),
    ("gradient_cosine", "gradient reconstruction cosine"),
)
"""The attack-success measures of the privacy-utility plot (higher: more leaked)."""


@dataclass(frozen=True, slots=True)
class TradeOff:
    """One run's utility (final test accuracy) against one attack's success."""

    label: str
    color: str
    measure: str
    accuracy: float
    success: float


def privacy_utility(views: Sequence[RunView]) -> list[TradeOff]:
    """One point per run and attack measure: the network's final test accuracy against
    the median over the adversaries' targets of their last score."""
    points = []
    for v in views:
        band = v.learning.get("test_accuracy")
        if band is None or not band.average or not math.isfinite(band.average[-1]):
            continue
        for measure, title in SUCCESS:
            finals = [
                c.y[-1]
                for c in v.leakage.get(measure, [])
                if c.y and math.isfinite(c.y[-1]) and "-linear" not in c.name
            ]
            if finals:
                success = float(np.median(finals))
                points.append(TradeOff(v.label, v.color, title, band.average[-1], success))
    return points


def image_side(width: int) -> int | None:
    """The side of a square image a feature row of ``width`` is (a trailing column of
    ones, a softmax intercept, dropped): 64 or 65 -> 8; None if it is not one."""
    for w in (width, width - 1):
        side = math.isqrt(max(w, 0))
        if side >= 4 and side * side == w:
            return side
    return None


LEARNING_TITLES = {
    "train_loss": ("Training loss F(x)/N", "training loss"),
    "test_loss": ("Test loss on the held-out rows", "test loss"),
    "test_accuracy": ("Test accuracy on the held-out rows", "accuracy"),
}
"""Panel title and axis of each learning metric (the line: the network average x̄; the
band: the agents' own models, min to max)."""


def learning_panels(views: Sequence[RunView]) -> list[str]:
    """The learning metrics to draw, in page order: the test metrics where a run has them;
    the training loss where a run has held-out rows or no x* (with x*, the objective gap
    already draws F(x̄) up to a constant)."""
    shown = []
    for name in LEARNING:
        for v in views:
            if name in v.learning and (name != "train_loss" or v.held_out or not v.x_star):
                shown.append(name)
                break
    return shown


def _learning(series: Series) -> dict[str, Band]:
    k = [int(v) for v in series.evaluated]
    result = {}
    for name, average, agents in (
        ("train_loss", series.train_loss, series.agent_train_loss),
        ("test_loss", series.test_loss, series.agent_test_loss),
        ("test_accuracy", series.test_accuracy, series.agent_test_accuracy),
    ):
        if k and average is not None and agents is not None:
            low, high = _floats(agents.min(axis=1)), _floats(agents.max(axis=1))
            result[name] = Band(k, _floats(average), low, high)
    return result


def _floats(values: Iterable[float]) -> list[float]:
    return [float(v) if math.isfinite(float(v)) else math.nan for v in values]


def _costs(loaded: Run) -> tuple[dict[str, Curve], Curve]:
    per_k: dict[int, list[dict[str, Any]]] = {}
    for agent_log in loaded.logs.values():
        for record in agent_log.records:
            per_k.setdefault(record["k"], []).append(record)
    ks = sorted(k for k in per_k if k > 0)  # k = 0 is the initial state: no traffic
    times = {
        name: Curve(name, ks, [float(np.mean([_num(r.get(key)) for r in per_k[k]])) for k in ks])
        for key, name in TIME_PARTS
    }
    sent = Curve("bytes sent", ks, [sum(_num(r.get("bytes_out")) for r in per_k[k]) for k in ks])
    return times, sent


def _num(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def _leakage(run: RunDir, problems: list[str]) -> dict[str, list[Curve]]:
    """Numeric fields of adversary score lines, one curve per (adversary, string fields, target).

    Reads ``adversaries/*.attack.jsonl`` (the audit's scores) when there are any, else
    every ``adversaries/*.jsonl`` but raw ``*.record.jsonl`` captures. Lines without an
    iteration ``k`` (metadata) are skipped; lines that do not parse are reported.
    """
    folder = run.adversaries
    if not folder.path.is_dir():
        return {}
    series: dict[str, dict[str, dict[int, float]]] = {}
    for path in folder.score_files():
        base = AdversaryDir.name_of(path)
        for record in _score_lines(path, problems):
            tags = [str(v) for key, v in sorted(record.items()) if _is_tag(key, v) and v != base]
            name = " ".join([base, *tags])
            if "target" in record:
                name += f" → {record['target']}"
            for key, value in record.items():
                if key in _NOT_METRICS or isinstance(value, bool):
                    continue
                if isinstance(value, int | float) and math.isfinite(value):
                    series.setdefault(key, {}).setdefault(name, {})[record["k"]] = float(value)
    return {
        metric: [
            Curve(name, sorted(points), [points[k] for k in sorted(points)])
            for name, points in sorted(curves.items())
        ]
        for metric, curves in sorted(series.items())
    }


def _score_lines(path: Path, problems: list[str]) -> list[dict[str, Any]]:
    try:
        lines = read_jsonl(path)
    except BadInput as exc:
        problems.append(str(exc))
        return []
    problems += [f"{path}: line {number} is not a complete record" for number in lines.bad_lines]
    return [r for r in lines.records if isinstance(r.get("k"), int)]


def _is_tag(key: str, value: object) -> bool:
    return isinstance(value, str) and key != "target"


def _topology(run: RunDir, problems: list[str]) -> Topology | None:
    try:
        graph = read_graph(run)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"{run.graph}: unreadable graph: {exc}")
        return None
    return Topology(graph.names, graph.edges, graph.members, graph.targets)


def layout(topology: Topology) -> dict[int, tuple[float, float]]:
    """Node positions: a circle for a cycle, a seeded spring layout otherwise."""
    graph = nx.Graph()
    graph.add_nodes_from(range(len(topology.nodes)))
    graph.add_edges_from(topology.edges)
    degrees = {d for _, d in graph.degree}
    if degrees == {2} or len(topology.nodes) <= 3:
        positions = nx.circular_layout(graph)
    else:
        positions = nx.spring_layout(graph, seed=1)
    return {int(i): (float(p[0]), float(p[1])) for i, p in positions.items()}


def node_role(topology: Topology, node: int) -> str:
    """``target``, ``adversary`` (a member) or ``honest``."""
    if node in topology.targets:
        return "target"
    return "adversary" if node in topology.members else "honest"
