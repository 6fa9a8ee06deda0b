"""Checks that need the graph: DESIGN.md's weight condition, per-agent spreads, adversaries.

A scenario that fails one is refused before anything starts (:class:`BadInput`,
naming the field).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx

import topologies

from .._errors import BadInput
from ._adversaries import AdversarySpec, ColludersSpec
from ._fields import MAX_AGENTS, MEMORY_BUDGET
from ._models import Scenario
from ._naming import agent_id, agent_index


def check_against_graph(scenario: Scenario, *, source: str) -> None:
    """Build the scenario's graph and refuse what it cannot run (:class:`BadInput` naming
    the field, its value and the limit): more than ``MAX_AGENTS`` agents (refused before
    the graph is built when the generator's parameters say so), data beyond
    ``MEMORY_BUDGET``, DESIGN.md's weight condition, weights that the fixed-point
    encoding cannot represent, and a per-agent ``theta_spread`` of the wrong length."""
    _check_agent_count(scenario.topology.params(), source=source)
    try:
        graph = topologies.from_spec(scenario.topology.params())
    except topologies.TopologyError as exc:
        raise BadInput(f"{source}: topology: {exc}") from exc
    agents = graph.number_of_nodes()
    if agents > MAX_AGENTS:
        raise BadInput(
            f"{source}: topology: {agents} agents is more than the {MAX_AGENTS:,} one run "
            f"can hold (got {scenario.topology.params()!r})"
        )
    _check_memory(scenario, agents, source=source)
    alg = scenario.algorithm
    if alg.a_max is not None:
        max_degree = max(degree for _, degree in graph.degree())
        bound = alg.gamma0 * alg.a_max**2 * max_degree
        if bound >= 1:
            raise BadInput(
                f"{source}: algorithm.a_max: gamma0 * a_max^2 * max_degree = {alg.gamma0} * "
                f"{alg.a_max}^2 * {max_degree} = {bound:.4g} must be < 1 (DESIGN.md) "
                f"(got {alg.a_max!r})"
            )
    _check_weights_representable(scenario, graph, source=source)
    if isinstance(alg.theta_spread, list) and len(alg.theta_spread) != agents:
        raise BadInput(
            f"{source}: algorithm.theta_spread: {len(alg.theta_spread)} values for "
            f"{agents} agents (got {alg.theta_spread!r})"
        )


def _check_agent_count(params: Mapping[str, object], *, source: str) -> None:
    """Refuse a generator asked for more than ``MAX_AGENTS`` nodes before it runs."""
    sizes = {key: params.get(key) for key in ("n", "rows", "cols")}
    if all(_is_int(sizes[key]) for key in ("rows", "cols")):
        rows, cols = sizes["rows"], sizes["cols"]
        assert isinstance(rows, int) and isinstance(cols, int)  # checked by _is_int
        if rows * cols > MAX_AGENTS:
            raise BadInput(
                f"{source}: topology.rows: rows x cols = {rows} x {cols} = {rows * cols} "
                f"agents is more than the {MAX_AGENTS:,} one run can hold "
                f"(got rows = {rows}, cols = {cols})"
            )
    n = sizes["n"]
    if isinstance(n, int) and _is_int(n) and n > MAX_AGENTS:
        raise BadInput(f"{source}: topology.n: at most {MAX_AGENTS:,} agents in one run (got {n})")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_memory(scenario: Scenario, agents: int, *, source: str) -> None:
    """Refuse synthetic data and a central solve beyond ``MEMORY_BUDGET``, naming the
    fields of the product."""
    problem = scenario.problem
    if problem.csv is not None:
        return  # the data is the file's; its size is its own
    budget = f"the {MEMORY_BUDGET / 2**30:g} GiB memory budget"
    solve = problem.dim * problem.dim * 8
    if solve > MEMORY_BUDGET:
        raise BadInput(
            f"{source}: problem.dim: problem.dim x problem.dim x 8 bytes (the central solve "
            f"for x*) = {solve / 2**30:.3g} GiB exceeds {budget} (got {problem.dim})"
        )
    data = agents * problem.samples * problem.dim * 8
    if data + solve > MEMORY_BUDGET:
        raise BadInput(
            f"{source}: problem.samples: agents x problem.samples x problem.dim x 8 bytes = "
            f"{agents} x {problem.samples} x {problem.dim} x 8 = {data / 2**30:.3g} GiB of "
            f"data exceeds {budget} (got {problem.samples})"
        )


def _check_weights_representable(scenario: Scenario, graph: nx.Graph, *, source: str) -> None:
    """Every edge's a_max must survive the fixed-point weight encoding: the quantized
    range [a_max/2, a_max] * 2^weight_bits needs a_max * 2^weight_bits >= 2."""
    alg = scenario.algorithm
    degrees = dict(graph.degree())
    max_degree = max(degrees.values())
    smallest = min(
        scenario.edge_a_max(degrees[i], degrees[j], max_degree) for i, j in graph.edges()
    )
    if smallest * 2**alg.weight_bits >= 2:
        return
    field, value = (
        ("a_max", alg.a_max) if alg.a_max is not None else ("weight_bits", alg.weight_bits)
    )
    raise BadInput(
        f"{source}: algorithm.{field}: a_max = {smallest:.4g} is not representable with "
        f"{alg.weight_bits} weight bits (a_max * 2^weight_bits = "
        f"{smallest * 2**alg.weight_bits:.4g} must be >= 2) (got {value!r})"
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
