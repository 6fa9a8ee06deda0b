"""The update rule, as pure functions (DESIGN.md, The algorithm and Baselines).

Edge protocol (paillier and clear, one code path and one draw order)::

    x_i(k+1) = x_i(k) + gamma(k) sum_j a_ij(k) ([x_j(k)] - [x_i(k)]) - lambda_i(k) g_i(x_i(k))

Baselines (plain, dp)::

    x_i(k+1) = x_i(k) + sum_j w_ij (x~_j(k) - x_i(k)) - lambda(k) g_i(x_i(k))

with Metropolis weights w_ij and x~_j = x_j (+ Laplace noise for dp). Every
function returns the draws or the numbers and changes nothing else; the order in
which :func:`draw_edge` and :func:`draw_baseline` consume the agent's private
generator is part of the trajectories (paillier and clear draw exactly the same).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._config import AgentConfig, Algorithm, StepsizeMode, WeightMode
from .._errors import Diverged
from .._quantize import Quantizer
from ..objectives import FloatArray, IndexArray

Theta = float | FloatArray
"""The private stepsize factor: a scalar, or one per coordinate."""
Batch = IndexArray | None
"""The minibatch's sample indices; None: the whole shard."""


@dataclass(frozen=True, kw_only=True, slots=True)
class EdgeDraws:
    """Every private draw of one edge-protocol iteration."""

    quantized: list[int]
    weights: dict[str, list[int]]
    """This agent's quantized weight halves [a_ij], per neighbour (one per coordinate)."""
    theta: Theta
    batch: Batch


@dataclass(frozen=True, kw_only=True, slots=True)
class BaselineDraws:
    """Every private draw of one baseline iteration."""

    theta: Theta
    """Drawn to keep the generator's sequence; the baselines' stepsize is public."""
    batch: Batch
    noise: FloatArray | float


def draw_step(rng: np.random.Generator, config: AgentConfig, samples: int) -> tuple[Theta, Batch]:
    """The stepsize factor, then the minibatch (none if it would be the whole shard)."""
    size = config.dim if config.stepsize_mode is StepsizeMode.PER_COORDINATE else None
    theta = config.stepsize.draw_factor(rng, size)
    if config.batch_size >= samples:
        return theta, None
    return theta, rng.choice(samples, size=config.batch_size, replace=False)


def draw_edge(
    rng: np.random.Generator,
    config: AgentConfig,
    quantizer: Quantizer,
    x: FloatArray,
    samples: int,
) -> EdgeDraws:
    """Iteration k's draws, in this fixed order: the stochastic rounding of x, each
    neighbour's weight half (sorted by id), the stepsize factor, the minibatch."""
    quantized = quantizer.quantize(x, rng)
    per = 1 if config.weight_mode is WeightMode.PER_EDGE else config.dim
    weights = {}
    for n in sorted(config.neighbours):
        low, high = config.weight_range_for(n)
        weights[n] = [int(w) for w in np.broadcast_to(rng.integers(low, high + 1, per), config.dim)]
    theta, batch = draw_step(rng, config, samples)
    return EdgeDraws(quantized=quantized, weights=weights, theta=theta, batch=batch)


def draw_baseline(rng: np.random.Generator, config: AgentConfig, samples: int) -> BaselineDraws:
    """A baseline iteration's draws: the stepsize factor, the minibatch, then (if
    ``dp_noise`` is set) the Laplace noise."""
    theta, batch = draw_step(rng, config, samples)
    noise = rng.laplace(0.0, config.dp_noise, config.dim) if config.dp_noise > 0 else 0.0
    return BaselineDraws(theta=theta, batch=batch, noise=noise)


def shared_state(config: AgentConfig, x: FloatArray, noise: FloatArray | float) -> FloatArray:
    """What a baseline agent sends: x, plus the noise for dp."""
    return x + noise if config.algorithm is Algorithm.DP else x


def coupling_scale(config: AgentConfig) -> float:
    """2^(F + 2W): a decrypted reply times [a_ij] is x scaled by this."""
    return 2.0 ** (config.frac_bits + 2 * config.weight_bits)


def weighted(weights: Sequence[int], decrypted: Sequence[int]) -> list[int]:
    """[a_ij] [a_ji] ([x_j] - [x_i]): a decrypted reply times this agent's own half."""
    return [a * v for a, v in zip(weights, decrypted, strict=True)]


