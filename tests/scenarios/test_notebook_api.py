"""The Python API for notebooks: load a scenario, run it synchronously, read a run
directory's series, leakage and DataFrame; ``hemesh summarize`` is a thin layer over it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import scenarios
from scenarios import BadInput, Run, RunDir
from tests.scenarios.support import hemesh, ring8, write_toml

AGENTS = [f"a{i}" for i in range(8)]


def _doc(out: Path, **extra: Any) -> dict[str, Any]:
    doc = ring8(out, "embedded", iterations=40, kind="plain")
    doc["transport"] = {"kind": "memory"}
    doc.update(extra)
    return doc


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> scenarios.RunResult:
    """A plain run with an eavesdropper, run the notebook way."""
    out = tmp_path_factory.mktemp("api")
    scenario = scenarios.parse(
        _doc(out, adversary=[{"kind": "eavesdropper", "name": "wiretap"}]), source="test"
    )
    [result] = scenarios.run_sync(scenario, iterations=12)
    return result


def test_run_sync_runs_a_scenario_and_applies_overrides(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "s.toml", _doc(tmp_path / "runs"))
    scenario = scenarios.load(path)
    results = scenarios.run_sync(
        scenario, iterations=5, algorithm={"baselines": ["dp"]}, out=tmp_path / "elsewhere"
    )
    assert [r.run.path.name for r in results] == ["plain", "dp"]
    assert all(r.run.path.is_relative_to(tmp_path / "elsewhere") for r in results)
    assert all(r.summary["iterations"] == 5 for r in results)
    assert results[0].run.metrics.is_file() and results[0].run.summary.is_file()


def test_run_sync_refuses_bad_overrides(tmp_path: Path) -> None:
    scenario = scenarios.parse(_doc(tmp_path), source="test")
    with pytest.raises(BadInput, match="no scenario field iteration to override"):
        scenarios.run_sync(scenario, iteration=5)
    with pytest.raises(BadInput, match=r"overrides: iterations: .*got 0"):
        scenarios.run_sync(scenario, iterations=0)
    with pytest.raises(BadInput, match=r"overrides: algorithm\.lambda0"):
        scenarios.run_sync(scenario, algorithm={"lambda0": -1.0})
    assert not tmp_path.joinpath("ring8").exists() and not list(tmp_path.glob("ring8-*"))


def test_run_sync_refuses_a_running_event_loop(tmp_path: Path) -> None:
    scenario = scenarios.parse(_doc(tmp_path), source="test")

    async def inside() -> None:
        scenarios.run_sync(scenario)

    with pytest.raises(BadInput, match=r"inside a running event loop.*await scenarios\.run_sc"):
        asyncio.run(inside())


def test_open_run_reads_states_and_series(audited: scenarios.RunResult) -> None:
    run = scenarios.open_run(audited.run.path)
    assert isinstance(run, Run)
    ks, states = run.states()
    assert states.shape == (13, 8, 5) and list(ks) == list(range(13))
    s = run.series()
    assert s.mse is not None and s.mse.shape == (13,)
    assert s.errors is not None and s.errors.shape == (13, 8)
    assert s.train_loss is not None and s.agent_train_loss is not None
    assert s.agent_train_loss.shape == (13, 8)
    assert s.test_loss is None and s.test_accuracy is None  # no held-out rows
    assert np.allclose(s.errors.mean(axis=1), s.mse)
    # the folder of the run (one algorithm) opens the same run
    assert scenarios.open_run(audited.run.path.parent).dir == audited.run


def test_open_run_refuses_no_run_and_several(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no run directory here"):
        scenarios.open_run(tmp_path)
    scenario = scenarios.parse(_doc(tmp_path, iterations=2), source="test")
    results = scenarios.run_sync(scenario, algorithm={"baselines": ["dp"]})
    with pytest.raises(BadInput, match=r"2 run directories \(dp, plain\): open one of them"):
        scenarios.open_run(results[0].run.path.parent)


def test_leakage_gives_the_attack_rows_per_target_and_iteration(
    audited: scenarios.RunResult,
) -> None:
    leakage = scenarios.open_run(audited.run.path).leakage()
    assert sorted(entry.target for entry in leakage) == AGENTS
    assert {entry.adversary for entry in leakage} == {"wiretap"}
    rows = [
        line
        for line in scenarios.results.read_jsonl(audited.run.adversaries.attack("wiretap")).records
        if "target" in line
    ]
    for entry in leakage:
        mine = sorted((r for r in rows if r["target"] == entry.target), key=lambda r: r["k"])
        assert list(entry.k) == [r["k"] for r in mine]
        assert set(entry.scores) >= {"state_rel_error", "gradient_cosine"}
        expected = [np.nan if r["state_rel_error"] is None else r["state_rel_error"] for r in mine]
        assert np.allclose(entry.scores["state_rel_error"], expected, equal_nan=True)
        assert all(v.shape == entry.k.shape for v in entry.scores.values())
    # plain shares states in the clear: the eavesdropper reads them exactly
    assert all(np.nanmax(e.scores["state_rel_error"]) < 1e-9 for e in leakage)


def test_a_run_without_adversaries_has_no_leakage(tmp_path: Path) -> None:
    scenario = scenarios.parse(_doc(tmp_path, iterations=2), source="test")
    [result] = scenarios.run_sync(scenario)
    assert scenarios.open_run(result.run.path).leakage() == []


def test_frame_is_one_row_per_iteration_and_model(audited: scenarios.RunResult) -> None:
    pd = pytest.importorskip("pandas")
    run = scenarios.open_run(audited.run.path)
    frame = run.frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "k",
        "model",
        "error",
        "consensus",
        "gap",
        "train_loss",
        "test_loss",
        "test_accuracy",
    ]
    assert len(frame) == 13 * 9
    s = run.series()
    network = frame[frame.model == "network"].set_index("k")
    assert np.allclose(network["error"], s.mse)  # type: ignore[arg-type]
    assert np.allclose(network["consensus"], s.consensus)
    assert np.allclose(network["train_loss"], s.train_loss)  # type: ignore[arg-type]
    a3 = frame[frame.model == "a3"].set_index("k")
    assert np.allclose(a3["error"], s.errors[:, 3])  # type: ignore[index]
    assert np.allclose(a3["train_loss"], s.agent_train_loss[:, 3])  # type: ignore[index]
    assert a3["consensus"].isna().all() and frame["test_accuracy"].isna().all()


def test_frame_without_pandas_says_how_to_get_it(
    audited: scenarios.RunResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    with pytest.raises(BadInput, match=r"needs pandas: pip install 'hemesh\[notebook\]'"):
        scenarios.open_run(audited.run.path).frame()


def test_summarize_is_the_api_s_summaries(audited: scenarios.RunResult, tmp_path: Path) -> None:
    import json

    folder = audited.run.path.parent
    expected = scenarios.summaries(folder)
    assert expected == [Run.load(RunDir(audited.run.path)).summary()]
    result = hemesh("summarize", str(folder), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected
    with pytest.raises(BadInput, match="no run directory here"):
        scenarios.summaries(tmp_path)
