"""The conditions of DESIGN.md that a scenario's parameters must meet, checked up front.

With ``lambda(k) = lambda0 / (1 + c k)`` (so ``lambda ~ 1/k``) and, with attenuation,
``gamma(k) = gamma0 / (1 + b k^p)`` (so ``gamma ~ k^-p``), the algorithm needs

- ``sum gamma = inf`` and ``sum gamma^2 < inf``: ``p`` in (0.5, 1] (the field's range),
- ``sum lambda = inf``: ``c > 0`` gives ``lambda ~ 1/k`` (the field's range),
- ``lambda / gamma -> 0`` and ``sum lambda^2 / gamma < inf``: ``k^(p-1) -> 0`` and
  ``sum k^(p-2) < inf``, both only when ``p < 1`` (attenuation off: gamma is constant
  and both hold),
- ``gamma0 * a_max^2 * max_degree < 1`` (the coupling weights keep the mixing stable).

A scenario that breaks one is refused before anything starts, naming the field and the
condition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import topologies

from ._errors import ScenarioError

if TYPE_CHECKING:
    from ._schema import Scenario


def check_attenuation_exponent(p: float, *, attenuation: bool) -> None:
    """Raise ValueError (for pydantic) when ``p`` breaks lambda/gamma -> 0."""
    if attenuation and p >= 1:
        raise ValueError(
            f"p = {p} with attenuation on breaks DESIGN.md's conditions lambda/gamma -> 0 and "
            "sum lambda^2/gamma < inf (lambda ~ 1/k, gamma ~ k^-p: both need p < 1); "
            "use p in (0.5, 1) or attenuation = false"
        )


def check_against_graph(scenario: Scenario, *, source: str) -> None:
    """The checks that need the graph: only done when the scenario sets ``a_max`` or a
    per-agent ``theta_spread`` (a bad graph itself is reported when it is built)."""
    alg = scenario.algorithm
    if alg.a_max is None and not isinstance(alg.theta_spread, list):
        return
    try:
        graph = topologies.from_spec(scenario.topology.params())
    except topologies.TopologyError as exc:
        raise ScenarioError(f"{source}: topology: {exc}") from exc
    if alg.a_max is not None:
        max_degree = max(degree for _, degree in graph.degree())
        bound = alg.gamma0 * alg.a_max**2 * max_degree
        if bound >= 1:
            raise ScenarioError(
                f"{source}: algorithm.a_max: gamma0 * a_max^2 * max_degree = {alg.gamma0} * "
                f"{alg.a_max}^2 * {max_degree} = {bound:.4g} must be < 1 (DESIGN.md) "
                f"(got {alg.a_max!r})"
            )
    if isinstance(alg.theta_spread, list) and len(alg.theta_spread) != graph.number_of_nodes():
        raise ScenarioError(
            f"{source}: algorithm.theta_spread: {len(alg.theta_spread)} values for "
            f"{graph.number_of_nodes()} agents (got {alg.theta_spread!r})"
        )
