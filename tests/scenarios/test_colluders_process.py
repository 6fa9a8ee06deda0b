"""Every adversary out of the agents' process (issue #15, scope 4): ``--spawn processes``
runs eavesdroppers as ``hemesh eavesdrop``, colluders' members and targets as ``hemesh
agent --adversaries`` (each member writes its part, each agent its true gradients), and
audits the records once the agents are done, as tasks mode does in process.

A ring of 4 on a real Mosquitto, one eavesdropper, the two neighbours of a0 colluding
against it, a membership attacker; 256-bit keys (insecure, named so) keep paillier fast.
The audit's numbers, the gradient scores included, must equal the in-process audit's
for the same seed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from scenarios import run_scenario
from scenarios.results import read_jsonl
from scenarios.spec import load_scenario
from tests.scenarios.support import agent_pid, hemesh, ring8, write_toml
from transport import BrokerAddress

ADVERSARIES = (
    '[[adversary]]\nkind = "eavesdropper"\nname = "wiretap"\n'
    '[[adversary]]\nkind = "colluders"\nname = "pair"\nmembers = ["a1", "a3"]\ntarget = "a0"\n'
    '[[adversary]]\nkind = "membership"\nname = "released"\n'
)
TIMED = ("messages", "sizes")
"""Traffic metadata that differs between the modes (a process's retained and status
messages): compared on their own below, not with ``==``."""


def scenario_file(tmp_path: Path, broker: str, kind: str, *, iterations: int = 8) -> Path:
    doc: dict[str, Any] = ring8(tmp_path / "runs", broker, iterations=iterations, kind=kind)
    doc["topology"]["n"] = 4
    path = write_toml(tmp_path / f"{kind}.toml", doc)
    with path.open("a") as f:
        f.write(ADVERSARIES)
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path).records


def without_timing(summary: dict[str, Any]) -> dict[str, Any]:
    meta = summary.get("metadata")
    if meta is None:
        return summary
    return {**summary, "metadata": {k: v for k, v in meta.items() if k not in TIMED}}


@pytest.mark.mosquitto
@pytest.mark.parametrize("kind", ["plain", "paillier"])
def test_spawn_processes_audits_every_adversary_as_tasks_mode_does(
    tmp_path: Path, mosquitto: BrokerAddress, kind: str
) -> None:
    scenario = load_scenario(scenario_file(tmp_path, mosquitto.url, kind))
    (tasks,) = asyncio.run(run_scenario(scenario, out=tmp_path / "tasks"))
    (spawned,) = asyncio.run(run_scenario(scenario, out=tmp_path / "processes", spawn="processes"))
    expected, audit = tasks.summary["audit"], spawned.summary["audit"]
    assert set(audit) == set(expected)
    assert {"wiretap", "pair", "released"} <= set(audit)
    for name in expected:  # states, gradients, inputs, by distance: every number
        assert without_timing(audit[name]) == without_timing(expected[name]), name
    mine, theirs = spawned.run.adversaries, tasks.run.adversaries
    for name in expected:  # and per target and iteration (after the metadata line)
        rows = lines(mine.attack(name))
        assert rows[1:] == lines(theirs.attack(name))[1:], name
        assert len(rows) > 1 or name == "released", name
    # the members' parts, merged: the in-process record, line for line once sorted
    in_process = sorted(lines(theirs.record("pair")), key=lambda o: (o["k"], o["agent"]))
    assert lines(mine.record("pair")) == in_process
    assert [p.stem for p in mine.member_records("pair")] == ["a1", "a3"]
    assert {o["agent"] for o in in_process} == {"a1", "a3"}
    assert lines(mine.record("released")) == lines(theirs.record("released"))
    for agent in ("a0", "a1", "a2", "a3"):  # the truth, as GradientTap writes it in tasks
        assert lines(mine.truth_gradients(agent)) == lines(theirs.truth_gradients(agent))
        assert [g["k"] for g in lines(mine.truth_gradients(agent))] == list(range(8))
    wiretap, pair = audit["wiretap"], audit["pair"]
    assert wiretap["targets"] == ["a0", "a1", "a2", "a3"]
    assert pair["targets"] == ["a0"]
    assert wiretap["metadata"]["graph_recovered"] is True
    if kind == "plain":  # states in the clear: every one recovered exactly, gradients too
        assert wiretap["state_rel_error_median"] == wiretap["state_rel_error_final"] == 0.0
        assert wiretap["state_cosine_median"] == 1.0
        assert wiretap["gradient_rel_error_median"] < 1e-9
        assert pair["state_rel_error_final"] == 0.0
    else:  # ciphertexts only: nothing beyond its prior (the zero estimate)
        assert wiretap["method"] == "prior (nothing readable)"
        assert wiretap["state_rel_error_median"] == wiretap["state_rel_error_final"] == 1.0
        assert wiretap["state_cosine_median"] == 0.0
        assert wiretap["gradient_rel_error_median"] == 1.0
        # both neighbours of a0 pool what they decrypted: its state, up to quantization
        assert "full coupling known" in pair["method"]
        assert pair["state_rel_error_final"] < 1e-3
    assert json.loads(mine.audit.read_text()) == audit


@pytest.mark.mosquitto
def test_a_colluders_member_restarted_mid_run_leaves_one_line_per_iteration(
    tmp_path: Path, mosquitto: BrokerAddress
) -> None:
    """a1 is killed by PID once it wrote some of its part; the supervisor starts it again
    (``--restarts 1``), it resumes from its checkpoint and appends to the same part and
    truth files; the merged record and the truth keep one line per iteration."""
    iterations = 40
    path = scenario_file(tmp_path, mosquitto.url, "paillier", iterations=iterations)
    scenario = load_scenario(path)
    scenario = scenario.model_copy(
        update={"transport": scenario.transport.model_copy(update={"round_timeout": 0.4})}
    )
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["results"] = asyncio.run(
                run_scenario(scenario, out=tmp_path / "processes", spawn="processes", restarts=1)
            )
        except BaseException as exc:  # reported below, in the test's thread
            outcome["error"] = exc

    runner = threading.Thread(target=run, name="spawn-processes")
    runner.start()
    try:
        part = wait_for_part(tmp_path / "processes", lines=8, timeout=60)
        pid = agent_pid("a1")
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
    finally:
        runner.join(timeout=120)
    assert not runner.is_alive()
    assert "error" not in outcome, outcome.get("error")
    (result,) = outcome["results"]
    folder = result.run.adversaries
    assert part == folder.member_record("pair", "a1")
    log = read_jsonl(result.run.log("a1")).records
    assert [r["k"] for r in log if r.get("resumed")], "a1 did not resume from its checkpoint"
    written = [(o["k"], o["agent"]) for o in lines(part)]
    merged = [(o["k"], o["agent"]) for o in lines(folder.record("pair"))]
    assert len(merged) == len(set(merged))  # no iteration twice
    assert merged == sorted(merged, key=lambda ka: (ka[0], int(ka[1][1:])))
    assert {k for k, agent in merged if agent == "a1"} == {k for k, _ in written}
    assert {k for k, agent in merged if agent == "a3"} == set(range(iterations))
    for agent in ("a0", "a1", "a2", "a3"):
        ks = [g["k"] for g in lines(folder.truth_gradients(agent))]
        assert ks == sorted(set(ks)), agent
    assert result.summary["audit"]["pair"]["targets"] == ["a0"]


def wait_for_part(root: Path, *, lines: int, timeout: float) -> Path:
    """a1's part of the colluders' record, once it holds ``lines`` lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for part in root.glob("*/*/adversaries/pair/a1.jsonl"):
            if part.read_text().count("\n") >= lines:
                return part
        time.sleep(0.02)
    pytest.fail(f"no part of a1 with {lines} lines under {root} within {timeout} s")


def test_a_colluders_member_without_adversaries_is_refused(tmp_path: Path) -> None:
    path = scenario_file(tmp_path, "mqtt://127.0.0.1:1", "plain")
    common = ["--scenario", str(path), "--run", "r1", "--out", str(tmp_path / "run")]
    refused = hemesh("agent", "--id", "a3", *common, cwd=tmp_path, columns=400)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "error: --id a3: a member of the scenario's colluders pair; pass --adversaries "
        "(it then writes what it sees to RUN_DIR/adversaries/)"
    ]
