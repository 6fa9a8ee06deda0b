"""From a scenario to plain values: the graph, each agent's data and x* (the problem),
and each agent's configuration."""

from ._configs import LAMBDA_GAIN, agent_configs, build_graph, build_problem
from ._problem import FloatArray, HeldOut, Problem
from ._synthetic import least_squares, logistic, logistic_csv

__all__ = [
    "LAMBDA_GAIN",
    "FloatArray",
    "HeldOut",
    "Problem",
    "agent_configs",
    "build_graph",
    "build_problem",
    "least_squares",
    "logistic",
    "logistic_csv",
]
