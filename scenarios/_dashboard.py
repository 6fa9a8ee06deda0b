"""Dashboards drawn from run directories alone: the data, the plotly figures, the HTML page.

Everything here reads only what a run directory holds (``resolved.json``,
``graph.json``, ``problem.npz``, ``logs/*.jsonl`` and, when present,
``adversaries/**/*.jsonl``), so a copied directory renders anywhere. The same
figure dictionaries feed the static page and the live one (``_live.py``); the
matplotlib figures for papers are in ``_figures.py``.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from ._errors import ScenarioError
from .results import Run, RunDir, find_runs
from .spec import agent_id

ADVERSARIES = "adversaries"
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


def load_views(paths: Sequence[Path], *, strict: bool = True) -> list[RunView]:
    """Every run directory under ``paths`` (a run directory or a ``hemesh run`` folder).

    ``strict``: a path without a run directory is an error (else it is skipped: a
    live run may not have written one yet).
    """
    runs: list[RunDir] = []
    for path in paths:
        found = find_runs(path)
        if not found and strict:
            raise ScenarioError(f"{path}: no run directory here (no resolved.json and graph.json)")
        runs.extend(found)
    labels = _labels(runs)
    return [
        view(run, label=label, color=PALETTE[i % len(PALETTE)])
        for i, (run, label) in enumerate(zip(runs, labels, strict=True))
    ]


def _labels(runs: Sequence[RunDir]) -> list[str]:
    """Scenario name + algorithm, made unique with the folder name when needed."""
    labels = []
    for run in runs:
        try:
            resolved = run.read_json(run.resolved.name)
            labels.append(f"{resolved['name']} · {resolved['algorithm']['kind']}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ScenarioError(f"{run.path}: unreadable {run.resolved.name}: {exc}") from exc
    for i, label in enumerate(labels):
        if labels.count(label) > 1:
            labels[i] = f"{label} ({runs[i].path.parent.name})"
    return labels


def view(run: RunDir, *, label: str, color: str) -> RunView:
    """Load one run directory for drawing; a run still starting yields empty curves."""
    problems: list[str] = []
    loaded: Run | None = None
    try:
        loaded = Run.load(run)
    except ScenarioError:
        if not run.logs.is_dir() or any(run.logs.glob("*.jsonl")):
            raise
        problems.append(f"no agent logs yet in {run.logs}")
    k: list[int] = []
    med: list[float] = []
    low: list[float] = []
    high: list[float] = []
    consensus: list[float] = []
    gap: list[float] = []
    times = {name: Curve(name, [], []) for _, name in TIME_PARTS}
    sent = Curve("bytes sent", [], [])
    if loaded is not None:
        for agent, agent_log in loaded.logs.items():
            for number in agent_log.bad_lines:
                problems.append(f"{run.log(agent)}: line {number} is not a complete record")
        try:
            ks, states = loaded.states()
        except ScenarioError as exc:
            problems.append(str(exc))
        else:
            x_star = loaded.problem.x_star
            errors = np.sum((states - x_star) ** 2, axis=2)  # (K, N)
            k = [int(v) for v in ks]
            if k:
                med = _floats(np.median(errors, axis=1))
                low = _floats(errors.min(axis=1))
                high = _floats(errors.max(axis=1))
                mean = states.mean(axis=1)
                consensus = _floats(np.mean(np.sum((states - mean[:, None]) ** 2, axis=2), axis=1))
                f_star = loaded.problem.total(x_star)
                gap = _floats(np.array([loaded.problem.total(m) - f_star for m in mean]))
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
    )


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
    folder = run.path / ADVERSARIES
    if not folder.is_dir():
        return {}
    files = sorted(folder.glob("*.attack.jsonl")) or [
        p for p in sorted(folder.glob("*.jsonl")) if not p.name.endswith(".record.jsonl")
    ]
    series: dict[str, dict[str, dict[int, float]]] = {}
    for path in files:
        base = path.name.removesuffix(".jsonl").removesuffix(".attack")
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
    lines: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{path}: unreadable: {exc}")
        return lines
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"{path}: line {number} is not a complete record")
            continue
        if isinstance(record, dict) and isinstance(record.get("k"), int):
            lines.append(record)
    return lines


def _is_tag(key: str, value: object) -> bool:
    return isinstance(value, str) and key != "target"


def _topology(run: RunDir, problems: list[str]) -> Topology | None:
    try:
        graph = run.read_json(run.graph.name)
        nodes = [_node_name(n) for n in graph["nodes"]]
        edges = [(int(u), int(v)) for u, v in graph["edges"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"{run.graph}: unreadable graph: {exc}")
        return None
    try:
        adversary = run.read_json(run.resolved.name).get("adversary")
    except (OSError, ValueError, AttributeError):
        adversary = None
    members, targets = _adversary_nodes(adversary, len(nodes), nodes)
    return Topology(nodes, edges, members, targets)


def _node_name(node: object) -> str:
    return str(node.get("name", node["id"])) if isinstance(node, dict) else str(node)


def _adversary_nodes(adversary: object, n: int, names: list[str]) -> tuple[list[int], list[int]]:
    """Node ids named as adversary members and targets, whatever the entries look like."""
    lookup: dict[str, int] = {}
    for i in range(n):
        lookup[str(i)] = i
        lookup[names[i]] = i
        lookup[agent_id(i)] = i
    members: set[int] = set()
    targets: set[int] = set()

    def collect(value: object, into: set[int]) -> None:
        if isinstance(value, list | tuple):
            for item in value:
                collect(item, into)
        elif isinstance(value, str | int) and not isinstance(value, bool) and str(value) in lookup:
            into.add(lookup[str(value)])

    entries = adversary if isinstance(adversary, list) else [adversary]
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for key, value in entry.items():
            if key in ("members", "colluders", "agents"):
                collect(value, members)
            elif key in ("target", "targets"):
                collect(value, targets)
    return sorted(members), sorted(targets)


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


# plotly figures (plain dicts: the same JSON feeds the static and the live page) ---------------


def _json_list(values: Sequence[float]) -> list[float | None]:
    return [v if math.isfinite(v) and v > 0 else None for v in values]


def _log_layout(title: str, ytitle: str) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0.02, "xanchor": "left", "font": {"size": 15}},
        "xaxis": {"title": {"text": "iteration k"}},
        "yaxis": {"title": {"text": ytitle}, "type": "log", "exponentformat": "power"},
        "margin": {"l": 70, "r": 20, "t": 50, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
        "height": 420,
    }


def figures(views: Sequence[RunView]) -> dict[str, dict[str, Any]]:
    """Every panel as a plotly figure dict, keyed by panel id, in page order."""
    result: dict[str, dict[str, Any]] = {}
    mse: list[dict[str, Any]] = []
    for v in views:
        band_x = v.k + v.k[::-1]
        band_y = v.err_high + v.err_low[::-1]
        mse.append(
            {
                "type": "scatter",
                "x": band_x,
                "y": _json_list(band_y),
                "fill": "toself",
                "fillcolor": _rgba(v.color, 0.18),
                "line": {"width": 0},
                "hoverinfo": "skip",
                "showlegend": False,
                "legendgroup": v.label,
                "name": f"{v.label} spread",
            }
        )
        mse.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": v.k,
                "y": _json_list(v.err_median),
                "name": v.label,
                "legendgroup": v.label,
                "line": {"color": v.color, "width": 2},
            }
        )
    result["mse"] = {
        "data": mse,
        "layout": _log_layout(
            "Squared error ‖x_i - x*‖²: median over agents, band min to max",
            "squared error",
        ),
    }
    result["consensus"] = {
        "data": [_line(v, v.k, v.consensus) for v in views],
        "layout": _log_layout("Consensus error (1/N) Σ ‖x_i - x̄‖²", "consensus error"),
    }
    result["gap"] = {
        "data": [_line(v, v.k, v.gap) for v in views],
        "layout": _log_layout("Objective gap F(x̄) - F(x*)", "gap"),
    }
    metrics = sorted({m for v in views for m in v.leakage})
    for metric in metrics:
        traces = []
        for v in views:
            for i, curve in enumerate(v.leakage.get(metric, [])):
                traces.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "x": curve.k,
                        "y": _finite(curve.y),
                        "name": f"{v.label}: {curve.name}",
                        "line": {"color": v.color, "dash": _DASHES[i % len(_DASHES)]},
                    }
                )
        layout = _log_layout(f"Leakage: {metric}", metric)
        layout["yaxis"]["type"] = "linear"
        result[f"leakage-{_slug(metric)}"] = {"data": traces, "layout": layout}
    time_traces = []
    for v in views:
        for i, (_, part) in enumerate(TIME_PARTS):
            curve = v.times[part]
            time_traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": curve.k,
                    "y": _json_list(curve.y),
                    "name": f"{v.label}: {part}",
                    "legendgroup": v.label,
                    "line": {"color": v.color, "dash": _DASHES[i]},
                }
            )
    result["time"] = {
        "data": time_traces,
        "layout": _log_layout("Time per iteration (mean over agents)", "seconds"),
    }
    bytes_layout = _log_layout("Bytes sent per iteration (all agents)", "bytes")
    bytes_layout["yaxis"]["type"] = "linear"
    result["bytes"] = {
        "data": [_line(v, v.bytes_out.k, v.bytes_out.y, log=False) for v in views],
        "layout": bytes_layout,
    }
    seen: dict[tuple[Any, ...], str] = {}
    for v in views:
        if v.topology is None:
            continue
        key = (tuple(v.topology.edges), tuple(v.topology.members), tuple(v.topology.targets))
        if key in seen:
            continue
        seen[key] = v.label
        result[f"topology-{len(seen)}"] = topology_figure(v.topology, title=f"Topology: {v.label}")
    return result


_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")


def _finite(values: Sequence[float]) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in values]


def _line(v: RunView, k: Sequence[int], y: Sequence[float], *, log: bool = True) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "x": list(k),
        "y": _json_list(y) if log else _finite(y),
        "name": v.label,
        "line": {"color": v.color, "width": 2},
    }


def _rgba(color: str, alpha: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "metric"


def node_role(topology: Topology, node: int) -> str:
    """``target``, ``adversary`` (a member) or ``honest``."""
    if node in topology.targets:
        return "target"
    return "adversary" if node in topology.members else "honest"


def topology_figure(topology: Topology, *, title: str) -> dict[str, Any]:
    positions = layout(topology)
    ex: list[float | None] = []
    ey: list[float | None] = []
    for u, v in topology.edges:
        ex += [positions[u][0], positions[v][0], None]
        ey += [positions[u][1], positions[v][1], None]
    roles = [node_role(topology, i) for i in range(len(topology.nodes))]
    colors = {"honest": "#9ecae1", "adversary": "#d62728", "target": "#ffbf00"}
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": ex,
            "y": ey,
            "line": {"color": "#888", "width": 1},
            "hoverinfo": "skip",
            "showlegend": False,
            "name": "edges",
        }
    ]
    for role in ("honest", "adversary", "target"):
        ids = [i for i, r in enumerate(roles) if r == role]
        if not ids:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": [positions[i][0] for i in ids],
                "y": [positions[i][1] for i in ids],
                "text": [topology.nodes[i] for i in ids],
                "textposition": "middle center",
                "marker": {"size": 26, "color": colors[role], "line": {"color": "#333"}},
                "name": role,
                "showlegend": role != "honest",
            }
        )
    hidden = {"visible": False, "scaleanchor": None}
    return {
        "data": traces,
        "layout": {
            "title": {"text": title, "x": 0.02, "xanchor": "left", "font": {"size": 15}},
            "xaxis": {"visible": False},
            "yaxis": {**hidden, "scaleanchor": "x"},
            "height": 420,
            "margin": {"l": 20, "r": 20, "t": 50, "b": 20},
            "showlegend": bool(topology.members or topology.targets),
        },
    }


# the page -------------------------------------------------------------------------------


def payload(views: Sequence[RunView]) -> dict[str, Any]:
    """The JSON the page draws from (embedded in the static page, served by the live one)."""
    return {
        "figures": figures(views),
        "runs": [
            {"label": v.label, "path": str(v.path), "iterations": v.k[-1] if v.k else None}
            for v in views
        ],
        "problems": [p for v in views for p in v.problems],
    }


def _plotly_js() -> str:
    try:
        from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - plotly is a dependency
        raise ScenarioError("the dashboard needs plotly: pip install plotly") from exc
    return str(get_plotlyjs())


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em 2em; color: #222; }}
h1 {{ font-size: 1.3em; margin: 0.2em 0; }}
#status {{ color: #555; font-size: 0.9em; }}
#problems {{ color: #a40; font-size: 0.9em; }}
#panels {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1em; }}
</style>
<script>
window.hemeshErrors = [];
window.addEventListener("error", function (e) {{
  window.hemeshErrors.push(String(e.message));
  document.documentElement.setAttribute("data-errors", window.hemeshErrors.join(" | "));
}});
</script>
<script>{plotly}</script>
</head><body>
<h1>{title}</h1>
<div id="status"></div>
<ul id="problems"></ul>
<div id="panels"></div>
<script type="application/json" id="hemesh-data">{data}</script>
<script>
(function () {{
  var live = {live};
  var config = {{responsive: true, displaylogo: false}};
  function draw(data) {{
    var panels = document.getElementById("panels");
    var ids = Object.keys(data.figures);
    ids.forEach(function (id) {{  // lay out every panel first, so each plots at its width
      if (!document.getElementById("fig-" + id)) {{
        var div = document.createElement("div");
        div.id = "fig-" + id;
        div.className = "hemesh-figure";
        div.setAttribute("data-figure", id);
        panels.appendChild(div);
      }}
    }});
    ids.forEach(function (id) {{
      var fig = data.figures[id];
      var div = document.getElementById("fig-" + id);
      var named = fig.data.filter(function (t) {{ return t.showlegend !== false; }});
      div.setAttribute("data-traces", String(named.length));
      Plotly.react(div, fig.data, fig.layout, config);
    }});
    var status = data.runs.map(function (r) {{
      return r.label + ": " + (r.iterations === null ? "no iterations yet" : "k = " + r.iterations);
    }}).join(" · ");
    document.getElementById("status").textContent = (live ? "live · " : "") + status;
    var list = document.getElementById("problems");
    list.innerHTML = "";
    data.problems.forEach(function (p) {{
      var li = document.createElement("li");
      li.textContent = p;
      list.appendChild(li);
    }});
    var root = document.documentElement;
    root.setAttribute("data-rendered", String(Object.keys(data.figures).length));
    root.setAttribute("data-iterations", data.runs.map(function (r) {{
      return r.iterations === null ? -1 : r.iterations;
    }}).join(","));
  }}
  draw(JSON.parse(document.getElementById("hemesh-data").textContent));
  if (live) {{
    var busy = false;
    setInterval(function () {{
      if (busy) return;
      busy = true;
      fetch("data.json", {{cache: "no-store"}})
        .then(function (r) {{ return r.ok ? r.json() : null; }})
        .then(function (d) {{ if (d) draw(d); }})
        .catch(function () {{
          document.getElementById("status").textContent = "server gone: the run has ended";
        }})
        .finally(function () {{ busy = false; }});
    }}, {interval});
  }}
}})();
</script>
</body></html>
"""


def page(data: dict[str, Any], *, title: str, live: bool = False, interval_ms: int = 1000) -> str:
    """A self-contained HTML page (plotly.js inline, no network) drawing ``data``."""
    embedded = json.dumps(data, allow_nan=False).replace("</", "<\\/")
    return _PAGE.format(
        title=html.escape(title),
        plotly=_plotly_js(),
        data=embedded,
        live="true" if live else "false",
        interval=int(interval_ms),
    )


def title_for(views: Sequence[RunView]) -> str:
    names = sorted({v.label.split(" · ")[0] for v in views})
    return "hemesh dashboard: " + ", ".join(names)


@dataclass(frozen=True, slots=True)
class Written:
    html: Path
    figures: list[Path]
    problems: list[str]


def write_dashboard(paths: Sequence[Path], out: Path) -> Written:
    """Write ``index.html`` and the PNG/PDF figures for the run directories under ``paths``."""
    from ._figures import write_figures

    views = load_views(paths)
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    index.write_text(page(payload(views), title=title_for(views)), encoding="utf-8")
    files = write_figures(views, out)
    return Written(index, files, [p for v in views for p in v.problems])
