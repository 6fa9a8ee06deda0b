"""The tables the CLI prints: run summaries (with the audit's leakage) and graph facts."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..dashboards import GraphReport
from ..privacy import audit_rows
from ._exits import console

_ROWS = (
    ("agents", "agents", "{:d}"),
    ("iterations", "iterations", "{:d}"),
    ("initial MSE", "mse_initial", "{:.3e}"),
    ("final MSE", "mse_final", "{:.3e}"),
    ("final / initial MSE", "mse_ratio", "{:.3e}"),
    ("consensus error", "consensus_final", "{:.3e}"),
    ("objective gap", "objective_gap_final", "{:.3e}"),
)
_LEARNING_ROWS = (
    ("train loss F(x̄)/N", ("train_loss_final",), "{:.4g}"),
    ("test loss, x̄", ("test_loss_final",), "{:.4g}"),
    ("test loss, agents min / max", ("test_loss_min", "test_loss_max"), "{:.4g}"),
    ("test accuracy, x̄ [%]", ("test_accuracy_final",), "{:.2%}"),
    ("test accuracy, agents min / max [%]", ("test_accuracy_min", "test_accuracy_max"), "{:.2%}"),
)
_COST_ROWS = (
    ("wall time [s]", "wall_seconds", "{:.2f}"),
    ("messages sent", "messages_sent", "{:,d}"),
    ("bytes sent", "bytes_sent", "{:,d}"),
    ("crypto time, all agents [s]", "crypto_seconds", "{:.2f}"),
    ("skipped edges", "skipped_edges", "{:d}"),
    ("jumped iterations", "jumped_iterations", "{:d}"),
)


def summary_rows(summaries: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """The summary table's rows (label, one cell per run; "-" where a run has no value).
    The learning rows (train and test loss, test accuracy) appear only when a run has
    held-out rows or no x*: with x*, the objective gap already tells the training loss."""

    def cell(s: dict[str, Any], keys: tuple[str, ...], fmt: str) -> str:
        values = [s.get(key) for key in keys]
        if any(v is None for v in values):
            return "-"
        return " / ".join(fmt.format(v).removesuffix("%") for v in values)

    rows = [(label, [cell(s, (key,), fmt) for s in summaries]) for label, key, fmt in _ROWS]
    learning = any(
        s.get("test_loss_final") is not None
        or (s.get("train_loss_final") is not None and s.get("mse_final") is None)
        for s in summaries
    )
    if learning:
        for label, keys, fmt in _LEARNING_ROWS:
            cells = [cell(s, keys, fmt) for s in summaries]
            if any(c != "-" for c in cells):
                rows.append((label, cells))
    rows += [(label, [cell(s, (key,), fmt) for s in summaries]) for label, key, fmt in _COST_ROWS]
    return rows


def print_summaries(out: Console, summaries: list[dict[str, Any]]) -> None:
    table = Table(title="hemesh run summary")
    table.add_column("")
    for s in summaries:
        table.add_column(s["algorithm"], justify="right")
    for label, cells in summary_rows(summaries):
        table.add_row(escape(label), *(escape(c) for c in cells))
    for label, cells in audit_rows(summaries):
        table.add_row(escape(label), *(escape(c) for c in cells))
    out.print(table)
    print_warnings(summaries)
    for s in summaries:
        for agent, ks in s["resumed"].items():
            console.print(f"note: {s['algorithm']}: {agent} resumed from its checkpoint at {ks}")


def print_warnings(summaries: list[dict[str, Any]]) -> None:
    """On stderr, one line per thing the summaries were computed around (a torn log line,
    agents without a log)."""
    for s in summaries:
        for warning in s.get("warnings", []):
            console.print(f"warning: {warning}", highlight=False, soft_wrap=True, markup=False)


def print_topology(out: Console, spec: str, facts: GraphReport) -> None:
    table = Table(title=f"topology {spec}")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("nodes", str(facts.nodes))
    table.add_row("edges", str(facts.edges))
    degrees = f"{facts.degree_min} / {facts.degree_mean:.2f} / {facts.degree_max}"
    table.add_row("degree min / mean / max", degrees)
    histogram = ", ".join(f"{d}: {c}" for d, c in facts.degree_histogram.items())
    table.add_row("degree histogram (degree: nodes)", histogram)
    table.add_row("diameter", str(facts.diameter))
    table.add_row("spectral gap (Metropolis)", f"{facts.spectral_gap:.4f}")
    out.print(table)
