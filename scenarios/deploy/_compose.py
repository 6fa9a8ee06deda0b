"""``hemesh compose``: one container per agent (DESIGN.md, Runtime: spawning).

Writes a docker compose file with one service per agent (each runs
``hemesh agent`` from the image the repository's Dockerfile builds), a
Mosquitto service with a generated config, a named volume that every agent
writes its log to, and the scenario's folder mounted read-only. Beside the
compose file go the broker config and the run directory (everything but the
logs), so that once the logs are copied out of the volume
(``docker compose cp a0:/runs/. runs/``) ``hemesh summarize`` reads the run.

The broker config is a plain one for the compose network: anonymous clients,
no ACL, TCP_NODELAY on, no port published to the host. Anything that can
reach the compose network can read and write the run's topics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agents import Algorithm

from .._errors import BadInput
from ..assembly import build_graph, build_problem
from ..results import prepare_run, run_folder, run_stamp
from ..spec import Scenario, agent_id, load
from ._agent_process import BROKER_ENV, refuse_in_process_only

MOSQUITTO_IMAGE = "eclipse-mosquitto:2"
BROKER_SERVICE = "broker"
BROKER_PORT = 1883
LOGS_VOLUME = "logs"
CONTAINER_RUNS = "/runs"
"""Where the logs volume is mounted in every agent container (the image creates it)."""
CONTAINER_SCENARIO = "/scenario"
"""Where the scenario's folder is mounted, read-only."""
CONTAINER_IDENTITY = "/identity"
"""Where an agent finds the run's roster and its own identity file, read-only."""
BROKER_CONFIG = "mosquitto.conf"
DEFAULT_IMAGE = "hemesh:latest"
RESTARTS = 3
"""Times compose restarts a crashed agent (it resumes from its checkpoint)."""
_SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True, kw_only=True, slots=True)
class ComposeFiles:
    """What ``hemesh compose`` wrote."""

    compose: Path
    broker_config: Path
    run_id: str
    run_dir: Path
    """The run directory beside the compose file (its logs come from the volume)."""


def mosquitto_config(port: int = BROKER_PORT) -> str:
    """A plain Mosquitto config for a private compose network."""
    return (
        "# Written by hemesh compose: a plain broker for the compose network only\n"
        "# (no port is published to the host). Anonymous clients, no ACL.\n"
        f"listener {port} 0.0.0.0\n"
        "allow_anonymous true\n"
        "set_tcp_nodelay true\n"
        "persistence false\n"
        "log_dest stdout\n"
        "log_type error\nlog_type warning\nlog_type notice\n"
    )


