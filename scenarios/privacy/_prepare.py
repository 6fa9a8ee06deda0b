"""A run's adversaries before its agents start: each ``[[adversary]]`` resolved (its
members and target, its topic filter), the part each agent plays in them, and the files
written ahead of the agents (``public.json``, each adversary's spec).

The same files are written whatever runs the agents: the in-process runner
(:class:`~scenarios.privacy.Adversaries`), ``--spawn processes`` and ``hemesh compose``
(:func:`prepare_adversaries`), ``hemesh eavesdrop``; the audit reads them afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from agents import AgentConfig, Algorithm, Objective
from transport import Topics

from ..assembly import Problem, agent_configs
from ..results import RunDir, write_json
from ..spec import (
    ColludersSpec,
    EavesdropperSpec,
    MembershipSpec,
    Scenario,
    agent_id,
    check_adversaries,
    resolve_colluders,
)
from ._params import PublicParams


@dataclass(frozen=True, kw_only=True, slots=True)
class AdversaryPlan:
    """The adversaries of one run, resolved: what each one's spec file says, and which
    agents play a part in them."""

    specs: tuple[dict[str, Any], ...] = ()
    """Each adversary's resolved spec (``<name>.adversary.json``), in the scenario's order."""
    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per agent, the colluders it is a member of (it writes what it sees for them)."""
    targets: frozenset[str] = frozenset()
    """The agents whose true gradients are recorded for scoring: every agent when an
    eavesdropper or colluders attack (the linear-system attack reaches beyond a target)."""

    def member_of(self, agent: str) -> tuple[str, ...]:
        return self.members.get(agent, ())


def plan_adversaries(scenario: Scenario, graph: nx.Graph, *, run_id: str) -> AdversaryPlan:
    """Resolve the scenario's ``[[adversary]]`` entries against ``graph`` for the run
    ``run_id`` (:class:`BadInput` naming the first bad entry)."""
    check_adversaries(scenario.adversary, graph)
    agents = frozenset(agent_id(i) for i in range(graph.number_of_nodes()))
    specs: list[dict[str, Any]] = []
    members: dict[str, list[str]] = {}
    targets: set[str] = set()
    for index, spec in enumerate(scenario.adversary):
        resolved: dict[str, Any] = {"kind": spec.kind, "name": spec.name}
        if isinstance(spec, MembershipSpec):
            resolved.update(bootstrap=spec.bootstrap, seed=scenario.seed)
        elif isinstance(spec, EavesdropperSpec):
            resolved["filter"] = spec.filter or Topics(run_id).everything
            resolved["vantage"] = spec.vantage
            targets.update(agents)
        elif isinstance(spec, ColludersSpec):
            ids, target = resolve_colluders(spec, graph, index)
            resolved.update(members=ids, target=target)
            targets.update(agents)
            for member in ids:
                members.setdefault(member, []).append(spec.name)
        specs.append(resolved)
    return AdversaryPlan(
        specs=tuple(specs),
        members={a: tuple(names) for a, names in members.items()},
        targets=frozenset(targets),
    )


def public_params(
    scenario: Scenario, configs: Sequence[AgentConfig], objectives: Sequence[Objective]
) -> PublicParams:
    """The public parameters of a run: the agents' common configuration and the model
    as the scenario file describes it (with a classifier's number of classes, which only
    the built objectives tell)."""
    problem = scenario.problem
    model: dict[str, Any] = {
        "kind": problem.kind,
        "intercept": problem.intercept,
        "l2": float(problem.l2),
    }
    classes = getattr(objectives[0], "classes", None) if objectives else None
    if isinstance(classes, int) and not isinstance(classes, bool):
        model["classes"] = classes
    return PublicParams.from_configs(configs, model=model)


def write_adversaries(run: RunDir, plan: AdversaryPlan, public: PublicParams) -> None:
    """Write ``public.json`` and every adversary's spec file into ``run``."""
    folder = run.adversaries
    folder.path.mkdir(parents=True, exist_ok=True)
    write_json(folder.public, public.to_json())
    for resolved in plan.specs:
        write_json(folder.spec(resolved["name"]), resolved)


def prepare_adversaries(
    scenario: Scenario,
    run: RunDir,
    *,
    run_id: str,
    algorithm: Algorithm,
    graph: nx.Graph,
    problem: Problem,
) -> AdversaryPlan:
    """Before the agents of ``run`` start in processes or containers of their own:
    write what the in-process runner writes ahead of them (``public.json``, each
    adversary's resolved spec) and return the plan (who is a colluders' member, whose
    gradients are recorded). Nothing is written when the scenario has no adversary."""
    plan = plan_adversaries(scenario, graph, run_id=run_id)
    if plan.specs:
        configs = agent_configs(scenario, graph, problem, run=run_id, algorithm=algorithm)
        write_adversaries(run, plan, public_params(scenario, configs, problem.objectives))
    return plan
