"""Synthetic problems and the one CSV shape of the first version, with x* computed
centrally (for evaluation only: agents never see it)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from agents import LeastSquares, Logistic

from .._errors import BadInput
from ._problem import FloatArray, Problem


def least_squares(
    agents: int, dim: int, *, samples: int, noise: float, heterogeneity: float, seed: int
) -> Problem:
    """f_i(x) = (1/2m)||A_i x - b_i||^2 with b_i = A_i (x_true + delta_i) + noise.

    Each agent's features have their own scale and offset and its targets their
    own shift delta_i ~ N(0, heterogeneity^2 I), so the local minimizers differ.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1E57]))
    x_true = rng.normal(size=dim)
    objectives = []
    for _ in range(agents):
        scale = rng.uniform(0.5, 1.5)
        offset = rng.normal(0.0, 0.5, size=dim)
        a = offset + scale * rng.normal(size=(samples, dim))
        delta = rng.normal(0.0, heterogeneity, size=dim)
        b = a @ (x_true + delta) + noise * rng.normal(size=samples)
        objectives.append(LeastSquares(a, b))
    hessian = sum(f.normal_equations()[0] for f in objectives)
    rhs = sum(f.normal_equations()[1] for f in objectives)
    x_star = np.linalg.solve(hessian, rhs).astype(np.float64)
    return Problem(tuple(objectives), x_star)


def logistic(
    agents: int, dim: int, *, samples: int, l2: float, heterogeneity: float, seed: int
) -> Problem:
    """Synthetic binary classification with agent-specific feature shifts."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7061]))
    w = rng.normal(size=dim)
    shards = []
    for _ in range(agents):
        a = rng.normal(0.0, heterogeneity, size=dim) + rng.normal(size=(samples, dim))
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        y = np.where(rng.random(samples) < p, 1.0, -1.0)
        shards.append((a, y))
    return _logistic_problem(shards, l2)


def logistic_csv(path: Path, agents: int, *, label: str | None, l2: float, seed: int) -> Problem:
    """Rows of a CSV file (numeric features and a 0/1 or -1/+1 label) dealt to agents
    at random with the scenario's seed. ``label`` names the label column (default: last)."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except OSError as exc:
        raise BadInput(f"problem.csv: cannot read {path}: {exc.strerror}") from exc
    if len(rows) < 2:
        raise BadInput(f"problem.csv: {path} needs a header and at least one row")
    header, body = rows[0], rows[1:]
    column = len(header) - 1 if label is None else _column(header, label, path)
    try:
        table = np.array([[float(v) for v in row] for row in body], dtype=np.float64)
    except ValueError as exc:
        raise BadInput(f"problem.csv: {path}: non-numeric value ({exc})") from exc
    if table.ndim != 2 or table.shape[1] != len(header):
        raise BadInput(f"problem.csv: {path}: rows do not all have {len(header)} columns")
    y = table[:, column]
    y = np.where(y > 0, 1.0, -1.0) if set(np.unique(y)) <= {0.0, 1.0} else y
    if not set(np.unique(y)) <= {-1.0, 1.0}:
        raise BadInput(f"problem.csv: {path}: labels must be 0/1 or -1/+1")
    features = np.delete(table, column, axis=1)
    if features.shape[0] < agents:
        raise BadInput(f"problem.csv: {path} has {features.shape[0]} rows for {agents} agents")
    order = np.random.default_rng(seed).permutation(features.shape[0])
    shards = [(features[idx], y[idx]) for idx in np.array_split(order, agents)]
    return _logistic_problem(shards, l2)


def _column(header: Sequence[str], label: str, path: Path) -> int:
    try:
        return list(header).index(label)
    except ValueError:
        raise BadInput(f"problem.label: no column {label!r} in {path}") from None


def _logistic_problem(shards: list[tuple[FloatArray, FloatArray]], l2: float) -> Problem:
    objectives = tuple(Logistic(a, y, l2) for a, y in shards)
    return Problem(objectives, _newton(objectives))


def _newton(objectives: Sequence[Logistic], *, tol: float = 1e-12, steps: int = 100) -> FloatArray:
    """Minimize sum_i f_i by damped Newton steps (F is strongly convex when l2 > 0)."""
    dim = objectives[0].dim
    x = np.zeros(dim)

    def total(z: FloatArray) -> float:
        return sum(f.value(z) for f in objectives)

    for _ in range(steps):
        g = sum(f.gradient(x) for f in objectives)
        h = np.zeros((dim, dim))
        for f in objectives:
            s = 1.0 / (1.0 + np.exp(-f.labels * (f.features @ x)))
            h += (f.features.T * (s * (1 - s))) @ f.features / f.samples + f.l2 * np.eye(dim)
        step = np.linalg.solve(h, g)
        t, fx = 1.0, total(x)
        while total(x - t * step) > fx - 0.25 * t * float(g @ step) and t > 1e-10:
            t /= 2
        x = x - t * step
        if float(np.linalg.norm(g)) < tol:
            break
    return x
