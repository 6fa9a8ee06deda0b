"""Paper-ready figures (PNG and PDF, matplotlib on the Agg backend) from run directories.

One file pair per panel (``mse.png``/``mse.pdf``, ...) plus ``dashboard.png``
with every panel on one sheet. Drawn from :class:`RunView` values, so from the
run directories alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

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

Panel = Callable[[Axes], None]
_DASHES = ("-", "--", ":", "-.")


def _positive(values: Sequence[float]) -> list[float]:
    return [v if math.isfinite(v) and v > 0 else math.nan for v in values]


LEGEND_MAX = 16
"""More curves than this get no legend (it would crowd the axes out of the figure)."""


def _finish(ax: Axes, title: str, ylabel: str, *, log: bool = True) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("iteration k")
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    if len(handles) > LEGEND_MAX:
        ax.set_title(f"{title} ({len(handles)} curves; the page names them)", fontsize=10)
    elif handles:
        ax.legend(fontsize=7, loc="best")


def _mse(views: Sequence[RunView]) -> Panel:
    def draw(ax: Axes) -> None:
        for v in views:
            if not v.k:
                continue
            ax.fill_between(
                v.k, _positive(v.err_low), _positive(v.err_high), color=v.color, alpha=0.18, lw=0
            )
            ax.plot(v.k, _positive(v.err_median), color=v.color, lw=1.6, label=v.label)
        _finish(ax, r"per-agent error $\|x_i - x^*\|^2$ (median, band: min to max)", "error")

    return draw


def _simple(views: Sequence[RunView], attr: str, title: str, ylabel: str) -> Panel:
    def draw(ax: Axes) -> None:
        for v in views:
            if v.k:
                ax.plot(v.k, _positive(getattr(v, attr)), color=v.color, lw=1.6, label=v.label)
        _finish(ax, title, ylabel)

    return draw


def _learning(views: Sequence[RunView], name: str) -> Panel:
    log = name != "test_accuracy"

    def draw(ax: Axes) -> None:
        for v in views:
            band = v.learning.get(name)
            if band is None:
                continue
            low, high, average = band.low, band.high, band.average
            if log:
                low, high, average = _positive(low), _positive(high), _positive(average)
            ax.fill_between(band.k, low, high, color=v.color, alpha=0.18, lw=0)
            ax.plot(band.k, average, color=v.color, lw=1.6, label=f"{v.label}: mean x")
        title, ylabel = LEARNING_TITLES[name]
        _finish(ax, f"{title} (band: agents min to max)", ylabel, log=log)

    return draw


def _time(views: Sequence[RunView]) -> Panel:
    def draw(ax: Axes) -> None:
        for v in views:
            for i, (_, part) in enumerate(TIME_PARTS):
                curve = v.times[part]
                if curve.k:
                    ax.plot(
                        curve.k,
                        _positive(curve.y),
                        color=v.color,
                        ls=_DASHES[i],
                        lw=1.3,
                        label=f"{v.label}: {part}",
                    )
        _finish(ax, "time per iteration (mean over agents)", "seconds")

    return draw


def _bytes(views: Sequence[RunView]) -> Panel:
    def draw(ax: Axes) -> None:
        for v in views:
            if v.bytes_out.k:
                ax.plot(v.bytes_out.k, v.bytes_out.y, color=v.color, lw=1.6, label=v.label)
        _finish(ax, "bytes sent per iteration (all agents)", "bytes", log=False)

    return draw


def _leakage(views: Sequence[RunView], metric: str) -> Panel:
    def draw(ax: Axes) -> None:
        for v in views:
            for i, curve in enumerate(v.leakage.get(metric, [])):
                ax.plot(
                    curve.k,
                    curve.y,
                    color=v.color,
                    ls=_DASHES[i % len(_DASHES)],
                    lw=1.3,
                    label=f"{v.label}: {curve.name}",
                )
        _finish(ax, f"leakage: {metric}", metric, log=False)

    return draw


def _inversions(v: RunView, adversary: str) -> Panel:
    """Reconstructed inputs (bottom row) under the true ones (top row): images when a
    row is a square picture (digits: 8x8), else the two rows as lines."""

    def draw(ax: Axes) -> None:
        shown = [i for i in v.inversions if i.adversary == adversary][:8]
        side = image_side(shown[0].original.size) if shown else None
        if side is None:
            for n, item in enumerate(shown[:3]):
                ax.plot(item.original, color="#333", lw=1.2, label="true" if n == 0 else None)
                ax.plot(
                    item.reconstructed,
                    color="#d62728",
                    lw=1,
                    ls="--",
                    label="reconstructed" if n == 0 else None,
                )
            _finish(
                ax,
                f"inputs: {v.label}: {adversary} (true vs reconstructed)",
                "feature value",
                log=False,
            )
            ax.set_xlabel("feature")
            return
        tiles = []
        for item in shown:
            pair = [
                r[: side * side].reshape(side, side) for r in (item.original, item.reconstructed)
            ]
            tiles.append(np.vstack([pair[0], np.full((1, side), np.nan), pair[1]]))
            tiles.append(np.full((2 * side + 1, 1), np.nan))
        ax.imshow(np.hstack(tiles[:-1]), cmap="gray_r", interpolation="nearest")
        errors = ", ".join(f"{i.rel_error:.1e}" for i in shown)
        ax.set_title(
            f"inputs: {v.label}: {adversary}; top true, bottom reconstructed\nrel. errors {errors}",
            fontsize=9,
        )
        ax.axis("off")

    return draw


def _stem(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-") or "run"


def _privacy_utility(views: Sequence[RunView]) -> Panel:
    """One point per run (colour, named beside it) and measure (marker, in the legend)."""

    def draw(ax: Axes) -> None:
        markers = {"membership AUC": "o", "input reconstruction |cosine|": "s"}
        named: set[str] = set()
        seen: set[str] = set()
        for p in privacy_utility(views):
            marker = markers.get(p.measure, "^")
            label = p.measure if p.measure not in seen else None
            seen.add(p.measure)
            ax.scatter(p.success, p.accuracy, color=p.color, marker=marker, s=50)
            ax.scatter([], [], color="#555", marker=marker, label=label)
            if p.label not in named:
                named.add(p.label)
                ax.annotate(
                    p.label,
                    (p.success, p.accuracy),
                    fontsize=6,
                    color=p.color,
                    xytext=(4, 4),
                    textcoords="offset points",
                )
        ax.set_title("privacy-utility: test accuracy against attack success", fontsize=10)
        ax.set_xlabel("attack success (AUC 0.5 / cosine 0: nothing learned)")
        ax.set_ylabel("final test accuracy")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")

    return draw


def draw_topology(ax: Axes, topology: Topology, title: str) -> None:
    positions = layout(topology)
    for u, v in topology.edges:
        (x0, y0), (x1, y1) = positions[u], positions[v]
        ax.plot([x0, x1], [y0, y1], color="#888", lw=0.8, zorder=1)
    colors = {"honest": "#9ecae1", "adversary": "#d62728", "target": "#ffbf00"}
    for role in ("honest", "adversary", "target"):
        ids = [i for i in range(len(topology.nodes)) if node_role(topology, i) == role]
        if not ids:
            continue
        ax.scatter(
            [positions[i][0] for i in ids],
            [positions[i][1] for i in ids],
            s=260 if len(topology.nodes) <= 40 else 40,
            c=colors[role],
            edgecolors="#333",
            zorder=2,
            label=role if role != "honest" else None,
        )
    if len(topology.nodes) <= 40:
        for i, name in enumerate(topology.nodes):
            ax.annotate(name, positions[i], ha="center", va="center", fontsize=7, zorder=3)
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal")
    ax.axis("off")
    if topology.members or topology.targets:
        ax.legend(fontsize=7, loc="best")


def panels(views: Sequence[RunView]) -> dict[str, Panel]:
    """Every panel that has something to show, by file stem."""
    x_star = any(v.x_star for v in views) or not views
    result: dict[str, Panel] = {}
    if x_star:
        result["mse"] = _mse(views)
    result["consensus"] = _simple(
        views, "consensus", r"consensus error $\frac{1}{N}\sum\|x_i-\bar x\|^2$", "consensus"
    )
    if x_star:
        result["gap"] = _simple(views, "gap", r"objective gap $F(\bar x) - F(x^*)$", "gap")
    for name in learning_panels(views):
        result[name] = _learning(views, name)
    for metric in sorted({m for v in views for m in v.leakage}):
        result[f"leakage_{metric}"] = _leakage(views, metric)
    for v in views:
        for adversary in sorted({i.adversary for i in v.inversions}):
            result[f"inputs_{_stem(v.label)}_{adversary}"] = _inversions(v, adversary)
    if privacy_utility(views):
        result["privacy_utility"] = _privacy_utility(views)
    result["time"] = _time(views)
    result["bytes"] = _bytes(views)
    topology = next((v for v in views if v.topology is not None), None)
    if topology is not None and topology.topology is not None:
        graph = topology.topology
        result["topology"] = lambda ax: draw_topology(ax, graph, f"topology: {topology.label}")
    return result


def write_figures(views: Sequence[RunView], out: Path) -> list[Path]:
    """Write ``<panel>.png``, ``<panel>.pdf`` and ``dashboard.png``; returns the files."""
    written: list[Path] = []
    drawn = panels(views)
    for name, draw in drawn.items():
        fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
        try:
            draw(ax)
            for suffix in ("png", "pdf"):
                path = out / f"{name}.{suffix}"
                fig.savefig(path, dpi=150)
                written.append(path)
        finally:
            plt.close(fig)
    columns = 2
    rows = math.ceil(len(drawn) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(12, 4.2 * rows), layout="constrained")
    try:
        flat = list(axes.flat)
        for ax, draw in zip(flat, drawn.values(), strict=False):
            draw(ax)
        for ax in flat[len(drawn) :]:
            ax.axis("off")
        path = out / "dashboard.png"
        fig.savefig(path, dpi=110)
        written.append(path)
    finally:
        plt.close(fig)
    return written


def write_topology_png(topology: Topology, title: str, path: Path) -> None:
    """A drawing of one graph (``hemesh topology show -o``)."""
    fig, ax = plt.subplots(figsize=(5.5, 5.5), layout="constrained")
    try:
        draw_topology(ax, topology, title)
        fig.savefig(path, dpi=150)
    finally:
        plt.close(fig)
