"""The ``hemesh`` command line.

Exit codes: 0 success; 1 the run failed (an agent, the broker or the network);
2 bad input (scenario file, run directory, command-line usage). Commands raise;
``_exits`` maps the exception's class to the code, once for every command.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from agents import Algorithm
from transport import BrokerAddress, TransportError

from .._errors import BadInput
from ..assembly import build_graph
from ..deploy import write_compose
from ..privacy import prepare_adversaries
from ..results import RunDir, check_output_dir, check_output_file
from ..results import summaries as run_summaries
from ..run import SpawnMode, run_scenario
from ..spec import Scenario, check_adversaries, load
from ._exits import App, console
from ._exits import main as run_app
from ._lone import register
from ._loop import run_async, stoppable
from ._progress import StepProgress
from ._tables import print_summaries, print_topology, print_warnings

app = App(
    name="hemesh",
    help="Privacy-preserving distributed stochastic optimization: Paillier-encrypted "
    "agents over MQTT.\n\nExample: hemesh run scenarios/examples/ring8.toml",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()


def _announce(url: str) -> None:
    console.print(f"dashboard: {url}  (Ctrl-C stops)", highlight=False, soft_wrap=True)


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
    *,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Parent of the run directory.")
    ] = None,
    iterations: Annotated[
        int | None, typer.Option(help="Override the scenario's iteration count.", min=1)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print summaries as JSON.")] = False,
    dashboard: Annotated[
        bool, typer.Option("--dashboard", help="Serve the live dashboard during the run.")
    ] = False,
    dashboard_port: Annotated[
        int, typer.Option(help="Port of --dashboard on 127.0.0.1 (0: any free).", min=0, max=65535)
    ] = 8050,
    spawn: Annotated[
        SpawnMode,
        typer.Option(help="tasks: all agents in this process; processes: one process each."),
    ] = SpawnMode.TASKS,
    restarts: Annotated[
        int,
        typer.Option(
            help="restart a crashed agent process up to N times; it resumes from its checkpoint "
            "(--spawn processes only)",
            metavar="N",
            min=0,
        ),
    ] = 0,
) -> None:
    """Run a scenario: its agents in this process (or one process each: --spawn processes).

    Example: hemesh run scenarios/examples/ring8.toml --iterations 50 --dashboard
    """
    if restarts and spawn is not SpawnMode.PROCESSES:
        raise BadInput(
            f"--restarts {restarts}: only agents in their own processes can be restarted; "
            "add --spawn processes"
        )
    scenario = load(scenario_file)
    if iterations is not None:
        scenario = _override(scenario, "iterations", iterations, option="--iterations")
    check_output_dir(
        output or scenario.output.dir,
        what="--output" if output is not None else f"{scenario_file}: output.dir",
    )
    _check_broker(scenario, scenario_file)
    agents = _agent_count(scenario)
    with StepProgress(console, disable=as_json) as bar:
        tasks = {a: bar.add(a.value, scenario.iterations) for a in scenario.algorithms}
        steps = dict.fromkeys(tasks, 0)

        def advance(algorithm: Algorithm, agent_steps: int) -> None:
            # an iteration is complete when every agent has done it
            steps[algorithm] += agent_steps
            bar.update(tasks[algorithm], steps[algorithm] // agents)

        work = run_scenario(
            scenario,
            source=scenario_file,
            out=output,
            progress=advance,
            spawn=spawn.value,
            restarts=restarts,
        )
        if dashboard:
            from ..dashboards import beside_run

            folder = output or scenario.output.dir
            work = beside_run(work, folder, scenario.name, port=dashboard_port, announce=_announce)
        results = stoppable(work)
    summaries = [r.summary for r in results]
    if as_json:
        out.print_json(json.dumps(summaries))
    else:
        print_summaries(out, summaries)
        out.print(f"run directory: {results[0].run.path.parent}", highlight=False)


def _override(scenario: Scenario, field: str, value: object, *, option: str) -> Scenario:
    """``scenario`` with ``field`` set to ``value``, checked as the scenario's own field
    is (strict type, limits): :class:`BadInput` naming ``option`` and the value."""
    import pydantic

    info = Scenario.model_fields[field]
    form: Any = Annotated[info.annotation, *info.metadata]
    try:
        checked: Any = pydantic.TypeAdapter(form).validate_python(value)
    except pydantic.ValidationError as exc:
        raise BadInput(f"{option} {value}: {exc.errors()[0]['msg']}") from None
    return scenario.model_copy(update={field: checked})


def _check_broker(scenario: Scenario, source: Path) -> None:
    """A broker URL in the scenario is checked before anything is written."""
    url = scenario.transport.broker
    if scenario.transport.kind == "memory" or url in ("embedded", "mosquitto"):
        return
    try:
        BrokerAddress.parse(url)
    except TransportError as exc:
        raise BadInput(f"{source}: transport.broker: {exc}") from None


def _agent_count(scenario: Scenario) -> int:
    graph = build_graph(scenario)
    check_adversaries(scenario.adversary, graph)
    return int(graph.number_of_nodes())


@app.command()
def summarize(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory, or the folder of a hemesh run.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    partial: Annotated[
        bool,
        typer.Option("--partial", help="Summarize the agents that logged when some did not."),
    ] = False,
) -> None:
    """Recompute a run's metrics from its directory alone.

    Example: hemesh summarize runs/ring8-20261123T120000-1a2b3c
    """
    summaries = run_summaries(run_dir, partial=partial)
    if as_json:
        out.print_json(json.dumps(summaries))
        print_warnings(summaries)
    else:
        print_summaries(out, summaries)


@app.command()
def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer repeats and sizes (~1 min).")
    ] = False,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the JSON results.")
    ] = Path("bench.json"),
    key_bits: Annotated[  # at most crypto.key_bits' limit: beyond, key generation never ends
        int, typer.Option(help="Paillier key size.", min=512, max=8192)
    ] = 2048,
) -> None:
    """Measure the protocol's cost as ratios taken side by side in one run.

    Example: hemesh bench --quick -o bench.json
    """
    import dataclasses

    from ._bench import Settings, run_bench

    check_output_file(output, what="--output")

    settings = Settings.quick() if quick else Settings()
    settings = dataclasses.replace(settings, key_bits=key_bits)
    results = run_bench(settings, lambda line: out.print(line, highlight=False))
    output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    out.print(f"results: {output}", highlight=False)


register(app)  # agent, eavesdrop, broker, audit


@app.command()
def compose(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario TOML file.", metavar="SCENARIO")],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Compose file to write (beside it: broker config)."),
    ] = Path("docker-compose.yml"),
    algorithm: Annotated[
        Algorithm | None, typer.Option(help="Algorithm of the scenario to run (default: its kind).")
    ] = None,
    image: Annotated[str, typer.Option(help="Image of the agents' services.")] = "hemesh:latest",
    context: Annotated[
        Path | None,
        typer.Option(help="Build context with the Dockerfile (default: this checkout, if any)."),
    ] = None,
) -> None:
    """Write a docker compose file: one service per agent, Mosquitto, a volume for logs.

    Example: hemesh compose scenarios/examples/ring8.toml -o deploy/docker-compose.yml
    """
    written = write_compose(
        scenario_file,
        output,
        algorithm=algorithm,
        image=image,
        context=context,
        prepare_adversaries=prepare_adversaries,
    )
    out.print(f"compose file: {written.compose}", highlight=False, soft_wrap=True)
    out.print(f"run id: {written.run_id}", highlight=False, soft_wrap=True)
    out.print(f"run directory: {written.run_dir}", highlight=False, soft_wrap=True)


@app.command()
def dashboard(
    run_dirs: Annotated[
        list[Path],
        typer.Argument(help="Run directories or hemesh run folders; overlaid on the same axes."),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Folder for index.html and the figures."),
    ] = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve a live page on 127.0.0.1 instead.")
    ] = False,
    port: Annotated[
        int,
        typer.Option(
            help="Port of --serve (8050, or a free one if taken; 0: any).", min=0, max=65535
        ),
    ] = 8050,
    partial: Annotated[
        bool,
        typer.Option("--partial", help="Draw a run some agents of which left no log."),
    ] = False,
) -> None:
    """Draw MSE, consensus, objective gap, leakage, costs and topology from run directories.

    Writes a self-contained offline index.html plus PNG and PDF figures (default
    folder: RUN_DIR/dashboard). With --serve, serves a page that redraws every second
    from the growing logs until Ctrl-C.

    Examples: hemesh dashboard runs/ring8-20261123T120000-1a2b3c -o figs;
    hemesh dashboard --serve runs/ring8-20261123T120000-1a2b3c --port 8050
    """
    from ..dashboards import serve as serve_live
    from ..dashboards import write_dashboard

    if serve:
        with contextlib.suppress(KeyboardInterrupt):
            run_async(serve_live(run_dirs, port=port, announce=_announce))
        return
    folder = output or RunDir(run_dirs[0]).dashboard
    check_output_dir(folder, what="--output" if output is not None else "dashboard folder")
    written = write_dashboard(run_dirs, folder, partial=partial)
    for problem in written.problems:
        console.print(f"warning: {problem}", highlight=False, soft_wrap=True)
    out.print(f"dashboard: {written.html}", highlight=False)
    out.print(f"figures: {len(written.figures)} files in {written.html.parent}", highlight=False)


topology_app = App(help="Inspect communication graphs.", no_args_is_help=True)
app.add_typer(topology_app, name="topology")


@topology_app.command("show")
def topology_show(
    spec: Annotated[
        str, typer.Argument(help="'KIND name=value ...' (e.g. 'ring n=8') or a graph file.")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write a PNG drawing here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Degree statistics, diameter and spectral gap of a graph, and a PNG drawing.

    Examples: hemesh topology show "erdos_renyi n=16 p=0.3 seed=1" -o er16.png;
    hemesh topology show graph.graphml --json
    """
    from ..dashboards import build, draw, parse_spec, report

    if output is not None:
        _check_image(output)
    parsed = parse_spec(spec)
    graph = build(parsed)
    facts = report(parsed, graph)
    if output is not None:
        draw(graph, spec, output)
    if as_json:
        out.print_json(json.dumps(facts.as_json()))
        return
    print_topology(out, spec, facts)
    if output is not None:
        out.print(f"drawing: {output}", highlight=False)


def _check_image(path: Path) -> None:
    """``-o PATH`` of a drawing: a suffix matplotlib can write, a place it can be written."""
    from matplotlib.figure import Figure

    kinds = sorted(Figure().canvas.get_supported_filetypes())
    suffix = path.suffix.lower().removeprefix(".")
    if suffix not in kinds:
        got = f"'.{suffix}'" if suffix else "no suffix"
        raise BadInput(
            f"-o {path}: {got} is not an image format; use one of "
            + ", ".join(f".{k}" for k in kinds)
        )
    check_output_file(path, what="-o")


def main() -> None:
    """Entry point of the ``hemesh`` console script."""
    run_app(app, prog_name="hemesh")
