"""``hemesh compose``: the compose file, its broker config and run directory.

No Docker engine runs here, so the file is checked for what compose would read,
and the agents' commands are run as the containers would run them (container
paths mapped onto folders here, the broker's service name onto a real Mosquitto).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from agents import Identity
from scenarios import Run, ScenarioError, find_runs
from scenarios.deploy._compose import (
    BROKER_MOUNT,
    BROKER_SERVICE,
    CONTAINER_RUNS,
    CONTAINER_SCENARIO,
    MOSQUITTO_IMAGE,
    write_compose,
)
from transport import BrokerAddress

ROOT = Path(__file__).parents[2]
RING8 = ROOT / "scenarios" / "examples" / "ring8.toml"


def host_path(bind: str, base: Path) -> Path:
    """The host side of a short-syntax bind mount, as compose resolves it."""
    host = bind.split(":", maxsplit=1)[0]
    assert host.startswith((".", "/")), f"{host!r} would be read as a named volume"
    return (base / host).resolve()


def test_compose_command_writes_one_service_per_agent(tmp_path: Path) -> None:
    output = tmp_path / "deploy" / "docker-compose.yml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scenarios",
            "compose",
            str(RING8),
            "-o",
            str(output),
            "--context",
            str(ROOT),  # installed non-editable (as in CI), hemesh cannot find the checkout
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.split("run id: ")[1].split()[0]
    doc = yaml.safe_load(output.read_text())
    base = output.parent
    agents = [f"a{i}" for i in range(8)]
    assert list(doc["services"]) == [BROKER_SERVICE, *agents]
    assert doc["volumes"] == {"logs": {}}

    broker = doc["services"][BROKER_SERVICE]
    assert broker["image"] == MOSQUITTO_IMAGE
    assert "ports" not in broker  # the broker stays inside the compose network
    (files_mount,) = broker["volumes"]
    assert files_mount.endswith(f":{BROKER_MOUNT}:ro")
    broker_files = host_path(files_mount, base)
    config = (broker_files / "mosquitto.conf").read_text().splitlines()
    assert "listener 1883 0.0.0.0" in config
    assert "allow_anonymous false" in config
    assert "password_file /mosquitto/config/passwd" in config
    assert "acl_file /mosquitto/config/acl" in config
    assert "user mosquitto" in config
    assert "log_dest stderr" in config
    for name in ("mosquitto.conf", "passwd", "acl", "healthcheck.password"):
        assert (broker_files / name).stat().st_mode & 0o777 == 0o600, name
    assert not (broker_files / "credentials.json").exists()  # passwords only in logins/
    acl = (broker_files / "acl").read_text()
    assert f"topic write hemesh/{run_id}/inbox/a1/a0" in acl.splitlines()
    assert f"topic write hemesh/{run_id}/inbox/a2/a0" not in acl.splitlines()  # not an edge
    passwd = (broker_files / "passwd").read_text()
    assert [line.split(":")[0] for line in passwd.splitlines()] == [
        *agents,
        "observer",  # the vantages' accounts of mosquitto_setup (no password handed out)
        "wiretap",
        "healthcheck",
    ]
    assert all(line.split(":", 1)[1].startswith("$7$") for line in passwd.splitlines())

    (run_dir,) = find_runs(base / "runs" / run_id.removesuffix("-paillier"))
    assert run_id.endswith("-paillier")
    assert (run_dir.path / "scenario.toml").read_text() == RING8.read_text()
    passwords: set[str] = set()
    for agent in agents:
        service = doc["services"][agent]
        assert service["image"] == "hemesh:latest"
        context = host_path(service["build"]["context"], base)
        assert context == ROOT
        assert (context / service["build"]["dockerfile"]).is_file()
        assert service["command"] == [
            "agent",
            "--scenario",
            f"{CONTAINER_SCENARIO}/ring8.toml",
            "--id",
            agent,
            "--run",
            run_id,
            "--out",
            f"{CONTAINER_RUNS}/{run_dir.path.parent.name}/paillier",
            "--algorithm",
            "paillier",
            "--roster",
            "/identity/roster.json",
        ]
        assert "HEMESH_BROKER" not in service["environment"]  # no password in the file
        (env_file,) = service["env_file"]
        login = host_path(env_file, base)
        assert login.stat().st_mode & 0o777 == 0o600
        env = dict(line.split("=", 1) for line in login.read_text().splitlines())
        assert set(env) == {"HEMESH_BROKER", "HEMESH_IDENTITY"}
        address = BrokerAddress.parse(env["HEMESH_BROKER"])
        # its own secret identity, the one the run directory holds for it
        assert Identity.from_bytes(bytes.fromhex(env["HEMESH_IDENTITY"])) == Identity.load(
            run_dir.identity(agent)
        )
        assert (address.host, address.port, address.username) == (BROKER_SERVICE, 1883, agent)
        assert address.password and len(address.password) >= 40
        passwords.add(address.password)
        scenario_mount, logs_mount, roster_mount = service["volumes"]
        assert roster_mount.endswith(":/identity/roster.json:ro")
        assert host_path(roster_mount, base) == run_dir.roster
        assert scenario_mount.endswith(f":{CONTAINER_SCENARIO}:ro")
        assert host_path(scenario_mount, base) == RING8.parent
        assert logs_mount == f"logs:{CONTAINER_RUNS}"
        assert service["depends_on"] == {BROKER_SERVICE: {"condition": "service_healthy"}}
        assert service["restart"] == "on-failure:3"  # resumes from its checkpoint in the volume
    assert len(passwords) == len(agents)  # each agent its own
    assert "mosquitto_pub" in broker["healthcheck"]["test"][1]
    assert "-u healthcheck" in broker["healthcheck"]["test"][1]


def path3(folder: Path, **transport: Any) -> Path:
    folder.mkdir(parents=True)
    scenario = folder / "path3.toml"
    scenario.write_text(
        'name = "path3"\nseed = 3\niterations = 6\n'
        '[topology]\nkind = "path"\nn = 3\n'
        "[problem]\ndim = 3\n"
        '[algorithm]\nkind = "clear"\n'
        "[transport]\nround_timeout = 10.0\nstartup_timeout = 30.0\n"
        + "".join(f"{k} = {json.dumps(v)}\n" for k, v in transport.items())
    )
    return scenario


@pytest.mark.mosquitto
def test_compose_commands_complete_a_run_when_run_as_the_containers_would(
    tmp_path: Path, mosquitto: BrokerAddress
) -> None:
    scenario = path3(tmp_path / "scenario")
    output = tmp_path / "deploy" / "compose.yml"
    written = write_compose(scenario, output)
    doc = yaml.safe_load(output.read_text())
    volume = tmp_path / "logs-volume"  # what the named volume holds
    processes = []
    for name, service in doc["services"].items():
        if name == BROKER_SERVICE:
            continue
        folder = host_path(service["volumes"][0], output.parent)
        # the bind-mounted file (the roster) where it is
        files = {
            mount.split(":")[1]: str(host_path(mount, output.parent))
            for mount in service["volumes"][2:]
        }
        command = [
            files.get(arg)
            or arg.replace(CONTAINER_SCENARIO, str(folder)).replace(CONTAINER_RUNS, str(volume))
            for arg in service["command"]
        ]
        (env_file,) = service["env_file"]  # what compose reads on the host: url, identity
        login = host_path(env_file, output.parent).read_text().splitlines()
        own = dict(line.split("=", 1) for line in login)
        env = {**os.environ, **service["environment"], **own, "HEMESH_BROKER": mosquitto.url}
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "scenarios", *command],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for process in processes:
            _, stderr = process.communicate(timeout=90)
            assert process.returncode == 0, stderr
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    # docker compose cp a0:/runs/. runs/  -- then the run directory beside the file is whole
    shutil.copytree(volume, output.parent / "runs", dirs_exist_ok=True)
    summary = Run.load(find_runs(written.run_dir)[0]).summary()
    assert summary["agents"] == 3
    assert summary["iterations"] == 6
    assert summary["skipped_edges"] == 0


def test_compose_refuses_files_the_containers_cannot_see(tmp_path: Path) -> None:
    scenario = path3(tmp_path / "scenario")
    text = scenario.read_text().replace(
        "[problem]\ndim = 3\n", '[problem]\nkind = "logistic"\ncsv = "../data.csv"\n'
    )
    scenario.write_text(text)
    with pytest.raises(ScenarioError, match=r"problem.csv: .*data.csv is outside the scenario"):
        write_compose(scenario, tmp_path / "deploy" / "compose.yml")
    assert not (tmp_path / "deploy").exists()


def test_compose_refuses_the_memory_transport(tmp_path: Path) -> None:
    scenario = path3(tmp_path / "scenario", kind="memory")
    with pytest.raises(ScenarioError, match=r"transport.kind = 'memory'"):
        write_compose(scenario, tmp_path / "compose.yml")
