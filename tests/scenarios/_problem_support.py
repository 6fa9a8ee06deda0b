"""Helpers of the real-problem tests: scenario documents with small insecure keys on the
in-memory transport, runs through ``run_scenario``, network-average accuracies."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from scenarios import Run, RunResult, parse, run_scenario
from scenarios.spec import Scenario, resolve_paths

INSECURE_TEST_BITS = 256
EXAMPLES = Path(__file__).parents[2] / "scenarios" / "examples"
REAL_EXAMPLES = (
    "breast_cancer_logistic.toml",
    "digits_softmax.toml",
    "sites_csv.toml",
    "wine_mlp.toml",
    "python_objective.toml",
)


CSV_SCENARIO = """
name = "bad"
[topology]
kind = "ring"
n = 4
[problem]
kind = "logistic"
data = "data.csv"
label = "y"
[crypto]
key_bits = 256
insecure_keys = true
[transport]
kind = "memory"
"""
"""A logistic problem on ``data.csv`` beside the scenario (the bad-data tests write it)."""
GOOD_ROWS = "1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,10,0\n11,12,1\n"
"""Six well-formed rows of ``a,b,y`` for that file."""


def quick(doc: dict[str, Any], out: Path, **top: Any) -> dict[str, Any]:
    """``doc`` with small keys, the in-memory transport, output under ``out``."""
    return {
        **doc,
        **top,
        "crypto": {"key_bits": INSECURE_TEST_BITS, "insecure_keys": True, "inline": True},
        "transport": {"kind": "memory", "round_timeout": 30},
        "output": {"dir": str(out)},
    }


def example(
    name: str, out: Path, *, algorithm: dict[str, Any] | None = None, **top: Any
) -> Scenario:
    """An example scenario file, read as ``hemesh run`` reads it, with :func:`quick`'s
    overrides, ``top`` (e.g. ``iterations``) and ``algorithm`` entries replaced."""
    path = EXAMPLES / name
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    doc["algorithm"] = {**doc.get("algorithm", {}), **(algorithm or {})}
    return resolve_paths(parse(quick(doc, out, **top), source=str(path)), path.parent)


def run(scenario: Scenario) -> list[RunResult]:
    return asyncio.run(run_scenario(scenario))


def final_states(result: RunResult) -> tuple[Run, np.ndarray]:
    """The run loaded and every agent's state at the last logged iteration, (N, d)."""
    loaded = Run.load(result.run)
    _, states = loaded.states()
    return loaded, states[-1]


def accuracies(result: RunResult) -> tuple[float, list[float]]:
    """The network-average model's test accuracy and each agent's, at the last iteration."""
    loaded, x = final_states(result)
    problem = loaded.problem
    mean = problem.evaluate(x.mean(axis=0))["test_accuracy"]
    return mean, [problem.evaluate(xi)["test_accuracy"] for xi in x]
