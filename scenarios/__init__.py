"""Scenario files and their runner: spawning, adversaries, attacks, metrics, CLI, dashboards.

Sub-packages, each with its own public face, layered (lower ones never import higher):
``spec`` (the scenario file) -> ``assembly`` (graph, data, agent configs) -> ``results``
(run directory, JSON files, metrics) -> ``privacy`` | ``deploy`` | ``dashboards`` ->
``run`` (``run_scenario``) -> ``cli``. The contracts are in pyproject.toml.
"""

from ._errors import BadInput, RunFailed, ScenarioError
from .assembly import (
    Problem,
    agent_configs,
    build_graph,
    build_problem,
    least_squares,
    logistic,
    logistic_csv,
)
from .cli import app, main
from .dashboards import LiveDashboard, write_dashboard
from .deploy import AgentPlan, ComposeFiles, plan_agent, run_agent, write_compose
from .privacy import Estimates, PublicParams, attack, audit_run, score
from .results import AgentLog, Run, RunDir, Series, find_runs, prepare_run, read_log
from .run import RunResult, SpawnMode, run_scenario
from .spec import (
    AdversarySpec,
    ColludersSpec,
    EavesdropperSpec,
    Scenario,
    agent_id,
    load,
    parse,
)

__all__ = [
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
