"""Checks that need the graph: DESIGN.md's weight condition, per-agent spreads, adversaries.

A scenario that fails one is refused before anything starts (:class:`BadInput`,
naming the field).
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

import topologies

from .._errors import BadInput
from ._adversaries import AdversarySpec, ColludersSpec
from ._models import Scenario
from ._naming import agent_id, agent_index


def check_against_graph(scenario: Scenario, *, source: str) -> None:
    """The checks that need the graph: only done when the scenario sets ``a_max`` or a
    per-agent ``theta_spread`` (a bad graph itself is reported when it is built)."""
    alg = scenario.algorithm
    if alg.a_max is None and not isinstance(alg.theta_spread, list):
        return
    try:
        graph = topologies.from_spec(scenario.topology.params())
    except topologies.TopologyError as exc:
        raise BadInput(f"{source}: topology: {exc}") from exc
    if alg.a_max is not None:
        max_degree = max(degree for _, degree in graph.degree())
        bound = alg.gamma0 * alg.a_max**2 * max_degree
        if bound >= 1:
            raise BadInput(
                f"{source}: algorithm.a_max: gamma0 * a_max^2 * max_degree = {alg.gamma0} * "
                f"{alg.a_max}^2 * {max_degree} = {bound:.4g} must be < 1 (DESIGN.md) "
                f"(got {alg.a_max!r})"
            )
    if isinstance(alg.theta_spread, list) and len(alg.theta_spread) != graph.number_of_nodes():
        raise BadInput(
            f"{source}: algorithm.theta_spread: {len(alg.theta_spread)} values for "
            f"{graph.number_of_nodes()} agents (got {alg.theta_spread!r})"
        )


def _agent(ref: int | str, graph: nx.Graph, where: str) -> str:
    """An agent index or id as its id, checked against the graph."""
    n = graph.number_of_nodes()
    if isinstance(ref, int):
        if not 0 <= ref < n:
            raise BadInput(f"{where}: no agent {ref} (the graph has agents 0..{n - 1})")
        return agent_id(ref)
    index = agent_index(ref)
    if index is not None and index < n:
        return ref
    raise BadInput(f"{where}: no agent {ref!r} (ids are {agent_id(0)}..{agent_id(n - 1)})")


def resolve_colluders(spec: ColludersSpec, graph: nx.Graph, index: int) -> tuple[list[str], str]:
    """The members' and the target's ids; every member must be a neighbour of the target."""
    where = f"adversary.{index}"
    target = _agent(spec.target, graph, f"{where}.target")
    members = [_agent(m, graph, f"{where}.members") for m in spec.members]
    if len(set(members)) != len(members):
        raise BadInput(f"{where}.members: {members} has duplicates")
    if target in members:
        raise BadInput(f"{where}.members: the target {target} cannot be a member")
    target_index = agent_index(target)
    assert target_index is not None  # checked by _agent
    neighbours = {agent_id(j) for j in graph.neighbors(target_index)}
    strangers = [m for m in members if m not in neighbours]
    if strangers:
        raise BadInput(
            f"{where}.members: {strangers} are not neighbours of the target {target} "
            f"(its neighbours: {sorted(neighbours)}); they would see nothing of it"
        )
    return members, target


def check_adversaries(adversaries: Sequence[AdversarySpec], graph: nx.Graph) -> None:
    """Raise :class:`BadInput` naming the field of the first bad ``[[adversary]]``."""
    names = [a.name for a in adversaries]
    for index, spec in enumerate(adversaries):
        if spec.name in names[:index]:
            raise BadInput(f"adversary.{index}.name: {spec.name!r} is used twice")
        if isinstance(spec, ColludersSpec):
            resolve_colluders(spec, graph, index)
