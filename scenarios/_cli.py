"""The ``hemesh`` command line.

Exit codes: 0 success; 1 the run failed (an agent, the broker or the network);
2 bad input (scenario file, run directory, command-line usage).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agents import Algorithm

from ._assembly import build_graph
from ._errors import ScenarioError
from ._metrics import Run
from ._rundir import find_runs
from ._runner import run_scenario
from ._schema import Scenario, load

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="hemesh",
    help="Privacy-preserving distributed stochastic optimization: Paillier-encrypted "
    "agents over MQTT.\n\nExample: hemesh run scenarios/examples/ring8.toml",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()
T = TypeVar("T")


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # Windows: no uvloop
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _fail(message: str, code: int) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.callback()
def _main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every dropped message.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
    )


@app.command()
def run(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario TOML file.", metavar="SCENARIO")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Parent of the run directory.")
    ] = None,
    iterations: Annotated[
        int | None, typer.Option(help="Override the scenario's iteration count.", min=1)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print summaries as JSON.")] = False,
) -> None:
    """Run a scenario: all agents in this process over the scenario's transport.

    Example: hemesh run scenarios/examples/ring8.toml --iterations 50
    """
    try:
        scenario = load(scenario_file)
        if iterations is not None:
            scenario = scenario.model_copy(update={"iterations": iterations})
    except ScenarioError as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None
    agents = _agent_count(scenario)
    columns = (
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=as_json) as bar:
        tasks = {a: bar.add_task(a.value, total=scenario.iterations) for a in scenario.algorithms}
        steps = dict.fromkeys(tasks, 0)

        def advance(algorithm: Algorithm, agent_steps: int) -> None:
            # an iteration is complete when every agent has done it
            steps[algorithm] += agent_steps
            bar.update(tasks[algorithm], completed=steps[algorithm] // agents)

        try:
            results = _run_async(
                run_scenario(scenario, source=scenario_file, out=output, progress=advance)
            )
        except ScenarioError as exc:
            raise _fail(str(exc), EXIT_FAILED) from None
    summaries = [r.summary for r in results]
    if as_json:
        out.print_json(json.dumps(summaries))
    else:
        _print_summaries(summaries)
        out.print(f"run directory: {results[0].run.path.parent}", highlight=False)


def _agent_count(scenario: Scenario) -> int:
    try:
        return int(build_graph(scenario).number_of_nodes())
    except ScenarioError as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None


@app.command()
def summarize(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory, or the folder of a hemesh run.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Recompute a run's metrics from its directory alone.

    Example: hemesh summarize runs/ring8-20261123T120000-1a2b3c
    """
    runs = find_runs(run_dir)
    if not runs:
        raise _fail(f"{run_dir}: no run directory here", EXIT_BAD_INPUT)
    try:
        summaries = [Run.load(r).summary() for r in runs]
    except ScenarioError as exc:
        raise _fail(str(exc), EXIT_BAD_INPUT) from None
    if as_json:
        out.print_json(json.dumps(summaries))
    else:
        _print_summaries(summaries)


def _print_summaries(summaries: list[dict[str, Any]]) -> None:
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
        ("crypto time [s]", "crypto_seconds", "{:.2f}"),
        ("skipped edges", "skipped_edges", "{:d}"),
    ]
    for label, key, fmt in rows:
        table.add_row(
            label, *(fmt.format(s[key]) if s[key] is not None else "-" for s in summaries)
        )
    out.print(table)
    for s in summaries:
        for agent, lines in s["bad_log_lines"].items():
            console.print(f"warning: {s['algorithm']}: log of {agent} has unreadable lines {lines}")


def main() -> None:
    """Entry point of the ``hemesh`` console script."""
    app(prog_name="hemesh")


if __name__ == "__main__":
    main()
