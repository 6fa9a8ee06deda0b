"""Weight ranges that suit real graphs: each edge's range from its endpoints' degrees.

Measured with ``clear``, whose trajectories are bit-identical to ``paillier``'s (same
integers, no encryption: tests/test_golden_trajectories.py and test_runner.py)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from scenarios import Run, RunResult, agent_configs, build_graph, build_problem, parse, run_scenario


def scenario(tmp_path: Path, topology: dict[str, Any], **algorithm: Any) -> dict[str, Any]:
    return {
        "name": "ranges",
        "seed": 1,
        "iterations": 10,
        "topology": topology,
        "problem": {"kind": "least_squares", "dim": 5},
        "algorithm": {"kind": "clear", **algorithm},
        "crypto": {"key_bits": 256, "insecure_keys": True, "inline": True},
        "transport": {"kind": "memory", "round_timeout": 10},
        "output": {"dir": str(tmp_path)},
    }


def run(doc: dict[str, Any]) -> RunResult:
    (result,) = asyncio.run(run_scenario(parse(doc, source="test")))
    return result


def karate(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "karate.csv"
    path.write_text("".join(f"{u},{v}\n" for u, v in nx.karate_club_graph().edges()))
    return {"kind": "file", "path": str(path)}


def a_max_of(doc: dict[str, Any]) -> dict[str, dict[str, float]]:
    spec = parse(doc, source="test")
    graph = build_graph(spec)
    problem = build_problem(spec, graph.number_of_nodes())
    configs = agent_configs(spec, graph, problem, run="r", algorithm=spec.algorithm.kind)
    return {c.agent_id: {n: c.a_max_for(n) for n in c.neighbours} for c in configs}


def test_degree_aware_is_the_default_and_each_edge_uses_its_endpoints_degrees(
    tmp_path: Path,
) -> None:
    doc = scenario(tmp_path, karate(tmp_path))
    ranges = a_max_of(doc)
    degrees = dict(nx.karate_club_graph().degree())
    for agent, edges in ranges.items():
        i = int(agent[1:])
        for neighbour, a_max in edges.items():
            j = int(neighbour[1:])
            assert a_max == pytest.approx(math.sqrt(0.9 / max(degrees[i], degrees[j])))
            assert ranges[neighbour][agent] == a_max  # both ends of an edge agree
        assert sum(a**2 for a in edges.values()) <= 0.9 + 1e-12  # sum a_ij < 1/gamma0


def test_global_ranges_and_an_explicit_a_max_give_every_edge_one_value(tmp_path: Path) -> None:
    global_ = a_max_of(scenario(tmp_path, karate(tmp_path), weight_ranges="global"))
    values = {a for edges in global_.values() for a in edges.values()}
    assert values == {math.sqrt(0.9 / 17)}  # the hub's degree sets every edge
    explicit = a_max_of(scenario(tmp_path, karate(tmp_path), a_max=0.2))
    assert {a for edges in explicit.values() for a in edges.values()} == {0.2}


def test_on_a_regular_graph_both_ranges_give_the_same_trajectories(tmp_path: Path) -> None:
    ring = {"kind": "ring", "n": 8}
    degree = run(scenario(tmp_path / "d", ring, weight_ranges="degree"))
    global_ = run(scenario(tmp_path / "g", ring, weight_ranges="global"))
    _, a = Run.load(degree.run).states()
    _, b = Run.load(global_.run).states()
    assert np.array_equal(a, b)
    assert not np.allclose(a[-1], 0.0)


@pytest.mark.slow
def test_on_the_karate_club_degree_aware_ranges_converge_further(tmp_path: Path) -> None:
    """The hub (degree 17) no longer shrinks every edge's weight (DESIGN.md, weight ranges)."""
    topology = karate(tmp_path)
    mse = {}
    for ranges in ("global", "degree"):
        doc = scenario(tmp_path / ranges, topology, weight_ranges=ranges)
        doc["iterations"] = 200
        mse[ranges] = float(Run.load(run(doc).run).series().mse[-1])
    assert mse["degree"] < 0.8 * mse["global"], mse
