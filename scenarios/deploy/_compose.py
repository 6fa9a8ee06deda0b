"""``hemesh compose``: one container per agent (DESIGN.md, Runtime: spawning).

Writes a docker compose file with one service per agent (each runs
``hemesh agent`` from the image the repository's Dockerfile builds), a
Mosquitto service, a named volume that every agent writes its log and
checkpoint to, and the scenario's folder mounted read-only. Beside the compose
file go the broker's files, one login per agent and the run directory
(everything but the logs), so that once the logs are copied out of the volume
(``docker compose cp a0:/runs/. runs/``) ``hemesh summarize`` reads the run.

The broker is the locked-down Mosquitto of ``hemesh broker``
(:func:`~scenarios.deploy.mosquitto_setup`): anonymous clients refused, each
agent logs in with its own password and the ACL lets it talk to its neighbours
only; no port is published to the host. ``broker/`` holds the config, the
password hashes and the ACL (mode 0600, mounted read-only); the broker's
container copies the last two to ``/mosquitto/config`` owned by the broker's
uid before it starts mosquitto, so the host files never need that uid.
``logins/<agent>.env`` (mode 0600) holds one agent's broker URL with its
password, read by compose on the host (``env_file``): each agent container gets
its own password and no other. ``logins/healthcheck`` is the password of an
account that may log in and do nothing else (the broker's healthcheck).
An agent's environment shows to whoever may inspect its container.

Eavesdroppers (``[[adversary]] kind = "eavesdropper"``) are services of their own
(``eavesdropper-<name>``, :mod:`._compose_eavesdroppers`: their logins, the agents'
wait until they are subscribed, how they stop). Every agent of a scenario with
adversaries runs ``hemesh agent --adversaries`` (a colluders' member writes what it
sees, a target its true gradients, into the run directory in the volume); the run
directory beside the file gets ``public.json`` and the adversaries' specs
(``prepare_adversaries``: :func:`scenarios.privacy.prepare_adversaries`, handed in by
the caller, as this layer may not import privacy), so that once the logs are copied
out ``hemesh audit`` completes the records and runs the audit.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import networkx as nx
import yaml

from agents import Algorithm, Identity
from transport import BrokerRights, MosquittoSetup
from transport import TransportError as _TransportError

from .._errors import BadInput
from ..assembly import Problem, build_graph, build_problem
from ..results import RunDir, prepare_run, run_folder, run_stamp
from ..spec import EavesdropperSpec, Scenario, agent_id, check_adversaries, load
from . import _compose_eavesdroppers as spies
from ._agent_process import BROKER_ENV, IDENTITY_ENV, broker_url, refuse_in_process_only
from ._brokers import mosquitto_setup
from ._supervisor import ADVERSARIES_OPTION

MOSQUITTO_IMAGE = "eclipse-mosquitto:2"
BROKER_SERVICE = "broker"
BROKER_PORT = 1883
LOGS_VOLUME = "logs"
CONTAINER_RUNS = "/runs"
"""Where the logs volume is mounted in every agent container (the image creates it)."""
CONTAINER_SCENARIO = "/scenario"
"""Where the scenario's folder is mounted, read-only."""
CONTAINER_ROSTER = "/identity/roster.json"
"""Where an agent finds the run's (public) roster, read-only; its own secret identity
comes in its env file (:data:`IDENTITY_ENV`)."""
BROKER_FILES = "broker"
"""Folder beside the compose file: the broker's config, password hashes and ACL."""
BROKER_MOUNT = "/hemesh-broker"
"""Where the broker's container sees that folder (read-only)."""
BROKER_CONFIG_DIR = PurePosixPath("/mosquitto/config")
"""Where the broker's container copies the password file and ACL, owned by its uid
(the official image's layout)."""
BROKER_USER = "mosquitto"
"""The broker's user in the image (uid 1883 in the official one): mosquitto drops to it."""
LOGINS = "logins"
"""Folder beside the compose file: ``<agent>.env`` per agent, mode 0600."""
HEALTHCHECK = "healthcheck"
"""The broker account of the healthcheck: it may log in, nothing else."""
DEFAULT_IMAGE = "hemesh:latest"
RESTARTS = 3
"""Times compose restarts a crashed agent (it resumes from its checkpoint)."""
AGENT_ADVERSARY_ARGS: tuple[str, ...] = (ADVERSARIES_OPTION,)
"""Arguments every agent's ``hemesh agent`` gets on top when the scenario has
``[[adversary]]`` entries: it plays its part in them (colluders' member, target)."""
_SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent


class AdversaryPreparer(Protocol):
    """:func:`scenarios.privacy.prepare_adversaries`: writes ``public.json`` and each
    adversary's spec into the run directory before the agents start."""

    def __call__(
        self,
        scenario: Scenario,
        run: RunDir,
        /,
        *,
        run_id: str,
        algorithm: Algorithm,
        graph: nx.Graph,
        problem: Problem,
    ) -> object: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class ComposeFiles:
    """What ``hemesh compose`` wrote."""

    compose: Path
    broker_config: Path
    logins: dict[str, Path]
    """Each agent's env file (its broker URL with its password), mode 0600."""
    run_id: str
    run_dir: Path
    """The run directory beside the compose file (its logs come from the volume)."""


def broker_setup(
    setup: MosquittoSetup, eavesdroppers: tuple[EavesdropperSpec, ...] = ()
) -> MosquittoSetup:
    """``setup`` (the scenario graph's, :func:`mosquitto_setup`) as the compose broker:
    listening on the compose network at :data:`BROKER_PORT`, run as the image's broker
    user, with the healthcheck's rightless account and each eavesdropper's own (the
    rights of its vantage's account in ``setup``)."""
    extra = {HEALTHCHECK: BrokerRights.NONE, **spies.accounts(setup, eavesdroppers)}
    try:
        return dataclasses.replace(
            setup,
            users={**setup.users, **extra},
            host="0.0.0.0",
            port=BROKER_PORT,
            run_as=BROKER_USER,
        )
    except _TransportError as exc:
        raise BadInput(f"broker: {exc}") from exc


def mosquitto_config(setup: MosquittoSetup) -> str:
    """The broker's ``mosquitto.conf`` as its container sees it: files in
    :data:`BROKER_CONFIG_DIR`, the log on stderr (``docker compose logs broker``)."""
    lines = setup.config(BROKER_CONFIG_DIR).splitlines()
    log_file = [i for i, line in enumerate(lines) if line.startswith("log_dest file ")]
    if len(log_file) != 1:  # pragma: no cover  (a change of MosquittoSetup.config)
        raise AssertionError("mosquitto config without exactly one log_dest file line")
    lines[log_file[0]] = "log_dest stderr"  # unbuffered, unlike its stdout
    return "\n".join(lines) + "\n"


def _broker_command() -> list[str]:
    """The broker container's command: copy the password file and ACL where mosquitto
    reads them, owned by its user and 0600, then become mosquitto (which drops to it)."""
    copy = (
        f"install -o {BROKER_USER} -g {BROKER_USER} -m 0600 "
        f"{BROKER_MOUNT}/passwd {BROKER_MOUNT}/acl {BROKER_CONFIG_DIR}/"
    )
    return ["sh", "-c", f"{copy} && exec mosquitto -c {BROKER_MOUNT}/mosquitto.conf"]