def _bind_path(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` in the form compose reads as a bind mount
    (a relative host path must start with ``.``, else it names a volume)."""
    try:
        relative = os.path.relpath(path.resolve(), base.resolve())
    except ValueError:  # another drive (Windows)
        return str(path.resolve())
    return relative if relative.startswith(".") else f"./{relative}"


def _check_mountable(scenario: Scenario, folder: Path) -> None:
    """Files the scenario reads must lie in its folder: that is all a container sees."""
    files: list[tuple[str, Path]] = []
    if scenario.problem.csv is not None:
        files.append(("problem.csv", Path(scenario.problem.csv)))
    path = (scenario.topology.model_extra or {}).get("path")
    if scenario.topology.kind == "file" and isinstance(path, str):
        files.append(("topology.path", Path(path)))
    for name, file in files:
        if not file.resolve().is_relative_to(folder.resolve()):
            raise BadInput(
                f"{name}: {file} is outside the scenario's folder {folder}, which is all "
                "the agent containers see; move it next to the scenario"
            )


def compose_document(
    *,
    agents: list[str],
    scenario_name: str,
    scenario_folder: str,
    run_id: str,
    run_path: str,
    algorithm: Algorithm,
    image: str,
    build_context: str | None,
    broker_config: str,
    identities: dict[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The compose file as a mapping. ``run_path`` is the run directory relative to
    the logs volume; folders are host paths as compose reads them. ``identities``: per
    agent, the host paths of the run's roster and of its own identity file, mounted
    read-only (an agent sees no other agent's identity)."""
    broker_url = f"mqtt://{BROKER_SERVICE}:{BROKER_PORT}"
    services: dict[str, Any] = {
        BROKER_SERVICE: {
            "image": MOSQUITTO_IMAGE,
            "volumes": [f"{broker_config}:/mosquitto/config/mosquitto.conf:ro"],
            "healthcheck": {
                "test": [
                    "CMD",
                    "mosquitto_pub",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(BROKER_PORT),
                    "-t",
                    "hemesh/healthcheck",
                    "-n",
                ],
                "interval": "1s",
                "timeout": "5s",
                "retries": 30,
            },
        }
    }
    for agent in agents:
        service: dict[str, Any] = {"image": image}
        if build_context is not None:
            service["build"] = {"context": build_context, "dockerfile": "Dockerfile"}
        service |= {
            "command": [
                "agent",
                "--scenario",
                f"{CONTAINER_SCENARIO}/{scenario_name}",
                "--id",
                agent,
                "--run",
                run_id,
                "--out",
                f"{CONTAINER_RUNS}/{run_path}",
                "--algorithm",
                algorithm.value,
            ],
            "environment": {BROKER_ENV: broker_url, "PYTHONUNBUFFERED": "1"},
            "volumes": [
                f"{scenario_folder}:{CONTAINER_SCENARIO}:ro",
                f"{LOGS_VOLUME}:{CONTAINER_RUNS}",
            ],
            "depends_on": {BROKER_SERVICE: {"condition": "service_healthy"}},
            # it resumes from its checkpoint in the logs volume; bad input (exit 2) stops
            "restart": f"on-failure:{RESTARTS}",
        }
        if identities is not None:
            roster, identity = f"{CONTAINER_IDENTITY}/roster.json", f"{CONTAINER_IDENTITY}/key"
            service["command"] += ["--roster", roster, "--identity", identity]
            host_roster, host_identity = identities[agent]
            service["volumes"] += [f"{host_roster}:{roster}:ro", f"{host_identity}:{identity}:ro"]
        services[agent] = service
    project = "hemesh-" + run_id.lower().replace(".", "-")
    return {"name": project, "services": services, "volumes": {LOGS_VOLUME: {}}}


def write_compose(
    scenario_file: Path,
    output: Path,
    *,
    algorithm: Algorithm | None = None,
    image: str = DEFAULT_IMAGE,
    context: Path | None = None,
) -> ComposeFiles:
    """Write the compose file ``output``, its broker config and the run directory beside it.

    ``context`` is the image's build context (a folder with the Dockerfile); by default
    the source tree hemesh runs from, when that is a checkout, else none (image only)."""
    if context is not None and not (context / "Dockerfile").is_file():
        raise BadInput(f"--context: no Dockerfile in {context}")
    scenario = load(scenario_file)
    if scenario.transport.kind != "mqtt":
        raise BadInput(
            f"transport.kind = {scenario.transport.kind!r}: containers need transport.kind = 'mqtt'"
        )
    refuse_in_process_only(scenario)
    algorithm = algorithm or scenario.algorithm.kind
    if algorithm not in scenario.algorithms:
        names = ", ".join(a.value for a in scenario.algorithms)
        raise BadInput(
            f"--algorithm: {algorithm.value!r} is not an algorithm of the scenario ({names})"
        )
    if not image or any(c.isspace() for c in image):
        raise BadInput(f"--image: not an image name: {image!r}")
    folder = scenario_file.parent
    _check_mountable(scenario, folder)
    graph = build_graph(scenario)
    problem = build_problem(scenario, graph.number_of_nodes())
    base = output.parent
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"--output: cannot create {base}: {exc.strerror}") from exc
    stamp = run_stamp()
    root = base / "runs" / run_folder(scenario.name, stamp)
    run, run_id = prepare_run(
        root,
        stamp=stamp,
        scenario=scenario,
        algorithm=algorithm,
        graph=graph,
        problem=problem,
        source=scenario_file,
    )
    broker_config = base / BROKER_CONFIG
    broker_config.write_text(mosquitto_config(), encoding="utf-8")
    if context is None and (_SOURCE_ROOT / "Dockerfile").is_file():
        context = _SOURCE_ROOT
    build_context = _bind_path(context.resolve(), base) if context is not None else None
    document = compose_document(
        agents=[agent_id(i) for i in range(graph.number_of_nodes())],
        scenario_name=scenario_file.name,
        scenario_folder=_bind_path(folder, base),
        run_id=run_id,
        run_path=f"{root.name}/{algorithm.value}",
        algorithm=algorithm,
        image=image,
        build_context=build_context,
        broker_config=_bind_path(broker_config, base),
        identities={
            a: (_bind_path(run.roster, base), _bind_path(run.identity(a), base))
            for a in (agent_id(i) for i in range(graph.number_of_nodes()))
        },
    )
    header = (
        f"# Written by hemesh compose from {scenario_file.name}: run {run_id}.\n"
        "# docker compose up --build -d; docker compose wait <agents>;\n"
        "# docker compose cp a0:/runs/. runs/; hemesh summarize runs/<run>\n"
    )
    output.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return ComposeFiles(
        compose=output, broker_config=broker_config, run_id=run_id, run_dir=run.path
    )
