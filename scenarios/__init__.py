"""Scenario files and their runner: spawning, adversaries, attacks, metrics, CLI, dashboards.

Sub-packages, each with its own public face, layered (lower ones never import higher):
``spec`` (the scenario file) -> ``assembly`` (graph, data, agent configs) -> ``results``
(run directory, JSON files, metrics) -> ``privacy`` | ``deploy`` | ``dashboards`` ->
``run`` (``run_scenario``) -> ``cli``. The contracts are in pyproject.toml.

In a notebook or a script::

    import scenarios
    scenario = scenarios.load(Path("scenarios/examples/ring8.toml"))
    results = scenarios.run_sync(scenario, iterations=50)   # not inside a running loop
    run = scenarios.open_run(results[0].run.path)
    s = run.series()          # numpy: s.mse, s.consensus, s.test_accuracy, ...
    x = run.states()[1]       # (K, N, d)
    run.leakage()             # the audit's scores per adversary, target and iteration
    run.frame()               # pandas (pip install 'hemesh[notebook]')
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
from .results import (
    AgentLog,
    Leakage,
    Run,
    RunDir,
    Series,
    find_runs,
    open_run,
    prepare_run,
    read_log,
    summaries,
)
from .run import RunResult, SpawnMode, run_scenario, run_sync
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
    "Leakage",
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
    "open_run",
    "parse",
    "plan_agent",
    "prepare_run",
    "read_log",
    "run_agent",
    "run_scenario",
    "run_sync",
    "score",
    "summaries",
    "write_compose",
    "write_dashboard",
]