def _write_private(path: Path, text: str) -> None:
    """``text`` to ``path``, readable by its owner only (created so, never widened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


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


def _broker_service(broker_files: str) -> dict[str, Any]:
    """The Mosquitto service: ``broker_files`` (a host path as compose reads it) mounted
    read-only; its healthcheck logs in as :data:`HEALTHCHECK` (a rightless account)."""
    password = f"$$(cat {BROKER_MOUNT}/{HEALTHCHECK}.password)"  # $$: compose's literal $
    probe = (
        f"mosquitto_pub -h 127.0.0.1 -p {BROKER_PORT} -u {HEALTHCHECK} "
        f'-P "{password}" -t hemesh/healthcheck -n'
    )
    return {
        "image": MOSQUITTO_IMAGE,
        "entrypoint": _broker_command(),
        "volumes": [f"{broker_files}:{BROKER_MOUNT}:ro"],
        "healthcheck": {
            "test": ["CMD-SHELL", probe],
            "interval": "1s",
            "timeout": "5s",
            "retries": 30,
        },
    }


def _agent_service(
    agent: str,
    *,
    scenario_name: str,
    scenario_folder: str,
    run_id: str,
    run_path: str,
    algorithm: Algorithm,
    image: str,
    build_context: str | None,
    login: str,
    roster: str,
    extra_args: tuple[str, ...] = (),
    entrypoint: list[str] | None = None,
    waits_for: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One agent's service; ``login`` is its env file (its broker URL and its secret
    identity) and ``roster`` the run's public roster, as compose reads them.
    ``entrypoint`` (the eavesdroppers' wait) replaces the image's ``hemesh``;
    ``waits_for``: services started before it (the eavesdroppers)."""
    service = _image(image, build_context)
    if entrypoint is not None:
        service["entrypoint"] = entrypoint
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
            "--roster",
            CONTAINER_ROSTER,
            *extra_args,
        ],
        # BROKER_ENV and IDENTITY_ENV: this agent's own password and identity, nobody else's
        "env_file": [login],
        "environment": {"PYTHONUNBUFFERED": "1"},
        "volumes": [
            f"{scenario_folder}:{CONTAINER_SCENARIO}:ro",
            f"{LOGS_VOLUME}:{CONTAINER_RUNS}",
            f"{roster}:{CONTAINER_ROSTER}:ro",
        ],
        "depends_on": {
            BROKER_SERVICE: {"condition": "service_healthy"},
            **{name: {"condition": "service_started"} for name in waits_for},
        },
        # it resumes from its checkpoint in the logs volume; bad input (exit 2) stops
        "restart": f"on-failure:{RESTARTS}",
    }
    return service


def _image(image: str, build_context: str | None) -> dict[str, Any]:
    """The image of hemesh's services, built from ``build_context`` if there is one."""
    service: dict[str, Any] = {"image": image}
    if build_context is not None:
        service["build"] = {"context": build_context, "dockerfile": "Dockerfile"}
    return service


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
    broker_files: str,
    logins: dict[str, str],
    roster: str,
    scenario: Scenario | None = None,
) -> dict[str, Any]:
    """The compose file as a mapping. ``run_path`` is the run directory relative to
    the logs volume; folders and files are host paths as compose reads them
    (``logins``: each agent's env file, and each eavesdropper's under its service's
    name). ``scenario`` (default: none) brings its eavesdroppers' services."""
    services: dict[str, Any] = {BROKER_SERVICE: _broker_service(broker_files)}
    run_dir = PurePosixPath(CONTAINER_RUNS) / run_path
    specs = spies.eavesdroppers(scenario) if scenario is not None else []
    entrypoint = None
    if scenario is not None and specs:
        entrypoint = spies.wait_entrypoint(scenario, run_dir, specs)
        for spec in specs:
            name = spies.service_name(spec)
            services[name] = spies.service(
                spec,
                scenario=scenario,
                base=_image(image, build_context),
                scenario_path=f"{CONTAINER_SCENARIO}/{scenario_name}",
                run_id=run_id,
                run_dir=run_dir,
                algorithm=algorithm.value,
                login=logins[name],
                volumes=[
                    f"{scenario_folder}:{CONTAINER_SCENARIO}:ro",
                    f"{LOGS_VOLUME}:{CONTAINER_RUNS}",
                ],
                depends_on={BROKER_SERVICE: {"condition": "service_healthy"}},
                restart=f"on-failure:{RESTARTS}",
            )
    extra_args = AGENT_ADVERSARY_ARGS if scenario is not None and scenario.adversary else ()
    for agent in agents:
        services[agent] = _agent_service(
            agent,
            scenario_name=scenario_name,
            scenario_folder=scenario_folder,
            run_id=run_id,
            run_path=run_path,
            algorithm=algorithm,
            image=image,
            build_context=build_context,
            login=logins[agent],
            roster=roster,
            extra_args=extra_args,
            entrypoint=entrypoint,
            waits_for=tuple(spies.service_name(spec) for spec in specs),
        )
    project = "hemesh-" + run_id.lower().replace(".", "-")
    return {"name": project, "services": services, "volumes": {LOGS_VOLUME: {}}}


