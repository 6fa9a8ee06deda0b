"""``hemesh eavesdrop``: the eavesdropper as a process of its own, a real MQTT subscriber
writing its record into the run directory; the audit runs on the records afterwards.

Agents run as ``hemesh agent`` processes (as ``--spawn processes`` and the containers
run them) on a real Mosquitto; the numbers of the audit must equal the in-process
audit's for the same seed. 256-bit keys (insecure, named so) keep the paillier run fast.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from scenarios import run_scenario
from scenarios.assembly import build_graph, build_problem
from scenarios.privacy import audit_run
from scenarios.results import RunDir, prepare_run, run_folder, run_stamp
from scenarios.spec import agent_id, load_scenario
from tests.scenarios.support import hemesh_command, ring8, write_toml
from transport import BrokerAddress

STATE_KEYS = (
    "method",
    "targets",
    "state_rel_error_median",
    "state_rel_error_final",
    "state_cosine_median",
    "state_cosine_final",
)
"""What the audit of hand-started agents must share with the in-process one (the
gradient scores need the targets' true gradients, which agents write only when started
with ``--adversaries``; these are not)."""


def scenario_file(tmp_path: Path, broker: str, kind: str) -> Path:
    doc: dict[str, Any] = ring8(tmp_path / "in-process", broker, iterations=10, kind=kind)
    doc["topology"]["n"] = 4
    path = write_toml(tmp_path / f"{kind}.toml", doc)
    with path.open("a") as f:
        f.write('[[adversary]]\nkind = "eavesdropper"\nname = "wiretap"\n')
    return path


def run_as_processes(scenario_path: Path, tmp_path: Path, broker: str) -> RunDir:
    """The eavesdropper and each agent in a process of its own; the run directory."""
    scenario = load_scenario(scenario_path)
    graph = build_graph(scenario)
    problem = build_problem(scenario, graph.number_of_nodes())
    stamp = run_stamp()
    run, run_id = prepare_run(
        tmp_path / "processes" / run_folder(scenario.name, stamp),
        stamp=stamp,
        scenario=scenario,
        algorithm=scenario.algorithm.kind,
        graph=graph,
        problem=problem,
        source=scenario_path,
    )
    env = {**os.environ, "HEMESH_BROKER": broker}
    common = ["--scenario", str(scenario_path), "--run", run_id, "--out", str(run.path)]
    spy = subprocess.Popen(
        hemesh_command("eavesdrop", "--name", "wiretap", *common),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    agents: list[subprocess.Popen[str]] = []
    try:
        assert spy.stdout is not None and spy.stderr is not None
        first = json.loads(spy.stdout.readline() or "{}")
        assert first == {"eavesdropper": "wiretap", "subscribed": True}, spy.stderr.read()
        for i in range(graph.number_of_nodes()):
            agents.append(
                subprocess.Popen(
                    hemesh_command("agent", "--id", agent_id(i), *common),
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for agent in agents:
            _, stderr = agent.communicate(timeout=120)
            assert agent.returncode == 0, stderr
        spy.send_signal(signal.SIGTERM)
        stdout, stderr = spy.communicate(timeout=30)
        assert spy.returncode == 0, stderr
        report = json.loads(stdout.strip().splitlines()[-1])
        assert report["eavesdropper"] == "wiretap"
        assert report["messages"] > 0
    finally:
        for process in [spy, *agents]:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    return run


@pytest.mark.mosquitto
@pytest.mark.parametrize("kind", ["plain", "paillier"])
def test_an_eavesdropper_process_audits_as_the_in_process_one(
    tmp_path: Path, mosquitto: BrokerAddress, kind: str
) -> None:
    path = scenario_file(tmp_path, mosquitto.url, kind)
    (expected,) = asyncio.run(run_scenario(load_scenario(path), out=tmp_path / "in-process"))
    in_process = expected.summary["audit"]["wiretap"]
    run = run_as_processes(path, tmp_path, mosquitto.url)
    audit = audit_run(run)["wiretap"]
    for key in STATE_KEYS:
        assert audit[key] == in_process[key], key
    for key in ("graph_recovered", "edges_seen", "sizes"):
        assert audit["metadata"][key] == in_process["metadata"][key], key
    assert audit["targets"] == ["a0", "a1", "a2", "a3"]
    if kind == "plain":  # states in the clear: every one recovered exactly
        assert audit["state_rel_error_median"] == audit["state_rel_error_final"] == 0.0
        assert audit["state_cosine_median"] == 1.0
    else:  # ciphertexts only: nothing beyond its prior (the zero estimate)
        assert audit["method"] == "prior (nothing readable)"
        assert audit["state_rel_error_median"] == audit["state_rel_error_final"] == 1.0
        assert audit["state_cosine_median"] == 0.0
    assert (run.adversaries.path / "audit.json").is_file()


@pytest.mark.mosquitto
@pytest.mark.parametrize("broker", ["url", "embedded"])
def test_spawn_processes_runs_the_eavesdropper_as_a_process_and_audits_the_run(
    tmp_path: Path, mosquitto: BrokerAddress, broker: str
) -> None:
    # the scenario's own broker: a URL (the eavesdropper logs in as the run's address)
    # or the locked-down embedded broker (it gets the read-everything wiretap login)
    path = scenario_file(tmp_path, mosquitto.url if broker == "url" else "embedded", "plain")
    scenario = load_scenario(path)
    (expected,) = asyncio.run(run_scenario(scenario, out=tmp_path / "in-process"))
    (spawned,) = asyncio.run(run_scenario(scenario, out=tmp_path / "processes", spawn="processes"))
    in_process, audit = expected.summary["audit"]["wiretap"], spawned.summary["audit"]["wiretap"]
    # its agents run with --adversaries: the true gradients are there, every score equal
    for key in in_process:
        if key != "metadata":
            assert audit[key] == in_process[key], key
    assert audit["gradient_rel_error_median"] < 1e-9
    assert audit["targets"] == ["a0", "a1", "a2", "a3"]
    assert audit["state_rel_error_median"] == audit["state_rel_error_final"] == 0.0
    assert audit["metadata"]["graph_recovered"] is True
    assert (spawned.run.adversaries.path / "audit.json").is_file()
