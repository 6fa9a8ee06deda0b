"""The commands that run one part of a deployment on its own (an agent, an
eavesdropper, a broker; in a process, a container or on a host of their own) and the
audit of what they recorded, registered on the ``hemesh`` app by :func:`register`."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agents import Algorithm
from transport import ManagedMosquitto

from .._errors import BadInput
from ..assembly import build_graph
from ..deploy import (
    BROKER_ENV,
    RECONNECT_TIMEOUT,
    broker_lines,
    check_run_id,
    default_run_id,
    describe,
    mosquitto_setup,
    plan_agent,
    resolve_broker,
    run_agent,
    serve_broker,
)
from ..privacy import agent_part, audit_rows, finish_adversaries
from ..privacy import eavesdrop as eavesdrop_run
from ..results import RunDir, check_output_dir, find_runs
from ..spec import load, load_scenario
from ._exits import console
from ._loop import run_async, stoppable

out = Console()


def register(app: typer.Typer) -> None:
    """Add ``agent``, ``eavesdrop``, ``broker`` and ``audit`` to ``app``."""
    for command in (agent, eavesdrop, broker, audit):
        app.command()(command)


def agent(
    *,
    scenario_file: Annotated[
        Path, typer.Option("--scenario", help="Scenario TOML file, or a run's resolved.json.")
    ],
    agent_id: Annotated[str, typer.Option("--id", help="The agent's id, e.g. a0.")],
    run_id: Annotated[str, typer.Option("--run", help="Run id, the same for every agent.")],
    run_dir: Annotated[
        Path, typer.Option("--out", help="Run directory: the log goes to RUN_DIR/logs/ID.jsonl.")
    ],
    broker: Annotated[
        str | None,
        typer.Option(
            help="Broker URL mqtt://USER:PASS@HOST:PORT (default: the scenario's).",
            envvar=BROKER_ENV,
        ),
    ] = None,
    algorithm: Annotated[
        Algorithm | None, typer.Option(help="Algorithm of the scenario to run (default: its kind).")
    ] = None,
    roster: Annotated[
        Path | None, typer.Option(help="The run's roster (default: RUN_DIR/roster.json).")
    ] = None,
    identity: Annotated[
        Path | None,
        typer.Option(help="The agent's secret identity (default: RUN_DIR/identities/ID.key)."),
    ] = None,
    reconnect_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds a lost broker is tried again before the agent fails (0: never).",
            metavar="SECONDS",
        ),
    ] = RECONNECT_TIMEOUT,
    adversaries: Annotated[
        bool,
        typer.Option(
            "--adversaries",
            help="Play this agent's part in the scenario's adversaries: as a "
            "colluders' member write what it sees (required of a member), and with an "
            "eavesdropper or colluders its true gradients, for scoring only, to "
            "RUN_DIR/adversaries/. Without it no gradient is written: the audit then "
            "scores states only.",
        ),
    ] = False,
) -> None:
    """Run exactly one agent of a scenario (one per process, container or host).

    Example: hemesh agent --scenario s.toml --id a0 --run r1 --out runs/r1 --broker mqtt://h:1883
    """
    scenario = load_scenario(scenario_file)
    check_output_dir(run_dir, what="--out")
    plan = plan_agent(
        scenario,
        agent=agent_id,
        run=run_id,
        out=run_dir,
        broker=broker,
        algorithm=algorithm,
        roster=roster,
        identity=identity,
        reconnect_timeout=reconnect_timeout,
        adversaries=adversaries,
    )
    with contextlib.ExitStack() as stack:
        part = None
        if adversaries:
            found = agent_part(scenario, RunDir(run_dir), agent=agent_id, run_id=run_id)
            part = None if found is None else stack.enter_context(found)
        report = stoppable(run_agent(plan, taps=part))
    out.print(json.dumps(describe(report, plan)), highlight=False, soft_wrap=True)


def eavesdrop(
    *,
    scenario_file: Annotated[
        Path, typer.Option("--scenario", help="Scenario TOML file with the [[adversary]].")
    ],
    name: Annotated[str, typer.Option(help="The eavesdropper's name in the scenario.")],
    run_id: Annotated[str, typer.Option("--run", help="Run id of the agents.")],
    run_dir: Annotated[
        Path, typer.Option("--out", help="Run directory: the record goes to RUN_DIR/adversaries/.")
    ],
    broker: Annotated[
        str | None,
        typer.Option(
            help="Broker URL mqtt://USER:PASS@HOST:PORT of its login (default: the scenario's).",
            envvar=BROKER_ENV,
        ),
    ] = None,
    algorithm: Annotated[
        Algorithm | None, typer.Option(help="Algorithm the agents run (default: its kind).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Stop after this many seconds.")] = 3600.0,
    ready_file: Annotated[
        Path | None,
        typer.Option(help="File to create once subscribed (compose's agents wait for it)."),
    ] = None,
) -> None:
    """Record a run's traffic as the scenario's eavesdropper, in a process of its own.

    It listens until SIGTERM or Ctrl-C; then hemesh audit RUN_DIR, once the agents are done.
    Example: hemesh eavesdrop --scenario s.toml --name wiretap --run r1 --out runs/r1
    """
    scenario = load_scenario(scenario_file)
    address = resolve_broker(scenario, broker)

    def ready() -> None:
        if ready_file is not None:
            try:
                ready_file.touch()
            except OSError as exc:
                raise BadInput(f"--ready-file: cannot create {ready_file}: {exc.strerror}") from exc
        out.print(json.dumps({"eavesdropper": name, "subscribed": True}), highlight=False)

    heard = stoppable(
        eavesdrop_run(
            scenario,
            name=name,
            run=check_run_id(run_id),
            out=run_dir,
            address=address,
            algorithm=algorithm,
            listen_for=timeout,
            ready=ready,
        )
    )
    record = RunDir(run_dir).adversaries.record(name)
    line = {"eavesdropper": name, "messages": heard, "record": str(record)}
    out.print(json.dumps(line), highlight=False, soft_wrap=True)


def broker(
    scenario_file: Annotated[Path, typer.Argument(help="Scenario TOML file.", metavar="SCENARIO")],
    *,
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 1883,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes it on every interface.")
    ] = "127.0.0.1",
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Where config, passwords, ACL, credentials go (broker-RUN)."),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run", help="Run id the agents use (default NAME-TIMESTAMP).")
    ] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="TLS only, with a generated throw-away CA (DIR/ca.crt).")
    ] = False,
) -> None:
    """Run Mosquitto for a scenario's graph: a login per agent, an ACL, nothing anonymous.

    Example: hemesh broker scenarios/examples/ring8.toml --port 1884 --run r1 --dir broker-r1
    """
    scenario = load(scenario_file)
    run_id = check_run_id(run_id or default_run_id(scenario))
    setup = mosquitto_setup(build_graph(scenario), (run_id,), host=host, port=port, tls=tls)
    where = directory or Path(f"broker-{run_id}")

    def announce(started: ManagedMosquitto) -> None:
        out.print("\n".join(broker_lines(started)), highlight=False, soft_wrap=True)

    try:
        run_async(serve_broker(setup, where, announce=announce))
    except KeyboardInterrupt:
        console.print("mosquitto stopped", highlight=False)


def audit(
    run_dir: Annotated[
        Path, typer.Argument(help="A run directory, or the folder of a hemesh run.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the audit as JSON.")] = False,
) -> None:
    """Audit a run's adversaries from their records, once its agents are done.

    Merges the parts colluders' members wrote (hemesh agent --adversaries), writes the
    membership attacker's record (the released models, from the logs), runs the attacks
    and writes RUN_DIR/adversaries/audit.json. A run directory that is damaged or whose
    agents did not finish is refused (exit 2).

    Example: hemesh audit runs/ring8-20261123T120000-1a2b3c/paillier
    """
    runs = find_runs(run_dir)
    if not runs:
        raise BadInput(f"{run_dir}: not a run directory (no resolved.json and graph.json)")
    results = [(run, finish_adversaries(run)) for run in runs]
    for run, result in results:
        for note in result.notes:
            console.print(f"note: {run.path.name}: {note}", highlight=False, soft_wrap=True)
    if as_json:
        out.print_json(json.dumps({run.path.name: r.summary for run, r in results}))
        return
    table = Table(title="hemesh audit")
    table.add_column("")
    for run, _ in results:
        table.add_column(run.path.name, justify="right")
    for label, cells in audit_rows([{"audit": r.summary} for _, r in results]):
        table.add_row(escape(label), *(escape(c) for c in cells))
    out.print(table)
    for _, result in results:
        out.print(f"audit: {result.audit}", highlight=False, soft_wrap=True)
