"""The public face of the scenarios package: exactly these names."""

from __future__ import annotations

import scenarios

EXPECTED = [
    "AdversarySpec",
    "AgentLog",
    "AgentPlan",
    "BadInput",
    "ColludersSpec",
    "ComposeFiles",
    "EavesdropperSpec",
    "Estimates",
    "LiveDashboard",
    "Problem",
    "PublicParams",
    "Run",
    "RunDir",
    "RunFailed",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Series",
    "SpawnMode",
    "agent_configs",
    "agent_id",
    "app",
    "attack",
    "audit_run",
    "build_graph",
    "build_problem",
    "find_runs",
    "least_squares",
    "load",
    "logistic",
    "logistic_csv",
    "main",
    "parse",
    "plan_agent",
    "prepare_run",
    "read_log",
    "run_agent",
    "run_scenario",
    "score",
    "write_compose",
    "write_dashboard",
]


def test_exports_are_exactly_the_public_api() -> None:
    assert list(scenarios.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(scenarios, name) is not None, name
