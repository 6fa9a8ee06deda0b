"""The dashboard's plotly figures: plain dicts, so the same JSON feeds the static and the
live page."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._views import (
    LEARNING_TITLES,
    TIME_PARTS,
    RunView,
    Topology,
    image_side,
    layout,
    learning_panels,
    node_role,
    privacy_utility,
)


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
    x_star = any(v.x_star for v in views) or not views
    if x_star:
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
    if x_star:
        result["gap"] = {
            "data": [_line(v, v.k, v.gap) for v in views],
            "layout": _log_layout("Objective gap F(x̄) - F(x*)", "gap"),
        }
    for name in learning_panels(views):
        result[name.replace("_", "-")] = _learning_figure(views, name)
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
    for v in views:
        for adversary in sorted({i.adversary for i in v.inversions}):
            result[f"inputs-{_slug(v.label)}-{_slug(adversary)}"] = _inversions_figure(v, adversary)
    points = privacy_utility(views)
    if points:
        result["privacy-utility"] = {
            "data": [
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [p.success],
                    "y": [p.accuracy],
                    "name": f"{p.label}: {p.measure}",
                    "marker": {"color": p.color, "size": 11},
                }
                for p in points
            ],
            "layout": {
                **_log_layout("Privacy-utility: test accuracy against attack success", "accuracy"),
                "xaxis": {"title": {"text": "attack success (AUC 0.5 / cosine 0: nothing)"}},
                "yaxis": {"title": {"text": "final test accuracy"}, "type": "linear"},
            },
        }
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


def _learning_figure(views: Sequence[RunView], name: str) -> dict[str, Any]:
    """The network average's line and the agents' band (min to max) of every run."""
    traces: list[dict[str, Any]] = []
    for v in views:
        band = v.learning.get(name)
        if band is None:
            continue
        traces.append(
            {
                "type": "scatter",
                "x": band.k + band.k[::-1],
                "y": _finite(band.high + band.low[::-1]),
                "fill": "toself",
                "fillcolor": _rgba(v.color, 0.18),
                "line": {"width": 0},
                "hoverinfo": "skip",
                "showlegend": False,
                "legendgroup": v.label,
                "name": f"{v.label} agents",
            }
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": band.k,
                "y": _finite(band.average),
                "name": f"{v.label}: x̄",
                "legendgroup": v.label,
                "line": {"color": v.color, "width": 2},
            }
        )
    title, ytitle = LEARNING_TITLES[name]
    layout = _log_layout(f"{title}: network average x̄, band: agents min to max", ytitle)
    if name == "test_accuracy":
        layout["yaxis"] = {"title": {"text": ytitle}, "type": "linear", "range": [0, 1]}
    return {"data": traces, "layout": layout}


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


def _inversions_figure(v: RunView, adversary: str) -> dict[str, Any]:
    """The true inputs (top row) over the reconstructed ones: one heatmap of 8x8 tiles
    for image rows, else the rows as lines."""
    shown = [i for i in v.inversions if i.adversary == adversary][:8]
    title = f"Inputs: {v.label}: {adversary} (top: true, bottom: reconstructed)"
    side = image_side(shown[0].original.size) if shown else None
    if side is None:
        data = []
        for item in shown[:3]:
            for row, name, dash in (
                (item.original, "true", "solid"),
                (item.reconstructed, "reconstructed", "dash"),
            ):
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "y": row.tolist(),
                        "name": f"{item.target} k={item.k} {name}",
                        "line": {"dash": dash},
                    }
                )
        return {"data": data, "layout": {"title": {"text": title}, "height": 380}}
    tiles = []
    for item in shown:
        pair = [r[: side * side].reshape(side, side) for r in (item.original, item.reconstructed)]
        tiles.append(np.vstack([pair[0], np.full((1, side), np.nan), pair[1]]))
        tiles.append(np.full((2 * side + 1, 1), np.nan))
    grid = np.hstack(tiles[:-1])
    z = [[None if math.isnan(v) else float(v) for v in row] for row in grid]
    return {
        "data": [{"type": "heatmap", "z": z, "colorscale": "Greys", "showscale": False}],
        "layout": {
            "title": {"text": title},
            "yaxis": {"autorange": "reversed", "scaleanchor": "x", "visible": False},
            "xaxis": {"visible": False},
            "height": 300,
        },
    }


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "metric"


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
