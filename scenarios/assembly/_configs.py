"""From a scenario to the plain values each agent is given: the graph, the data, the configs."""

from __future__ import annotations

import networkx as nx

import topologies
from agents import AgentConfig, Algorithm, Attenuation, Stepsize

from .._errors import BadInput
from ..spec import Scenario, agent_id
from ._factory import Factory, factory_folders
from ._problem import Problem
from ._real_data import real_data_problem
from ._synthetic import least_squares, logistic, logistic_csv

LAMBDA_GAIN = 3.0
"""lambda0 defaults to LAMBDA_GAIN / L."""


def build_graph(scenario: Scenario) -> nx.Graph:
    try:
        return topologies.from_spec(scenario.topology.params())
    except topologies.TopologyError as exc:
        raise BadInput(f"topology: {exc}") from exc


def build_problem(scenario: Scenario, agents: int) -> Problem:
    """The problem of ``scenario`` for ``agents`` agents: synthetic data (least squares,
    logistic; as in the first version), a CSV file (``csv =``, the first version's form),
    a dataset (``data =``), or a user's factory (``kind = "python"``). Bad data or a bad
    factory is :class:`BadInput`, before anything starts."""
    spec = scenario.problem
    if spec.kind == "python":
        assert spec.factory is not None  # the spec requires it
        factory = Factory(
            ref=spec.factory,
            agents=agents,
            seed=scenario.seed,
            module_path=factory_folders(spec.module_path),
            lambda0=scenario.algorithm.lambda0,
        )
        return Problem(factory.objectives(), factory=factory)
    if spec.data is not None:
        return real_data_problem(spec, agents, scenario.seed)
    if spec.kind == "least_squares":
        return least_squares(
            agents,
            spec.dim,
            samples=spec.samples,
            noise=spec.noise,
            heterogeneity=spec.heterogeneity,
            seed=scenario.seed,
        )
    if spec.csv is not None:
        return logistic_csv(
            spec.csv, agents, label=_named(spec.label), l2=spec.l2, seed=scenario.seed
        )
    return logistic(
        agents,
        spec.dim,
        samples=spec.samples,
        l2=spec.l2,
        heterogeneity=spec.heterogeneity,
        seed=scenario.seed,
    )


def agent_configs(
    scenario: Scenario, graph: nx.Graph, problem: Problem, *, run: str, algorithm: Algorithm
) -> list[AgentConfig]:
    """One config per node, in node order. The same seed tuple for every algorithm, so
    ``clear`` and ``paillier`` draw exactly the same random numbers."""
    alg = scenario.algorithm
    n = graph.number_of_nodes()
    degrees = dict(graph.degree())
    max_degree = max(degrees.values())
    lambda0 = alg.lambda0 or LAMBDA_GAIN / problem.smoothness()
    attenuation = Attenuation(gamma0=alg.gamma0, b=alg.b, p=alg.p, enabled=alg.attenuation)
    batch = scenario.problem.batch_size
    configs = []
    for i in range(n):
        neighbours = {agent_id(j): degrees[j] for j in sorted(graph.neighbors(i))}
        a_max = {
            agent_id(j): scenario.edge_a_max(degrees[i], degrees[j], max_degree)
            for j in sorted(graph.neighbors(i))
        }
        configs.append(
            AgentConfig(
                run=run,
                agent_id=agent_id(i),
                neighbours=neighbours,
                algorithm=algorithm,
                iterations=scenario.iterations,
                x0=tuple(problem.x0),
                seed=(scenario.seed, i),
                attenuation=attenuation,
                stepsize=Stepsize(
                    lambda0=lambda0, decay=alg.stepsize_decay, spread=scenario.spread(i, n)
                ),
                stepsize_mode=alg.stepsize,
                frac_bits=alg.frac_bits,
                rounding=alg.rounding,
                weight_bits=alg.weight_bits,
                weight_mode=alg.weights,
                decrypt=alg.decrypt,
                a_max=a_max,
                batch_size=batch,
                dp_noise=alg.dp_noise,
                key_bits=scenario.crypto.key_bits,
                insecure_keys=scenario.crypto.insecure_keys,
                packing=scenario.crypto.packing,
                fixed_base=scenario.crypto.fixed_base,
                round_timeout=scenario.transport.round_timeout,
                startup_timeout=scenario.transport.startup_timeout,
                record=scenario.output.record,
            )
        )
    return configs


def _named(label: int | str | None) -> str | None:
    """The label of ``csv =`` data: a header name (the spec refuses an index)."""
    return None if label is None else str(label)
