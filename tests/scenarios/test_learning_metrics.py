"""Test loss and accuracy next to MSE: per agent and for the network average, in the
summary, ``metrics.jsonl``, ``hemesh summarize`` (and ``--json``) and the dashboard; a
problem without x* has no MSE, gap or their panels (None, never NaN)."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents import Agent, Algorithm
from scenarios.assembly import HeldOut, Problem, agent_configs, build_graph, logistic
from scenarios.dashboards import load_views, payload
from scenarios.results import RunDir, open_run, prepare_run, read_jsonl, run_stamp, summaries
from scenarios.run import write_summary
from scenarios.spec import parse
from tests.scenarios.support import hemesh, ring8
from transport import MemoryBus

ITERATIONS = 30


def _classification(*, x_star: bool, test: bool = True) -> Problem:
    """Eight logistic shards (d = 3) and 200 held-out rows drawn like them."""
    base = logistic(8, 3, samples=40, l2=0.05, heterogeneity=0.3, seed=1)
    assert base.x_star is not None
    rng = np.random.default_rng(5)
    features = rng.normal(size=(200, 3))
    labels = np.where(features @ base.x_star + rng.normal(0, 0.3, 200) > 0, 1.0, -1.0)
    return Problem(
        base.objectives,
        base.x_star if x_star else None,
        test=HeldOut(features, labels) if test else None,
    )


def run_problem(out: Path, problem: Problem, *, iterations: int = ITERATIONS) -> RunDir:
    """A plain run of ``problem`` on ring8 over the memory bus, summarized as ``hemesh
    run`` does (``write_summary``)."""
    doc = ring8(out, "embedded", iterations=iterations, kind="plain")
    doc["problem"] = {"kind": "logistic", "dim": 3}
    doc["transport"] = {"kind": "memory"}
    scenario = parse(doc, source="test")
    graph = build_graph(scenario)
    run, run_id = prepare_run(
        out,
        stamp=run_stamp(),
        scenario=scenario,
        algorithm=Algorithm.PLAIN,
        graph=graph,
        problem=problem,
        source=None,
    )
    configs = agent_configs(scenario, graph, problem, run=run_id, algorithm=Algorithm.PLAIN)
    bus = MemoryBus(run_id)

    async def main() -> None:
        async def one(i: int) -> None:
            cfg = configs[i]
            endpoint = bus.endpoint(cfg.agent_id, neighbours=cfg.neighbours)
            async with Agent(
                cfg,
                problem.objectives[i],
                endpoint,
                journal=run.log(cfg.agent_id),
                unauthenticated=True,
            ) as agent:
                await agent.run()

        async with asyncio.timeout(120), asyncio.TaskGroup() as group:
            for i in range(len(configs)):
                group.create_task(one(i))

    asyncio.run(main())
    write_summary(run)
    return run


@pytest.fixture(scope="module")
def classified(tmp_path_factory: pytest.TempPathFactory) -> RunDir:
    return run_problem(tmp_path_factory.mktemp("cls"), _classification(x_star=False))


@pytest.fixture(scope="module")
def classified_with_x_star(tmp_path_factory: pytest.TempPathFactory) -> RunDir:
    return run_problem(tmp_path_factory.mktemp("cls-x"), _classification(x_star=True))


AGENTS = [f"a{i}" for i in range(8)]


def _no_nan(obj: Any) -> None:
    """Raise if a NaN or an infinity hides anywhere in ``obj`` (JSON has neither)."""
    json.dumps(obj, allow_nan=False)


def test_the_summary_reports_accuracy_and_loss_and_no_mse_without_x_star(
    classified: RunDir,
) -> None:
    summary = json.loads(classified.summary.read_text())
    _no_nan(summary)
    for key in ("mse_initial", "mse_final", "mse_ratio", "objective_gap_final"):
        assert summary[key] is None, key
    assert summary["consensus_final"] is not None  # needs no x*
    assert 0.5 < summary["test_accuracy_final"] <= 1.0
    assert summary["test_accuracy_min"] <= summary["test_accuracy_max"] <= 1.0
    assert summary["test_loss_min"] <= summary["test_loss_max"]
    assert 0 < summary["test_loss_final"] < math.log(2)  # better than guessing
    assert summary["train_loss_final"] > 0
    per_agent = summary["final_by_agent"]
    assert sorted(per_agent) == AGENTS
    accuracies = [per_agent[a]["test_accuracy"] for a in AGENTS]
    assert min(accuracies) == summary["test_accuracy_min"]
    assert max(accuracies) == summary["test_accuracy_max"]
    assert all(per_agent[a]["error"] is None for a in AGENTS)
    # the same numbers, recomputed from the directory alone
    assert summaries(classified.path) == [summary]


def test_metrics_jsonl_has_one_line_per_evaluated_iteration(classified: RunDir) -> None:
    lines = read_jsonl(classified.metrics).records
    assert [line["k"] for line in lines] == list(range(ITERATIONS + 1))  # K <= 200: every one
    for line in lines:
        _no_nan(line)
        assert line["mse"] is None and line["gap"] is None
        assert set(line) == {
            "k",
            "mse",
            "consensus",
            "gap",
            "train_loss",
            "test_loss",
            "test_accuracy",
            "agents",
        }
        assert sorted(line["agents"]) == AGENTS
        assert all(0 <= line["agents"][a]["test_accuracy"] <= 1 for a in AGENTS)
    summary = json.loads(classified.summary.read_text())
    assert lines[-1]["test_accuracy"] == summary["test_accuracy_final"]
    assert lines[-1]["agents"] == summary["final_by_agent"]
    # learning happened: the average's test loss fell from its start at x0 = 0
    assert lines[-1]["test_loss"] < lines[0]["test_loss"]


def test_with_x_star_mse_stays_beside_accuracy(classified_with_x_star: RunDir) -> None:
    summary = json.loads(classified_with_x_star.summary.read_text())
    assert summary["mse_final"] is not None and summary["mse_final"] < summary["mse_initial"]
    assert summary["objective_gap_final"] is not None
    assert summary["test_accuracy_final"] is not None
    line = read_jsonl(classified_with_x_star.metrics).records[-1]
    assert line["mse"] == summary["mse_final"]
    assert line["agents"]["a0"]["error"] is not None


def test_series_arrays_have_their_shapes(classified: RunDir) -> None:
    s = open_run(classified.path).series()
    k, n = len(s.k), len(AGENTS)
    assert s.mse is None and s.gap is None and s.errors is None
    assert s.consensus.shape == (k,)
    assert s.agents == tuple(AGENTS)
    assert list(s.evaluated) == list(s.k)
    assert s.train_loss is not None and s.train_loss.shape == (k,)
    assert s.agent_train_loss is not None and s.agent_train_loss.shape == (k, n)
    assert s.test_accuracy is not None and s.test_accuracy.shape == (k,)
    assert s.agent_test_accuracy is not None and s.agent_test_accuracy.shape == (k, n)
    assert s.agent_test_loss is not None and s.agent_test_loss.shape == (k, n)
    # at k = 0 every model is x0: the average's numbers are each agent's
    assert np.allclose(s.agent_test_loss[0], s.test_loss[0])  # type: ignore[index]
    assert np.allclose(s.agent_train_loss[0], s.train_loss[0])


def test_a_problem_without_held_out_rows_has_no_test_metrics(tmp_path: Path) -> None:
    run = run_problem(tmp_path, _classification(x_star=False, test=False), iterations=5)
    summary = json.loads(run.summary.read_text())
    for key in ("test_loss_final", "test_accuracy_final", "test_accuracy_min", "mse_final"):
        assert summary[key] is None, key
    assert summary["train_loss_final"] is not None
    line = read_jsonl(run.metrics).records[-1]
    assert line["test_accuracy"] is None and line["agents"]["a3"]["test_loss"] is None
    result = hemesh("summarize", str(run.path), cwd=tmp_path, columns=200)
    assert result.returncode == 0, result.stderr
    assert "train loss" in result.stdout and "test accuracy" not in result.stdout


def test_summarize_prints_accuracy_and_loss_next_to_mse(classified: RunDir, tmp_path: Path) -> None:
    result = hemesh("summarize", str(classified.path), cwd=tmp_path, columns=200)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    summary = json.loads(classified.summary.read_text())
    assert "final MSE" in text
    assert "test accuracy, x̄ [%]" in text
    assert f"{100 * summary['test_accuracy_final']:.2f}" in text
    low, high = summary["test_accuracy_min"], summary["test_accuracy_max"]
    assert f"{100 * low:.2f} / {100 * high:.2f}" in text
    assert "test loss, agents min / max" in text
    assert "wall time [s]" in text  # the units survive rich's markup
    assert "crypto time, all agents [s]" in text
    as_json = hemesh("summarize", str(classified.path), "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    [printed] = json.loads(as_json.stdout)
    assert printed["test_accuracy_final"] == summary["test_accuracy_final"]
    assert printed["final_by_agent"] == summary["final_by_agent"]
    assert printed["mse_final"] is None


def test_the_dashboard_draws_accuracy_and_loss_and_no_mse_without_x_star(
    classified: RunDir,
) -> None:
    data = payload(load_views([classified.path]))
    _no_nan(data)
    figures = data["figures"]
    assert "mse" not in figures and "gap" not in figures
    assert {"consensus", "train-loss", "test-loss", "test-accuracy"} <= set(figures)
    lines = read_jsonl(classified.metrics).records
    accuracy = figures["test-accuracy"]["data"]
    [average] = [t for t in accuracy if t.get("showlegend") is not False]
    assert average["x"] == [line["k"] for line in lines]
    assert average["y"] == [line["test_accuracy"] for line in lines]
    [band] = [t for t in accuracy if t.get("showlegend") is False]
    top = [max(line["agents"][a]["test_accuracy"] for a in AGENTS) for line in lines]
    assert band["y"][: len(lines)] == top


def test_the_dashboard_keeps_mse_and_gap_with_x_star(classified_with_x_star: RunDir) -> None:
    figures = payload(load_views([classified_with_x_star.path]))["figures"]
    assert {"mse", "gap", "test-accuracy", "test-loss", "train-loss"} <= set(figures)


def test_the_evaluation_grid_is_bounded() -> None:
    from scenarios.results._series import evaluation_grid

    assert list(evaluation_grid(0)) == []
    assert list(evaluation_grid(1)) == [0]
    assert list(evaluation_grid(200)) == list(range(200))
    grid = evaluation_grid(1001)
    assert grid[0] == 0 and grid[-1] == 1000 and len(grid) <= 202
    assert set(np.diff(grid[:-1])) == {5}


def test_a_damaged_log_line_is_reported_and_the_rest_still_evaluated(tmp_path: Path) -> None:
    run = run_problem(tmp_path, _classification(x_star=False), iterations=5)
    log = run.log("a2")
    log.write_text(log.read_text() + '{"k": 6, "x": [0.1,\n')  # cut off by a kill
    [summary] = summaries(run.path)
    assert summary["bad_log_lines"] == {"a2": [7]}
    assert summary["test_accuracy_final"] is not None and summary["mse_final"] is None
    run.problem.write_bytes(b"not an npz")
    result = hemesh("summarize", str(run.path), cwd=tmp_path)
    assert result.returncode == 2
    assert "not a readable run directory" in result.stderr


def test_off_the_evaluation_grid_the_frame_holds_nan() -> None:
    pytest.importorskip("pandas")
    from scenarios.results import Series
    from scenarios.results._frame import series_frame
    from scenarios.results._series import evaluation_grid

    k = np.arange(450, dtype=np.int64)
    grid = evaluation_grid(len(k))
    m = len(grid)
    series = Series(
        k,
        None,
        np.ones(450),
        None,
        agents=("a0", "a1"),
        evaluated=k[grid],
        train_loss=np.full(m, 2.0),
        agent_train_loss=np.full((m, 2), 3.0),
    )
    frame = series_frame(series)
    network = frame[frame.model == "network"].set_index("k")["train_loss"]
    assert network[k[grid]].eq(2.0).all() and network.drop(k[grid]).isna().all()
    assert network.drop(k[grid]).size == 450 - m > 0
    a1 = frame[frame.model == "a1"].set_index("k")["train_loss"]
    assert a1[k[grid]].eq(3.0).all()
    lines = series.lines()
    assert [line["k"] for line in lines] == [int(v) for v in k[grid]]
    assert lines[-1]["k"] == 449 and lines[0]["mse"] is None
