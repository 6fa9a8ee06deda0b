"""Convergence in every weight x stepsize mode, and the [[adversary]] syntax."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scenarios import Run, ScenarioError, build_graph, load, parse, run_scenario
from scenarios.spec import check_adversaries
from tests.scenarios.support import hemesh, mse_of


def ring(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "name": "modes",
        "seed": 2,
        "iterations": 400,
        "topology": {"kind": "ring", "n": 6},
        "problem": {"kind": "least_squares", "dim": 4},
        "algorithm": {"kind": "clear"},
        "transport": {"kind": "memory", "round_timeout": 10},
        "output": {"dir": str(tmp_path)},
        **extra,
    }


@pytest.mark.parametrize("weights", ["per_edge", "per_coordinate"])
@pytest.mark.parametrize("stepsize", ["scalar", "per_coordinate"])
def test_every_mode_converges(tmp_path: Path, weights: str, stepsize: str) -> None:
    doc = ring(tmp_path)
    doc["algorithm"] = {"kind": "clear", "weights": weights, "stepsize": stepsize}
    (result,) = asyncio.run(run_scenario(parse(doc, source="test")))
    mse = mse_of(Run.load(result.run).series())
    assert mse[0] > 0
    assert np.mean(mse[-20:]) < 0.03 * mse[0], (weights, stepsize, mse[-1] / mse[0])


def check(doc: dict[str, Any]) -> None:
    scenario = parse(doc, source="test")
    check_adversaries(scenario.adversary, build_graph(scenario))


@pytest.mark.parametrize(
    ("adversary", "message"),
    [
        ({"members": [2], "target": 0}, "adversary.0.members: ['a2'] are not neighbours"),
        ({"members": [1, 0], "target": 0}, "adversary.0.members: the target a0 cannot"),
        ({"members": [1], "target": 9}, "adversary.0.target: no agent 9"),
        ({"members": ["b1"], "target": 0}, "adversary.0.members: no agent 'b1'"),
        ({"members": [1, "a1"], "target": 0}, "adversary.0.members: ['a1', 'a1'] has dup"),
    ],
)
def test_colluders_are_checked_against_the_graph(
    tmp_path: Path, adversary: dict[str, Any], message: str
) -> None:
    doc = ring(tmp_path, adversary=[{"kind": "colluders", "name": "c", **adversary}])
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check(doc)


def test_adversary_entries_parse_and_bad_ones_name_the_field(tmp_path: Path) -> None:
    doc = ring(
        tmp_path,
        adversary=[
            {"kind": "eavesdropper", "name": "eve"},
            {"kind": "colluders", "name": "pair", "members": ["a1", 5], "target": "a0"},
        ],
    )
    check(doc)
    scenario = parse(doc, source="test")
    assert [a.kind for a in scenario.adversary] == ["eavesdropper", "colluders"]
    bad = ring(tmp_path, adversary=[{"kind": "spy", "name": "x"}])
    with pytest.raises(ScenarioError, match=r"adversary\.0"):
        parse(bad, source="test")
    twice = ring(tmp_path, adversary=[{"kind": "eavesdropper", "name": "e"}] * 2)
    with pytest.raises(ScenarioError, match=r"adversary\.1\.name: 'e' is used twice"):
        check(twice)
    no_members = ring(
        tmp_path, adversary=[{"kind": "colluders", "name": "c", "members": [], "target": 0}]
    )
    with pytest.raises(ScenarioError, match=r"adversary\.0\.colluders\.members"):
        parse(no_members, source="test")


EXAMPLES = Path(__file__).parents[2] / "scenarios" / "examples"


def test_audit_examples_are_valid() -> None:
    files = sorted(EXAMPLES.glob("audit_*.toml"))
    assert len(files) == 11  # audit II added linear_system, input_inversion, membership,
    # colluders_inputs and colluders_inputs_hardened
    kinds = set()
    for path in files:
        scenario = load(path)
        check_adversaries(scenario.adversary, build_graph(scenario))
        assert scenario.adversary, path
        kinds |= {(scenario.algorithm.kind.value, a.kind) for a in scenario.adversary}
    assert kinds >= {
        ("plain", "eavesdropper"),
        ("paillier", "eavesdropper"),
        ("paillier", "colluders"),
        ("dp", "eavesdropper"),
        ("plain", "colluders"),
        ("clear", "membership"),
    }


def test_cli_refuses_bad_colluders_and_prints_leakage(tmp_path: Path) -> None:
    example = (EXAMPLES / "audit_dp_low.toml").read_text()
    memory = example.replace('kind = "mqtt"', 'kind = "memory"').replace(
        "iterations = 60", "iterations = 8"
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(
        memory + '\n[[adversary]]\nkind = "colluders"\nname = "c"\nmembers = [4]\ntarget = 0\n'
    )
    result = hemesh("run", str(bad), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "adversary.1.members: ['a4'] are not neighbours of the target a0" in result.stderr
    assert not (tmp_path / "runs").exists()
    good = tmp_path / "good.toml"
    good.write_text(memory)
    result = hemesh("run", str(good), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wiretap: state rel. error (median)" in result.stdout
    (run_dir,) = (tmp_path / "runs").iterdir()
    summary = hemesh("summarize", str(run_dir), "--json", cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    (doc,) = json.loads(summary.stdout)
    assert doc["audit"]["wiretap"]["kind"] == "eavesdropper"
    assert doc["audit"]["wiretap"]["state_rel_error_median"] > 0  # dp noise
