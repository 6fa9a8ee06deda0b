"""Completing a run's adversary records after its agents are done (``finish_adversaries``,
``hemesh audit``): the members' parts merged, the truth tidied, gradients filed under
their iterations, and damaged or incomplete run directories refused with one line."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scenarios import ScenarioError, parse, run_scenario
from scenarios.privacy import AgentPart, GradientTap, finish_adversaries, merge_member_records
from scenarios.results import RunDir, read_jsonl, write_jsonl
from tests.scenarios.support import hemesh

ITERATIONS = 6


def observation(k: int, agent: str, x: float) -> dict[str, Any]:
    return {"k": k, "agent": agent, "x": [x], "states": {}, "used": []}


def test_merge_sorts_by_iteration_and_member_and_keeps_a_members_last_line(
    tmp_path: Path,
) -> None:
    a2, a10 = tmp_path / "a2.jsonl", tmp_path / "a10.jsonl"
    # a10 restarted from its checkpoint at k = 1: it observed k = 1 and 2 again
    write_jsonl(a10, [observation(k, "a10", 10.0 + k) for k in (0, 1, 2)])
    with a10.open("a") as f:
        f.write('{"k": 3, "agent": "a1\n')  # torn by the kill
    write_jsonl_append(a10, [observation(k, "a10", 20.0 + k) for k in (1, 2, 3)])
    write_jsonl(a2, [observation(k, "a2", 2.0 + k) for k in (0, 1, 2, 3)])
    record = tmp_path / "pair.record.jsonl"
    assert merge_member_records([a10, a2], record) == 8
    merged = read_jsonl(record).records
    assert [(o["k"], o["agent"]) for o in merged] == [
        (k, agent)
        for k in range(4)
        for agent in ("a2", "a10")  # a2 before a10
    ]
    assert [o["x"][0] for o in merged if o["agent"] == "a10"] == [10.0, 21.0, 22.0, 23.0]
    assert merge_member_records([a10, a2], record) == 8  # again: the same file
    assert read_jsonl(record).records == merged


def write_jsonl_append(path: Path, lines: list[dict[str, Any]]) -> None:
    with path.open("a") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")


class Square:
    """f(x) = |x|^2 / 2 over two rows of features (what the tap needs of an objective)."""

    dim, samples = 2, 2
    features = np.array([[1.0, 2.0], [3.0, 4.0]])

    def value(self, x: np.ndarray) -> float:
        return float(x @ x / 2)

    def gradient(self, x: np.ndarray, batch: np.ndarray | None = None) -> np.ndarray:
        return x.copy()

    def smoothness(self) -> float:
        return 1.0


def test_the_tap_files_each_gradient_under_the_iteration_that_computed_it() -> None:
    filed: list[dict[str, Any]] = []
    tap = GradientTap(Square(), sink=filed.append)
    tap.gradient(np.array([1.0, 0.0]), np.array([1]))  # iteration 0
    tap.done(1)
    tap.done(2)  # iteration 1 jumped over: no gradient, no line
    tap.gradient(np.array([2.0, 0.0]))  # iteration 2, the whole shard
    tap.done(3)
    assert (
        filed
        == tap.lines
        == [
            {"k": 0, "g": [1.0, 0.0], "inputs": [[3.0, 4.0]]},
            {"k": 2, "g": [2.0, 0.0]},
        ]
    )


def test_an_agents_part_appends_across_a_restart(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    for start in (0, 1):  # the first process did 0 and 1; the second resumed at 1
        with AgentPart(run, "a1", member_of=["pair"], target=True) as part:
            tap = part.objective(Square())
            observe = part.observer()
            assert observe is not None
            for k in range(start, start + 2):
                tap.gradient(np.array([float(k), 0.0]))
                observe(observation(k, "a1", float(k)))
                part.iteration_done(k + 1)
    parts = read_jsonl(run.adversaries.member_record("pair", "a1")).records
    assert [o["k"] for o in parts] == [0, 1, 1, 2]
    truth = read_jsonl(run.adversaries.truth_gradients("a1")).records
    assert [g["k"] for g in truth] == [0, 1, 1, 2]
    honest = AgentPart(run, "a2", member_of=[], target=False)
    with honest:
        assert honest.observer() is None
        objective = Square()
        assert honest.objective(objective) is objective


def scenario_doc(out: Path) -> dict[str, Any]:
    return {
        "name": "records",
        "seed": 3,
        "iterations": ITERATIONS,
        "topology": {"kind": "ring", "n": 4},
        "problem": {"kind": "least_squares", "dim": 3},
        "algorithm": {"kind": "plain"},
        "transport": {"kind": "memory", "round_timeout": 10},
        "output": {"dir": str(out)},
        "adversary": [
            {"kind": "eavesdropper", "name": "wiretap"},
            {"kind": "colluders", "name": "pair", "members": [1, 3], "target": 0},
        ],
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> RunDir:
    """A run of the memory transport, audited in process (the reference)."""
    out = tmp_path_factory.mktemp("finished")
    (result,) = asyncio.run(run_scenario(parse(scenario_doc(out), source="t")))
    return result.run


def copy_of(run: RunDir, tmp_path: Path) -> RunDir:
    shutil.copytree(run.path, tmp_path / "run")
    return RunDir(tmp_path / "run")


def test_finishing_a_run_with_member_parts_audits_as_the_run_did(
    finished: RunDir, tmp_path: Path
) -> None:
    run = copy_of(finished, tmp_path)
    folder = run.adversaries
    record = read_jsonl(folder.record("pair")).records
    folder.member_record("pair", "a1").parent.mkdir()
    for member in ("a1", "a3"):  # as two agent processes would have written it
        mine = [o for o in record if o["agent"] == member]
        write_jsonl(folder.member_record("pair", member), [*mine[:3], *mine[2:]])
    folder.record("pair").unlink()
    truth = read_jsonl(folder.truth_gradients("a0")).records
    write_jsonl(folder.truth_gradients("a0"), [*truth[:4], *truth[2:]], allow_nan=True)
    result = finish_adversaries(run)
    assert result.audit == folder.audit
    assert result.notes == ()
    assert result.summary == json.loads(finished.adversaries.audit.read_text())
    assert read_jsonl(folder.truth_gradients("a0")).records == truth
    assert len(read_jsonl(folder.record("pair")).records) == len(record)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("no_run", r"not a run directory"),
        ("no_adversaries", r"no adversaries to audit"),
        ("no_log", r"incomplete run: agent a2 left no log"),
        ("short_log", rf"incomplete run: the log of a2 ends at iteration 3 of {ITERATIONS}"),
        ("garbage_log", r"a2.jsonl: line 2: not a JSON record"),
        ("member_missing", r"adversary pair: incomplete record: member a3 wrote no part"),
        ("no_record", r"adversary wiretap: no record .*hemesh eavesdrop"),
    ],
)
def test_a_damaged_or_incomplete_run_is_refused_in_one_line(
    finished: RunDir, tmp_path: Path, damage: str, message: str
) -> None:
    run = copy_of(finished, tmp_path)
    folder = run.adversaries
    log = run.log("a2")
    if damage == "no_run":
        run.resolved.unlink()
    elif damage == "no_adversaries":
        shutil.rmtree(folder.path)
    elif damage == "no_log":
        log.unlink()
    elif damage == "short_log":
        log.write_text("".join(log.read_text().splitlines(keepends=True)[:4]))
    elif damage == "garbage_log":
        lines = log.read_text().splitlines(keepends=True)
        log.write_text(lines[0] + "not json\n" + "".join(lines[1:]))
    elif damage == "member_missing":
        folder.member_record("pair", "a1").parent.mkdir()
        write_jsonl(folder.member_record("pair", "a1"), read_jsonl(folder.record("pair")).records)
    elif damage == "no_record":
        folder.record("wiretap").unlink()
    before = folder.audit.read_bytes() if folder.audit.is_file() else None
    with pytest.raises(ScenarioError, match=message) as refused:
        finish_adversaries(run)
    assert "\n" not in str(refused.value)
    if before is not None:  # refused before anything is written
        assert folder.audit.read_bytes() == before
    cli = hemesh("audit", str(run.path), cwd=tmp_path, columns=400)
    assert cli.returncode == 2, cli.stderr
    assert len(cli.stderr.strip().splitlines()) == 1, cli.stderr
    assert cli.stderr.startswith("error: ")


def test_hemesh_audit_prints_the_table_and_the_audit_file(finished: RunDir, tmp_path: Path) -> None:
    run = copy_of(finished, tmp_path)
    run.adversaries.audit.unlink()
    shown = hemesh("audit", str(run.path), cwd=tmp_path, columns=200)
    assert shown.returncode == 0, shown.stderr
    assert "hemesh audit" in shown.stdout
    assert "wiretap: state rel. error (median)" in shown.stdout
    assert "pair: gradient cosine (median)" in shown.stdout
    assert f"audit: {run.adversaries.audit}" in shown.stdout.replace("\n", "")
    assert json.loads(run.adversaries.audit.read_text()) == json.loads(
        finished.adversaries.audit.read_text()
    )
    as_json = hemesh("audit", "--json", str(run.path.parent), cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == {"run": json.loads(run.adversaries.audit.read_text())}