def _write_broker(
    setup: MosquittoSetup,
    base: Path,
    identities: dict[str, Identity],
    eavesdroppers: list[EavesdropperSpec],
) -> tuple[Path, dict[str, Path]]:
    """The broker's folder and the env files under ``base``: each agent's (its broker
    URL and secret identity), each eavesdropper's (its broker URL, under its service's
    name)."""
    folder = base / BROKER_FILES
    try:
        files = setup.write(folder, mounted_at=BROKER_CONFIG_DIR, credentials=False)
    except _TransportError as exc:
        raise BadInput(f"--output: {exc}") from exc
    _write_private(files.config, mosquitto_config(setup))
    _write_private(folder / f"{HEALTHCHECK}.password", files.passwords[HEALTHCHECK] + "\n")
    logins = base / LOGINS
    logins.mkdir(mode=0o700, exist_ok=True)
    env_files: dict[str, Path] = {}
    for agent in setup.neighbours:
        address = setup.address(agent, files, host=BROKER_SERVICE)
        env_files[agent] = logins / f"{agent}.env"
        secret = identities[agent].to_bytes().hex()
        _write_private(
            env_files[agent], f"{BROKER_ENV}={broker_url(address)}\n{IDENTITY_ENV}={secret}\n"
        )
    for spec in eavesdroppers:
        name = spies.service_name(spec)
        address = setup.address(spies.account(spec), files, host=BROKER_SERVICE)
        env_files[name] = logins / f"{name}.env"
        _write_private(env_files[name], f"{BROKER_ENV}={broker_url(address)}\n")
    return folder, env_files


def write_compose(
    scenario_file: Path,
    output: Path,
    *,
    algorithm: Algorithm | None = None,
    image: str = DEFAULT_IMAGE,
    context: Path | None = None,
    prepare_adversaries: AdversaryPreparer | None = None,
) -> ComposeFiles:
    """Write the compose file ``output``, its broker config and the run directory beside it.

    ``context`` is the image's build context (a folder with the Dockerfile); by default
    the source tree hemesh runs from, when that is a checkout, else none (image only).
    ``prepare_adversaries`` (:func:`scenarios.privacy.prepare_adversaries`) is required
    by a scenario with adversaries other than eavesdroppers (which write their own)."""
    if context is not None and not (context / "Dockerfile").is_file():
        raise BadInput(f"--context: no Dockerfile in {context}")
    scenario = load(scenario_file)
    if scenario.transport.kind != "mqtt":
        raise BadInput(
            f"transport.kind = {scenario.transport.kind!r}: containers need transport.kind = 'mqtt'"
        )
    refuse_in_process_only(scenario)
    if prepare_adversaries is None and len(spies.eavesdroppers(scenario)) < len(scenario.adversary):
        raise BadInput(
            "adversary: colluders and membership need the run directory prepared for them; "
            "pass prepare_adversaries=scenarios.privacy.prepare_adversaries (hemesh compose does)"
        )
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
    check_adversaries(scenario.adversary, graph)
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
    if prepare_adversaries is not None:
        prepare_adversaries(
            scenario, run, run_id=run_id, algorithm=algorithm, graph=graph, problem=problem
        )
    specs = spies.eavesdroppers(scenario)
    setup = broker_setup(mosquitto_setup(graph, (run_id,)), tuple(specs))
    identities = {a: Identity.load(run.identity(a)) for a in setup.neighbours}
    broker_folder, env_files = _write_broker(setup, base, identities, specs)
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
        broker_files=_bind_path(broker_folder, base),
        logins={a: _bind_path(f, base) for a, f in env_files.items()},
        roster=_bind_path(run.roster, base),
        scenario=scenario,
    )
    header = (
        f"# Written by hemesh compose from {scenario_file.name}: run {run_id}.\n"
        "# docker compose up --build -d; docker compose wait <agents>;\n"
        "# docker compose cp a0:/runs/. runs/; hemesh summarize runs/<run>\n"
    )
    header += spies.header(specs, adversaries=bool(scenario.adversary))
    output.write_text(header + yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return ComposeFiles(
        compose=output,
        broker_config=broker_folder / "mosquitto.conf",
        logins=env_files,
        run_id=run_id,
        run_dir=run.path,
    )
