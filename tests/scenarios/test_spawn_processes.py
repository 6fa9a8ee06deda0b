"""One process per agent: ``hemesh run --spawn processes`` and ``hemesh agent``.

Runs use 256-bit keys (insecure, named so) and few iterations to stay fast; every
spawned agent is a real ``python -m scenarios agent`` process on a real broker.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scenarios import Run, ScenarioError, find_runs, parse, read_log, run_scenario
from scenarios.deploy import BROKER_ENV, broker_url, plan_agent
from scenarios.spec import load_scenario
from tests._brokers import require_mosquitto
from tests.scenarios.support import (
    children_of,
    hemesh,
    ring8,
    start_hemesh,
    wait_for_lines,
    write_identities,
    write_toml,
)
from transport import BrokerAddress


@pytest.mark.mosquitto
def test_spawned_ring8_reaches_the_same_states_as_the_in_process_run(
    tmp_path: Path, mosquitto: BrokerAddress
) -> None:
    """Same seed, same broker: one process per agent changes nothing in the trajectory."""
    doc = ring8(tmp_path, mosquitto.url, iterations=12, kind="paillier", baselines=["clear"])
    scenario = parse(doc, source="test")
    steps: dict[str, int] = {}

    def progress(algorithm: Any, n: int) -> None:
        steps[algorithm.value] = steps.get(algorithm.value, 0) + n

    in_process = asyncio.run(run_scenario(scenario, out=tmp_path / "tasks"))
    spawned = asyncio.run(
        run_scenario(scenario, out=tmp_path / "processes", spawn="processes", progress=progress)
    )
    assert [r.summary["algorithm"] for r in spawned] == ["paillier", "clear"]
    for a, b in zip(in_process, spawned, strict=True):
        _, xa = Run.load(a.run).states()
        _, xb = Run.load(b.run).states()
        assert xa.shape == xb.shape == (13, 8, 5)
        assert np.array_equal(xa, xb)
        assert not np.allclose(xb[-1], 0.0)  # the states moved
        assert b.summary["mse_final"] == a.summary["mse_final"]
        assert b.summary["skipped_edges"] == 0
        assert json.loads((b.run.path / "summary.json").read_text()) == b.summary
    # progress came from the growing logs: every agent's every iteration, once
    assert steps == {"paillier": 8 * 12, "clear": 8 * 12}
    assert spawned[0].summary["crypto_seconds"] > 0


def test_spawn_processes_refuses_the_memory_transport(tmp_path: Path) -> None:
    doc = ring8(tmp_path, "embedded", iterations=2, kind="clear")
    doc["transport"]["kind"] = "memory"
    with pytest.raises(ScenarioError, match=r"transport.kind = 'memory'.*mqtt"):
        asyncio.run(run_scenario(parse(doc, source="t"), spawn="processes"))
    with pytest.raises(ScenarioError, match="spawn must be"):
        asyncio.run(run_scenario(parse(doc, source="t"), spawn="threads"))


def test_a_lone_agent_needs_a_broker_url(tmp_path: Path) -> None:
    scenario = parse(ring8(tmp_path, "embedded", iterations=2), source="t")
    with pytest.raises(ScenarioError, match=r"'embedded'.*--broker mqtt://HOST:PORT"):
        plan_agent(scenario, agent="a0", run="r1", out=tmp_path)
    write_identities(tmp_path, "r1", 8)
    plan = plan_agent(scenario, agent="a3", run="r1", out=tmp_path, broker="mqtt://h:1884")
    assert plan.address == BrokerAddress(host="h", port=1884)
    assert plan.config.agent_id == "a3"
    assert sorted(plan.config.neighbours) == ["a2", "a4"]
    assert plan.log == tmp_path / "logs" / "a3.jsonl"
    assert plan.crypto_workers == 0  # the scenario asks for inline crypto


def test_agent_arguments_are_checked_with_errors_naming_them(tmp_path: Path) -> None:
    scenario = parse(ring8(tmp_path, "mqtt://h:1883", iterations=2), source="t")
    with pytest.raises(ScenarioError, match=r"--id: no agent 'a8'.*a0, a1"):
        plan_agent(scenario, agent="a8", run="r1", out=tmp_path)
    with pytest.raises(ScenarioError, match=r"--run: run id .*'r/1'"):
        plan_agent(scenario, agent="a0", run="r/1", out=tmp_path)
    with pytest.raises(ScenarioError, match=r"--algorithm: 'plain' is not an algorithm"):
        plan_agent(scenario, agent="a0", run="r1", out=tmp_path, algorithm=parse_alg("plain"))
    with pytest.raises(ScenarioError, match="--broker: bad broker URL"):
        plan_agent(scenario, agent="a0", run="r1", out=tmp_path, broker="http://h")
    log = tmp_path / "logs" / "a0.jsonl"
    log.parent.mkdir()
    log.write_text('{"k":0}\n')
    with pytest.raises(ScenarioError, match="already holds a log"):
        plan_agent(scenario, agent="a0", run="r1", out=tmp_path)
    pooled = parse(
        {**ring8(tmp_path, "mqtt://h", iterations=2), "crypto": {"key_bits": 2048}}, source="t"
    )
    write_identities(tmp_path, "r1", 8)
    assert plan_agent(pooled, agent="a1", run="r1", out=tmp_path).crypto_workers == 1


def parse_alg(name: str) -> Any:
    from agents import Algorithm

    return Algorithm(name)


def test_resolved_json_of_a_baseline_run_loads_as_its_own_scenario(tmp_path: Path) -> None:
    doc = ring8(tmp_path, "mqtt://h:1883", iterations=3, kind="paillier", baselines=["clear"])
    resolved = parse(doc, source="t").model_dump(mode="json")
    resolved["algorithm"]["kind"] = "clear"  # what the runner writes into the clear directory
    path = tmp_path / "resolved.json"
    path.write_text(json.dumps(resolved))
    scenario = load_scenario(path)
    assert scenario.algorithms == [parse_alg("clear")]
    assert scenario.iterations == 3
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ScenarioError, match="JSON object"):
        load_scenario(bad)


def test_broker_url_keeps_the_password_for_the_children_only() -> None:
    address = BrokerAddress(host="10.0.0.1", port=1884, username="a b", password="p@ss:w/rd")
    url = broker_url(address)
    assert "p%40ss%3Aw%2Frd" in url
    assert BrokerAddress.parse(url) == address
    assert address.password is not None
    assert address.password not in address.url  # the printable form still masks it
    assert BrokerAddress.parse(broker_url(BrokerAddress(host="::1", port=1))).host == "::1"


@pytest.mark.mosquitto
def test_killing_one_agent_process_fails_the_run_naming_it_and_keeps_every_log(
    tmp_path: Path, mosquitto: BrokerAddress, stopped_at_end: list[subprocess.Popen[str]]
) -> None:
    doc = ring8(tmp_path / "runs", mosquitto.url, iterations=20000, kind="clear")
    scenario_file = write_toml(tmp_path / "ring8.toml", doc)
    run = start_hemesh("run", str(scenario_file), "--spawn", "processes", cwd=tmp_path)
    stopped_at_end.append(run)
    victim_log = None
    deadline = time.monotonic() + 60
    while victim_log is None and time.monotonic() < deadline:
        victim_log = next(iter((tmp_path / "runs").glob("ring8-*/clear/logs/a3.jsonl")), None)
        time.sleep(0.02)
    assert victim_log is not None, "the run never started agent a3"
    # every agent past its start (an agent killed before any line leaves nothing to compare)
    for log in (victim_log.parent / f"a{i}.jsonl" for i in range(8)):
        wait_for_lines(log, 1, timeout=60)
    wait_for_lines(victim_log, 3, timeout=60)
    agents = children_of(run.pid)
    assert len(agents) == 8
    (victim,) = [pid for pid, cmd in agents.items() if "a3" in cmd]
    os.kill(victim, signal.SIGKILL)
    _, stderr = run.communicate(timeout=60)

    assert run.returncode == 1
    assert f"agent a3 (pid {victim}) was killed by signal SIGKILL" in stderr
    assert "last lines of the log of a3:" in stderr
    assert '{"k":' in stderr
    assert not [pid for pid in agents if Path(f"/proc/{pid}").exists()]  # all stopped
    (run_dir,) = find_runs(victim_log.parent.parent.parent)
    lengths = {}
    for log in sorted(run_dir.logs.glob("*.jsonl")):
        lines = log.read_text().splitlines()
        assert lines, f"{log.name} is empty"
        records = [json.loads(line) for line in lines]  # every line parses
        assert [r["k"] for r in records] == list(range(len(records)))
        lengths[log.stem] = len(records)
        assert read_log(log).bad_lines == []
    assert len(lengths) == 8
    assert lengths["a3"] >= 3
    assert max(lengths.values()) < 20001  # stopped long before the end
    summary = Run.load(run_dir).summary()  # different lengths: the common prefix
    assert summary["agents"] == 8
    assert summary["iterations"] == min(lengths.values()) - 1
    summarize = hemesh("summarize", str(run_dir.path), "--json", cwd=tmp_path, timeout=60)
    assert summarize.returncode == 0, summarize.stderr
    assert json.loads(summarize.stdout)[0]["agents"] == 8


@pytest.mark.mosquitto
def test_agent_command_runs_one_agent_whatever_the_start_order(
    tmp_path: Path, mosquitto: BrokerAddress, stopped_at_end: list[subprocess.Popen[str]]
) -> None:
    """Three lone ``hemesh agent`` processes on a path graph, started last to first
    with a pause: they find each other through the retained key topics."""
    doc = ring8(tmp_path / "runs", "embedded", iterations=5, kind="clear")
    doc["topology"] = {"kind": "path", "n": 3}
    scenario_file = write_toml(tmp_path / "path3.toml", doc)
    env = {**os.environ, BROKER_ENV: mosquitto.url}
    out = tmp_path / "run"
    write_identities(out, "p3", 3)
    for agent in ("a2", "a1", "a0"):
        args = ("--scenario", str(scenario_file), "--id", agent, "--run", "p3", "--out", str(out))
        stopped_at_end.append(start_hemesh("agent", *args, cwd=tmp_path, env=env))
        time.sleep(0.5)
    for process in stopped_at_end:
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        done = json.loads(stdout)
        assert done["iterations"] == 5
        assert done["skipped"] == 0
    for agent in ("a0", "a1", "a2"):
        records = read_log(out / "logs" / f"{agent}.jsonl").records
        assert [r["k"] for r in records] == list(range(6))


def test_agent_command_fails_with_one_line_and_exit_2_on_bad_input(tmp_path: Path) -> None:
    doc = ring8(tmp_path, "embedded", iterations=2)
    scenario_file = write_toml(tmp_path / "ring8.toml", doc)
    args = ("--scenario", str(scenario_file), "--id", "a0", "--run", "r1", "--out", str(tmp_path))
    process = start_hemesh("agent", *args, cwd=tmp_path)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    (line,) = stderr.strip().splitlines()
    assert "transport.broker = 'embedded'" in line
    assert not (tmp_path / "logs").exists()


@pytest.mark.mosquitto
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_no_agent_outlives_a_stopped_run(
    tmp_path: Path,
    mosquitto: BrokerAddress,
    stopped_at_end: list[subprocess.Popen[str]],
    signum: signal.Signals,
) -> None:
    """SIGTERM: the run stops its agents and fails; SIGKILL: the kernel stops them."""
    doc = ring8(tmp_path / "runs", mosquitto.url, iterations=20000, kind="clear")
    run = start_hemesh(
        "run", str(write_toml(tmp_path / "r.toml", doc)), "--spawn", "processes", cwd=tmp_path
    )
    stopped_at_end.append(run)
    deadline = time.monotonic() + 60
    while len(logs := list(tmp_path.glob("runs/*/clear/logs/*.jsonl"))) < 8:
        assert time.monotonic() < deadline, "the agents did not start"
        time.sleep(0.02)
    for log in logs:
        wait_for_lines(log, 2, timeout=60)
    agents = children_of(run.pid)
    assert len(agents) == 8
    os.kill(run.pid, signum)
    _, stderr = run.communicate(timeout=60)
    if signum is signal.SIGTERM:
        assert run.returncode == 128 + signal.SIGTERM
        assert "interrupted by SIGTERM; run directory " in stderr
    else:
        assert run.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 20
    while alive := [pid for pid in agents if Path(f"/proc/{pid}").exists() and not zombie(pid)]:
        assert time.monotonic() < deadline, f"agents still running: {alive}"
        time.sleep(0.05)
    for log in logs:
        assert read_log(log).bad_lines == []


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def test_what_runs_only_in_process_is_refused_not_dropped(tmp_path: Path) -> None:
    faults = {"transport": {"broker": "mqtt://h:1883", "faults": {"loss": 0.1}}}
    doc = {**ring8(tmp_path, "mqtt://h:1883", iterations=2, kind="plain"), **faults}
    scenario = parse(doc, source="t")
    with pytest.raises(ScenarioError, match=r"^transport.faults: .*--spawn tasks"):
        plan_agent(scenario, agent="a0", run="r1", out=tmp_path)
    with pytest.raises(ScenarioError, match=r"^transport.faults: .*--spawn tasks"):
        asyncio.run(run_scenario(scenario, spawn="processes"))
    assert not list(tmp_path.glob("ring8-*"))  # refused before the run directory


def test_a_colluders_member_needs_adversaries_an_honest_agent_does_not(tmp_path: Path) -> None:
    colluders = {"kind": "colluders", "name": "c", "members": [1], "target": 0}
    eavesdropper = {"kind": "eavesdropper", "name": "wiretap"}
    doc = ring8(tmp_path, "mqtt://h:1883", iterations=2, kind="plain")
    scenario = parse({**doc, "adversary": [eavesdropper, colluders]}, source="t")
    write_identities(tmp_path / "lone", "r1", 8)
    with pytest.raises(ScenarioError, match=r"^--id a1: a member of .*colluders c; pass --advers"):
        plan_agent(scenario, agent="a1", run="r1", out=tmp_path / "lone")
    member = plan_agent(scenario, agent="a1", run="r1", out=tmp_path / "lone", adversaries=True)
    assert member.adversaries is True
    for agent in ("a0", "a2"):  # the target and a bystander: honest, as today
        honest = plan_agent(scenario, agent=agent, run="r1", out=tmp_path / "lone")
        assert (honest.config.agent_id, honest.adversaries) == (agent, False)


@pytest.mark.mosquitto
def test_spawned_agents_log_in_to_a_managed_mosquitto_with_their_own_credentials(
    tmp_path: Path,
) -> None:
    """``transport.broker = "mosquitto"``: per-agent logins and ACL, one broker per run id."""
    require_mosquitto()
    doc = ring8(tmp_path, "mosquitto", iterations=4, kind="clear")
    doc["topology"] = {"kind": "path", "n": 3}
    (result,) = asyncio.run(run_scenario(parse(doc, source="t"), spawn="processes"))
    assert result.summary["iterations"] == 4
    assert result.summary["skipped_edges"] == 0
    broker_log = (result.run.path / "mosquitto.log").read_text()
    for agent in ("a0", "a1", "a2"):
        assert f" as {agent} (" in broker_log
        assert f"u'{agent}')" in broker_log  # its own username
