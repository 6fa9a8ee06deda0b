"""``hemesh compose`` with ``[[adversary]]`` eavesdroppers: each a service of its own
with its own login, subscribed before any agent starts (issue #15).

No container engine here: the file is checked for what compose would read, and the
services' commands (the agents' waiting entrypoint included) are run as the containers
would run them, container paths mapped onto folders here, on a real Mosquitto.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios import ScenarioError, run_scenario
from scenarios.deploy._compose import (
    BROKER_SERVICE,
    CONTAINER_RUNS,
    CONTAINER_SCENARIO,
    write_compose,
)
from scenarios.privacy import audit_run, prepare_adversaries
from scenarios.results import RunDir
from scenarios.spec import load_scenario
from tests.scenarios.support import heard, write_toml
from transport import BrokerAddress

SPIES = '[[adversary]]\nkind = "eavesdropper"\nname = "wiretap"\n'
LURKER = '[[adversary]]\nkind = "eavesdropper"\nname = "lurker"\nvantage = "client"\n'


def path3(folder: Path, *, adversaries: str = SPIES, startup_timeout: float = 30.0) -> Path:
    """A plain path of 3 with the given ``[[adversary]]`` entries."""
    folder.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {
        "name": "path3",
        "seed": 3,
        "iterations": 6,
        "topology": {"kind": "path", "n": 3},
        "problem": {"kind": "least_squares", "dim": 3},
        "algorithm": {"kind": "plain"},
        "transport": {
            "kind": "mqtt",
            "broker": "embedded",
            "round_timeout": 10.0,
            "startup_timeout": startup_timeout,
        },
        "output": {"dir": str(folder / "runs")},
    }
    path = write_toml(folder / "path3.toml", doc)
    with path.open("a") as f:
        f.write(adversaries)
    return path


def host_path(bind: str, base: Path) -> Path:
    host = bind.split(":", maxsplit=1)[0]
    assert host.startswith((".", "/")), f"{host!r} would be read as a named volume"
    return (base / host).resolve()


def env_file(service: dict[str, Any], base: Path) -> tuple[Path, dict[str, str]]:
    (name,) = service["env_file"]
    path = host_path(name, base)
    return path, dict(line.split("=", 1) for line in path.read_text().splitlines())


def test_each_eavesdropper_is_a_service_with_its_own_login(tmp_path: Path) -> None:
    scenario = path3(tmp_path / "scenario", adversaries=SPIES + LURKER)
    output = tmp_path / "deploy" / "compose.yml"
    written = write_compose(scenario, output)
    base = output.parent
    doc = yaml.safe_load(output.read_text())
    spies = ["eavesdropper-wiretap", "eavesdropper-lurker"]
    agents = ["a0", "a1", "a2"]
    assert list(doc["services"]) == [BROKER_SERVICE, *spies, *agents]
    run_dir = f"{CONTAINER_RUNS}/{written.run_dir.parent.name}/plain"
    acl = (base / "broker" / "acl").read_text().split("\n\n")
    rights = {block.splitlines()[0]: block.splitlines()[1:] for block in acl if block}
    passwd = (base / "broker" / "passwd").read_text().splitlines()
    logins = {line.split(":")[0] for line in passwd}
    everything = f"hemesh/{written.run_id}/#"

    for name, login, acl_lines in (
        ("wiretap", "wiretap-wiretap", [f"topic read {everything}"]),  # vantage "broker"
        ("lurker", "observer-lurker", []),  # vantage "client": may log in, nothing else
    ):
        service = doc["services"][f"eavesdropper-{name}"]
        assert "ports" not in service  # nothing published to the host
        assert service["image"] == "hemesh:latest"
        assert service["command"] == [
            "eavesdrop",
            "--scenario",
            f"{CONTAINER_SCENARIO}/path3.toml",
            "--name",
            name,
            "--run",
            written.run_id,
            "--out",
            run_dir,
            "--algorithm",
            "plain",
            "--timeout",
            "210",  # the run's deadline: startup 30 + 2 x 6 iterations x 10 + 60
            "--ready-file",
            f"{run_dir}/adversaries/{name}.subscribed",
        ]
        path, env = env_file(service, base)
        assert path.stat().st_mode & 0o777 == 0o600
        assert set(env) == {"HEMESH_BROKER"}  # no identity: it is nobody's agent
        address = BrokerAddress.parse(env["HEMESH_BROKER"])
        assert (address.host, address.port, address.username) == (BROKER_SERVICE, 1883, login)
        assert address.password and len(address.password) >= 40
        assert login in logins
        assert rights[f"user {login}"] == acl_lines  # reads all, or nothing; writes nothing
        assert service["volumes"][1] == f"logs:{CONTAINER_RUNS}"  # its record, in the run
        assert service["depends_on"] == {BROKER_SERVICE: {"condition": "service_healthy"}}
        assert "environment" in service and "HEMESH_BROKER" not in service["environment"]

    passwords = {env_file(doc["services"][s], base)[1]["HEMESH_BROKER"] for s in [*spies, *agents]}
    assert len(passwords) == 5  # everyone their own
    for agent in agents:
        service = doc["services"][agent]
        assert service["command"][:2] == ["agent", "--scenario"]  # what hemesh runs
        assert service["command"][-1] == "--adversaries"  # its part: a target's gradients
        assert service["entrypoint"][:2] == ["sh", "-c"]
        script = service["entrypoint"][2]
        for name in ("wiretap", "lurker"):
            assert f"[ ! -e {run_dir}/adversaries/{name}.subscribed ]" in script
        assert script.endswith('exec hemesh "$$@"')  # $$: compose's literal $
        assert service["depends_on"] == {
            BROKER_SERVICE: {"condition": "service_healthy"},
            **{s: {"condition": "service_started"} for s in spies},
        }
    header = output.read_text().split("\nname:")[0]
    assert "docker compose stop eavesdropper-wiretap eavesdropper-lurker" in header


COLLUDERS = '[[adversary]]\nkind = "colluders"\nname = "pair"\nmembers = [0]\ntarget = 1\n'


def test_colluders_run_as_agents_with_adversaries_in_a_prepared_run_directory(
    tmp_path: Path,
) -> None:
    scenario = path3(tmp_path / "scenario", adversaries=SPIES + COLLUDERS)
    output = tmp_path / "deploy" / "compose.yml"
    # without the preparation hemesh compose hands in, nothing is written
    with pytest.raises(ScenarioError, match=r"^adversary: colluders and membership need"):
        write_compose(scenario, output)
    assert not output.exists()
    written = write_compose(scenario, output, prepare_adversaries=prepare_adversaries)
    doc = yaml.safe_load(output.read_text())
    for agent in ("a0", "a1", "a2"):  # every agent plays its part (member, target)
        assert doc["services"][agent]["command"][-1] == "--adversaries"
    assert "--adversaries" not in doc["services"]["eavesdropper-wiretap"]["command"]
    folder = RunDir(written.run_dir).adversaries
    assert folder.public.is_file()  # what hemesh audit needs after the copy-out
    assert [p.name for p in folder.specs()] == ["pair.adversary.json", "wiretap.adversary.json"]
    assert "# After the copy-out: hemesh audit runs/<run>/<algorithm>" in output.read_text()


def container_command(
    service: dict[str, Any], base: Path, volume: Path
) -> tuple[list[str], dict[str, str]]:
    """The service's process as its container would start it, run here: its
    entrypoint (``sh -c`` with compose's ``$$`` read as ``$``) or ``hemesh``, its command,
    container paths mapped onto folders here; its environment from its env file."""
    folder = host_path(service["volumes"][0], base)
    roster = {m.split(":")[1]: str(host_path(m, base)) for m in service["volumes"][2:]}

    def mapped(arg: str) -> str:
        arg = arg.replace(CONTAINER_SCENARIO, str(folder)).replace(CONTAINER_RUNS, str(volume))
        return roster.get(arg, arg)

    entrypoint = service.get("entrypoint")
    if entrypoint is None:
        head = ["hemesh"]
    else:
        head = [*entrypoint[:2], mapped(entrypoint[2].replace("$$", "$")), *entrypoint[3:]]
    hemesh_bin = str(Path(sys.executable).parent)  # where pip put the hemesh script
    env = {
        **os.environ,
        **service["environment"],
        **env_file(service, base)[1],
        "PATH": hemesh_bin + os.pathsep + os.environ.get("PATH", ""),
    }
    return [*head, *(mapped(a) for a in service["command"])], env


@pytest.mark.mosquitto
def test_agents_start_once_the_eavesdropper_is_subscribed_and_it_hears_everything(
    tmp_path: Path, mosquitto: BrokerAddress
) -> None:
    scenario = path3(tmp_path / "scenario")
    output = tmp_path / "deploy" / "compose.yml"
    written = write_compose(scenario, output)
    doc = yaml.safe_load(output.read_text())
    volume = tmp_path / "logs-volume"  # what the named volume holds
    volume.mkdir()
    started: dict[str, subprocess.Popen[str]] = {}

    def start(name: str) -> None:
        command, env = container_command(doc["services"][name], output.parent, volume)
        env["HEMESH_BROKER"] = mosquitto.url  # the broker service, here
        started[name] = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    run = RunDir(volume / written.run_dir.parent.name / "plain")
    try:
        for agent in ("a0", "a1", "a2"):  # the agents first: they must wait
            start(agent)
        time.sleep(2.0)
        assert all(p.poll() is None for p in started.values())  # waiting, not failed
        assert not run.logs.exists()  # nobody has started: no log yet
        start("eavesdropper-wiretap")
        for agent in ("a0", "a1", "a2"):
            _, stderr = started[agent].communicate(timeout=90)
            assert started[agent].returncode == 0, stderr
        spy = started["eavesdropper-wiretap"]
        spy.send_signal(signal.SIGTERM)  # docker compose stop eavesdropper-wiretap
        stdout, stderr = spy.communicate(timeout=30)
        assert spy.returncode == 0, stderr
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait(10)
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert lines[0] == {"eavesdropper": "wiretap", "subscribed": True}
    assert (run.adversaries.path / "wiretap.subscribed").is_file()
    audit = audit_run(run)["wiretap"]

    (expected,) = asyncio.run(run_scenario(load_scenario(scenario), out=tmp_path / "in-process"))
    in_process = expected.summary["audit"]["wiretap"]
    # every message the in-process eavesdropper heard, from the first iteration on
    assert heard(run.adversaries.record("wiretap")) == heard(
        expected.run.adversaries.record("wiretap")
    )
    assert audit["state_rel_error_median"] == audit["state_rel_error_final"] == 0.0
    for key in ("method", "targets", "state_rel_error_median", "state_cosine_median"):
        assert audit[key] == in_process[key], key


def test_an_agent_without_its_eavesdropper_gives_up_after_the_startup_timeout(
    tmp_path: Path,
) -> None:
    scenario = path3(tmp_path / "scenario", startup_timeout=1.0)
    output = tmp_path / "deploy" / "compose.yml"
    write_compose(scenario, output)
    doc = yaml.safe_load(output.read_text())
    command, env = container_command(doc["services"]["a1"], output.parent, tmp_path / "volume")
    began = time.monotonic()
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 1  # a failure: its restart policy tries again
    assert 1.0 <= time.monotonic() - began < 10
    (line,) = result.stderr.splitlines()
    assert line.startswith("eavesdropper wiretap not subscribed within 2 s (no ")
    assert line.endswith("wiretap.subscribed); not starting the agent")
