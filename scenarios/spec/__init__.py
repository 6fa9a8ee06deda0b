"""The scenario file: its pydantic models (adversaries included), the feasibility checks
(DESIGN.md's conditions, checks against the graph), reading it, and agent naming."""

from ._adversaries import AdversarySpec, ColludersSpec, EavesdropperSpec, MembershipSpec
from ._conditions import check_attenuation_exponent
from ._feasibility import check_adversaries, check_against_graph, resolve_colluders
from ._load import load, load_scenario, parse, resolve_paths
from ._models import (
    AlgorithmSpec,
    CryptoSpec,
    FaultsSpec,
    OutputSpec,
    PartitionSpec,
    ProblemSpec,
    Scenario,
    TopologySpec,
    TransportSpec,
)
from ._naming import agent_id, agent_index

__all__ = [
    "AdversarySpec",
    "AlgorithmSpec",
    "ColludersSpec",
    "CryptoSpec",
    "EavesdropperSpec",
    "FaultsSpec",
    "MembershipSpec",
    "OutputSpec",
    "PartitionSpec",
    "ProblemSpec",
    "Scenario",
    "TopologySpec",
    "TransportSpec",
    "agent_id",
    "agent_index",
    "check_adversaries",
    "check_against_graph",
    "check_attenuation_exponent",
    "load",
    "load_scenario",
    "parse",
    "resolve_colluders",
    "resolve_paths",
]
