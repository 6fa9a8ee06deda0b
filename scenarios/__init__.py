"""Scenario files and their runner: spawning, metrics, the ``hemesh`` CLI."""

from ._assembly import agent_configs, agent_id, build_graph, build_problem
from ._cli import app, main
from ._errors import ScenarioError
from ._metrics import AgentLog, Run, Series, read_log
from ._problems import Problem, least_squares, logistic, logistic_csv
from ._rundir import RunDir, find_runs
from ._runner import RunResult, run_scenario
from ._schema import Scenario, load, parse

__all__ = [
    "AgentLog",
    "Problem",
    "Run",
    "RunDir",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Series",
    "agent_configs",
    "agent_id",
    "app",
    "build_graph",
    "build_problem",
    "find_runs",
    "least_squares",
    "load",
    "logistic",
    "logistic_csv",
    "main",
    "parse",
    "read_log",
    "run_scenario",
]
