"""A run's stamp and ids, and the run directory written before its agents start.

A ``hemesh run`` of scenario ``ring8`` writes ``<out>/ring8-<stamp>/<algorithm>/``;
the agents of that run directory use the run id ``ring8-<stamp>-<algorithm>``.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from pathlib import Path

import networkx as nx

import topologies
from agents import Algorithm, new_identities

from ..assembly import Problem
from ..spec import Scenario, agent_id
from ._rundir import RunDir


def run_stamp() -> str:
    """A fresh stamp: UTC time to the second and 6 random hex digits."""
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{now}-{secrets.token_hex(3)}"


def run_folder(name: str, stamp: str) -> str:
    """The folder of one ``hemesh run`` of scenario ``name`` (every algorithm's run inside)."""
    return f"{name}-{stamp}"


def run_id(name: str, stamp: str, algorithm: Algorithm) -> str:
    """The run id the agents of ``algorithm``'s run use on the broker."""
    return f"{run_folder(name, stamp)}-{algorithm.value}"


def prepare_run(
    root: Path,
    *,
    stamp: str,
    scenario: Scenario,
    algorithm: Algorithm,
    graph: nx.Graph,
    problem: Problem,
    source: Path | None,
) -> tuple[RunDir, str]:
    """Create the run directory of ``algorithm`` under ``root`` (everything but the logs'
    contents and the summary; with a fresh identity per agent and the roster of their
    public parts); returns it and the run id its agents use."""
    run = RunDir(root / algorithm.value)
    run.logs.mkdir(parents=True)
    if source is not None:
        shutil.copyfile(source, run.scenario)
    resolved = scenario.model_copy(
        update={"algorithm": scenario.algorithm.model_copy(update={"kind": algorithm})}
    )
    run.write_json(run.resolved.name, resolved.model_dump(mode="json"))
    run.write_json(run.graph.name, topologies.to_json(graph))
    x_star = None if problem.x_star is None else problem.x_star.tolist()
    run.write_json(run.x_star.name, x_star)
    problem.save(run.problem)
    run_name = run_id(scenario.name, stamp, algorithm)
    ids = [agent_id(i) for i in range(graph.number_of_nodes())]
    roster, identities = new_identities(run_name, ids)
    run.identities.mkdir(mode=0o700)
    for agent, identity in identities.items():
        identity.save(run.identity(agent))
    roster.save(run.roster)
    return run, run_name
