"""The tables the CLI prints: run summaries (with the audit's leakage) and graph facts."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from ..dashboards import GraphReport
from ..privacy import audit_rows
from ._exits import console


def print_summaries(out: Console, summaries: list[dict[str, Any]]) -> None:
    table = Table(title="hemesh run summary")
    table.add_column("")
    for s in summaries:
        table.add_column(s["algorithm"], justify="right")
    rows = [
        ("agents", "agents", "{:d}"),
        ("iterations", "iterations", "{:d}"),
        ("initial MSE", "mse_initial", "{:.3e}"),
        ("final MSE", "mse_final", "{:.3e}"),
        ("final / initial MSE", "mse_ratio", "{:.3e}"),
        ("consensus error", "consensus_final", "{:.3e}"),
        ("objective gap", "objective_gap_final", "{:.3e}"),
        ("wall time [s]", "wall_seconds", "{:.2f}"),
        ("messages sent", "messages_sent", "{:,d}"),
        ("bytes sent", "bytes_sent", "{:,d}"),
        ("crypto time, all agents [s]", "crypto_seconds", "{:.2f}"),
        ("skipped edges", "skipped_edges", "{:d}"),
        ("jumped iterations", "jumped_iterations", "{:d}"),
    ]
    for label, key, fmt in rows:
        table.add_row(
            label, *(fmt.format(s[key]) if s[key] is not None else "-" for s in summaries)
        )
    for label, cells in audit_rows(summaries):
        table.add_row(label, *cells)
    out.print(table)
    for s in summaries:
        for agent, lines in s["bad_log_lines"].items():
            console.print(f"warning: {s['algorithm']}: log of {agent} has unreadable lines {lines}")
        for agent, ks in s["resumed"].items():
            console.print(f"note: {s['algorithm']}: {agent} resumed from its checkpoint at {ks}")


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
