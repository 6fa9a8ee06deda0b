"""The eavesdroppers of a compose file (``[[adversary]] kind = "eavesdropper"``).

Each eavesdropper is a service of its own running ``hemesh eavesdrop``: a real MQTT
subscriber that writes its record into the run directory in the logs volume, which
the audit reads once the logs are copied out (as for ``--spawn processes``). It logs
in with an account of its own, with the rights of its ``vantage``'s account in
:func:`~scenarios.deploy.mosquitto_setup` (:data:`~scenarios.deploy.VANTAGE_LOGINS`:
``"broker"`` reads every topic of the run and writes none, ``"client"`` may log in and
do nothing else); its own name, so that two eavesdroppers never share a client id
(the broker takes the username as the client id). Its URL with its password is in
``logins/eavesdropper-<name>.env`` (mode 0600), as an agent's.

Ordering: an eavesdropper must be subscribed before any agent publishes, or it
misses the first messages. Once subscribed, ``hemesh eavesdrop --ready-file`` creates
``adversaries/<name>.subscribed`` in the run directory on the logs volume; every
agent's container runs ``hemesh agent`` only once each eavesdropper's file exists
(an ``sh`` loop before ``exec hemesh``, bounded by ``transport.startup_timeout``:
past it the agent exits 1, and its restart policy tries again). That holds on any
engine, whether or not it honours ``depends_on`` conditions (podman-compose 1.0.3
does not); ``depends_on`` only orders the starts. An eavesdropper that dies is
started again (``restart: on-failure``) but misses what was sent meanwhile.

Stopping: it listens for the run's deadline (``--timeout``: the supervisor's bound on
a whole run) at most. Once every agent container has exited, stop it:
``docker compose stop eavesdropper-<name>`` (SIGTERM: it drains what is in flight,
writes its record and exits 0), then copy the logs volume out and audit the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from transport import BrokerRights, MosquittoSetup

from ..results import RunDir
from ..spec import EavesdropperSpec, Scenario
from ._brokers import VANTAGE_LOGINS
from ._supervisor import run_deadline

SERVICE_PREFIX = "eavesdropper-"
"""An eavesdropper's service (and env file) is named ``eavesdropper-<name>``."""
SUBSCRIBED = ".subscribed"
"""Suffix of the file an eavesdropper creates in ``adversaries/`` once subscribed."""
POLL_SECONDS = 0.2
"""How often an agent's container looks for the eavesdroppers' files."""


def eavesdroppers(scenario: Scenario) -> list[EavesdropperSpec]:
    return [a for a in scenario.adversary if isinstance(a, EavesdropperSpec)]


def service_name(spec: EavesdropperSpec) -> str:
    return f"{SERVICE_PREFIX}{spec.name}"


def account(spec: EavesdropperSpec) -> str:
    """The eavesdropper's own broker login: its vantage's account and its name."""
    return f"{VANTAGE_LOGINS[spec.vantage]}-{spec.name}"


def accounts(setup: MosquittoSetup, specs: Sequence[EavesdropperSpec]) -> dict[str, BrokerRights]:
    """Each eavesdropper's login with the rights of its vantage's account in ``setup``."""
    return {account(spec): setup.users[VANTAGE_LOGINS[spec.vantage]] for spec in specs}


def ready_file(run_dir: PurePosixPath, spec: EavesdropperSpec) -> PurePosixPath:
    """Where the eavesdropper says it is subscribed, in the container's run directory."""
    folder = RunDir(Path(run_dir)).adversaries.path.relative_to(Path(run_dir))
    return run_dir / folder.as_posix() / f"{spec.name}{SUBSCRIBED}"


def service(
    spec: EavesdropperSpec,
    *,
    scenario: Scenario,
    base: dict[str, Any],
    scenario_path: str,
    run_id: str,
    run_dir: PurePosixPath,
    algorithm: str,
    login: str,
    volumes: list[str],
    depends_on: dict[str, Any],
    restart: str,
) -> dict[str, Any]:
    """The eavesdropper's service: ``base`` (the agents' image and build), ``login`` its
    env file, ``volumes`` the scenario's folder and the logs volume."""
    return {
        **base,
        "command": [
            "eavesdrop",
            "--scenario",
            scenario_path,
            "--name",
            spec.name,
            "--run",
            run_id,
            "--out",
            str(run_dir),
            "--algorithm",
            algorithm,
            "--timeout",
            f"{run_deadline(scenario):g}",
            "--ready-file",
            str(ready_file(run_dir, spec)),
        ],
        "env_file": [login],  # its own broker URL with its password, nothing else
        "environment": {"PYTHONUNBUFFERED": "1"},
        "volumes": volumes,
        "depends_on": depends_on,
        "restart": restart,
    }


def header(specs: Sequence[EavesdropperSpec], *, adversaries: bool) -> str:
    """The compose file's comment lines on its eavesdroppers and the audit."""
    text = ""
    if specs:
        names = " ".join(service_name(spec) for spec in specs)
        text += (
            f"# Eavesdroppers: {names}. Every agent starts once each has subscribed (its\n"
            "# entrypoint waits for adversaries/<name>.subscribed in the logs volume), so\n"
            "# they see every message; after the agents exit, before copying the logs out:\n"
            f"# docker compose stop {names}   (they stop by themselves after --timeout s)\n"
        )
    if adversaries:
        text += "# After the copy-out: hemesh audit runs/<run>/<algorithm>\n"
    return text


def wait_entrypoint(
    scenario: Scenario, run_dir: PurePosixPath, specs: Sequence[EavesdropperSpec]
) -> list[str]:
    """An agent container's entrypoint when the scenario has eavesdroppers: wait until
    each one is subscribed (its file exists), at most ``transport.startup_timeout``
    seconds in all, then ``exec hemesh`` with the service's command. ``$`` is doubled:
    compose would read ``$name`` as one of its own variables."""
    seconds = int(scenario.transport.startup_timeout) + 1
    lines = [f"end=$(( $(date +%s) + {seconds} ))"]
    for spec in specs:  # names and run ids are [A-Za-z0-9_.-]: nothing to quote
        marker = ready_file(run_dir, spec)
        lines += [
            f"while [ ! -e {marker} ]; do",
            '  if [ "$(date +%s)" -ge "$end" ]; then',
            f"    echo 'eavesdropper {spec.name} not subscribed within {seconds} s "
            f"(no {marker}); not starting the agent' >&2; exit 1",
            "  fi",
            f"  sleep {POLL_SECONDS:g}",
            "done",
        ]
    lines.append('exec hemesh "$@"')
    script = "\n".join(lines).replace("$", "$$")
    return ["sh", "-c", script, "hemesh"]  # "hemesh" is $0; the command follows as $@