def edge_coupling(
    opened: Mapping[str, list[int]], used: Sequence[str], *, scale: float, dim: int
) -> FloatArray:
    """sum_j a_ij ([x_j] - [x_i]) over the used neighbours, summed as integers."""
    total = [sum(column) for column in zip(*(opened[n] for n in used), strict=True)]
    return scaled_sum(total or [0] * dim, scale=scale)


def scaled_sum(total: Sequence[int], *, scale: float) -> FloatArray:
    """The integer sum sum_j [a_ij][a_ji]([x_j] - [x_i]) as the coupling: scaled once
    (whether summed after decrypting each reply or decrypted as a sum, the same floats)."""
    return np.array(total, dtype=np.float64) / scale


def edge_term(opened: Sequence[int], *, scale: float, gamma: float) -> FloatArray:
    """One neighbour's term gamma a_ij ([x_j] - [x_i]) from its weighted reply."""
    result: FloatArray = gamma * (np.array(opened, dtype=np.float64) / scale)
    return result


def edge_terms(
    opened: Mapping[str, list[int]], used: Sequence[str], *, scale: float, gamma: float
) -> dict[str, FloatArray]:
    """Each used neighbour's term gamma a_ij ([x_j] - [x_i]), as a late notice undoes it."""
    return {n: edge_term(opened[n], scale=scale, gamma=gamma) for n in used}


def edge_update(
    x: FloatArray,
    coupling: FloatArray,
    correction: FloatArray,
    *,
    gamma: float,
    step: Theta,
    gradient: FloatArray,
) -> FloatArray:
    """x + gamma coupling - lambda_i g_i - correction (``step``: lambda_i(k))."""
    result: FloatArray = x + gamma * coupling - step * gradient - correction
    return result


def check_state(config: AgentConfig, k: int, x: FloatArray) -> None:
    """Raise :class:`Diverged` if the state ``x`` (logged as iteration ``k``) has a
    non-finite coordinate or one beyond ``config.max_state`` in magnitude."""
    if x.size == 0:
        return
    largest = float(np.max(np.abs(x)))
    if not largest <= config.max_state:  # NaN compares false
        value = float("nan") if np.isnan(x).any() else largest
        raise Diverged(config.agent_id, k, value, config.max_state)


def mixing_terms(
    config: AgentConfig, x: FloatArray, states: Mapping[str, FloatArray]
) -> dict[str, FloatArray]:
    """Each neighbour's Metropolis term w_ij (x~_j - x_i), by neighbour id."""
    degree = len(config.neighbours)
    return {n: (states[n] - x) / (1 + max(degree, config.neighbours[n])) for n in sorted(states)}


def baseline_update(
    x: FloatArray,
    terms: Mapping[str, FloatArray],
    used: Sequence[str],
    correction: FloatArray,
    *,
    step: float,
    gradient: FloatArray,
) -> FloatArray:
    """x + sum of the used terms - lambda g_i - correction (``step``: lambda(k))."""
    mixing = np.zeros(len(x))
    for n in used:
        mixing += terms[n]
    result: FloatArray = x + mixing - step * gradient - correction
    return result


def edge_observation(
    k: int,
    config: AgentConfig,
    x: FloatArray,
    draws: EdgeDraws,
    *,
    decrypted: Mapping[str, list[int]],
    used: list[str],
    gamma: float,
) -> dict[str, Any]:
    """What an edge-protocol agent knows of iteration k (for an observer)."""
    return {
        "k": k,
        "agent": config.agent_id,
        "x": x.tolist(),
        "quantized": draws.quantized,
        "weights": {n: draws.weights[n] for n in sorted(config.neighbours)},
        "decrypted": decrypted,
        "used": used,
        "gamma": gamma,
    }


def baseline_observation(
    k: int, config: AgentConfig, x: FloatArray, states: Mapping[str, FloatArray], used: list[str]
) -> dict[str, Any]:
    """What a baseline agent knows of iteration k (for an observer)."""
    return {
        "k": k,
        "agent": config.agent_id,
        "x": x.tolist(),
        "states": {n: states[n].tolist() for n in sorted(states)},
        "used": used,
    }


def listify(value: Theta) -> float | list[float]:
    """A stepsize as a journal holds it."""
    return value.tolist() if isinstance(value, np.ndarray) else float(value)
