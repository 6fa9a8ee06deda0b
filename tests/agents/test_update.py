"""The update rule's pure functions: the draw order, and the update itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents import AgentConfig, Journal, Record, Stepsize, StepsizeMode, WeightMode
from agents.runtime._update import (
    baseline_update,
    coupling_scale,
    draw_baseline,
    draw_edge,
    edge_coupling,
    edge_terms,
    edge_update,
    mixing_terms,
    shared_state,
    weighted,
)
from transport import TrafficCounters

SAMPLES = 10


def config(**overrides: Any) -> AgentConfig:
    settings: dict[str, Any] = {
        "run": "r",
        "agent_id": "a0",
        "neighbours": {"a2": 2, "a1": 3},
        "algorithm": "clear",
        "iterations": 5,
        "x0": (0.5, -1.0, 2.0),
        "seed": (1, 0),
        "stepsize": Stepsize(lambda0=0.1),
        "batch_size": 4,
    }
    settings.update(overrides)
    return AgentConfig(**settings)


def rng() -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([7, 7]))


@pytest.mark.parametrize("algorithm", ["clear", "paillier"])
@pytest.mark.parametrize("weights", [WeightMode.PER_EDGE, WeightMode.PER_COORDINATE])
@pytest.mark.parametrize("steps", [StepsizeMode.SCALAR, StepsizeMode.PER_COORDINATE])
def test_edge_draws_come_in_one_fixed_order(
    algorithm: str, weights: WeightMode, steps: StepsizeMode
) -> None:
    """Rounding, each weight half by neighbour id, stepsize factor, minibatch: the same
    for paillier and clear (the clear run reproduces the encrypted one)."""
    cfg = config(algorithm=algorithm, weight_mode=weights, stepsize_mode=steps)
    x = np.array(cfg.x0)
    quantizer = cfg.quantizer()
    draws = draw_edge(rng(), cfg, quantizer, x, SAMPLES)

    by_hand = rng()
    assert draws.quantized == quantizer.quantize(x, by_hand)
    low, high = cfg.weight_range
    per = 1 if weights is WeightMode.PER_EDGE else cfg.dim
    for n in ("a1", "a2"):
        expected = np.broadcast_to(by_hand.integers(low, high + 1, per), cfg.dim)
        assert draws.weights[n] == [int(w) for w in expected]
    assert list(draws.weights) == ["a1", "a2"]
    size = cfg.dim if steps is StepsizeMode.PER_COORDINATE else None
    np.testing.assert_array_equal(draws.theta, cfg.stepsize.draw_factor(by_hand, size))
    expected_batch = by_hand.choice(SAMPLES, size=cfg.batch_size, replace=False)
    np.testing.assert_array_equal(draws.batch, expected_batch)


def test_no_minibatch_draw_when_the_batch_is_the_whole_shard() -> None:
    cfg = config(batch_size=SAMPLES)
    first, second = rng(), rng()
    draws = draw_edge(first, cfg, cfg.quantizer(), np.array(cfg.x0), SAMPLES)
    assert draws.batch is None
    draw_edge(second, cfg, cfg.quantizer(), np.array(cfg.x0), SAMPLES)
    assert first.random() == second.random()


def test_baseline_draws_stepsize_factor_batch_then_noise() -> None:
    cfg = config(algorithm="dp", dp_noise=0.5)
    draws = draw_baseline(rng(), cfg, SAMPLES)
    by_hand = rng()
    assert draws.theta == cfg.stepsize.draw_factor(by_hand, None)
    np.testing.assert_array_equal(
        draws.batch, by_hand.choice(SAMPLES, size=cfg.batch_size, replace=False)
    )
    np.testing.assert_array_equal(draws.noise, by_hand.laplace(0.0, 0.5, cfg.dim))
    x = np.array(cfg.x0)
    np.testing.assert_array_equal(shared_state(cfg, x, draws.noise), x + draws.noise)
    plain = config(algorithm="plain", dp_noise=0.5)
    np.testing.assert_array_equal(shared_state(plain, x, draws.noise), x)


def test_edge_update_sums_integers_then_scales() -> None:
    cfg = config()
    scale = coupling_scale(cfg)
    assert scale == 2.0 ** (cfg.frac_bits + 2 * cfg.weight_bits)
    opened = {"a1": weighted([2, 3], [5, -7]), "a2": weighted([1, 1], [1, 1])}
    assert opened["a1"] == [10, -21]
    coupling = edge_coupling(opened, ["a1", "a2"], scale=scale, dim=2)
    np.testing.assert_array_equal(coupling, np.array([11.0, -20.0]) / scale)
    np.testing.assert_array_equal(edge_coupling(opened, [], scale=scale, dim=2), np.zeros(2))
    terms = edge_terms(opened, ["a2"], scale=scale, gamma=0.5)
    assert list(terms) == ["a2"]
    np.testing.assert_array_equal(terms["a2"], 0.5 * np.array([1.0, 1.0]) / scale)
    x, g, c = np.array([1.0, 2.0]), np.array([0.5, -0.5]), np.array([0.25, 0.0])
    x_next = edge_update(x, coupling, c, gamma=0.5, step=0.1, gradient=g)
    np.testing.assert_array_equal(x_next, x + 0.5 * coupling - 0.1 * g - c)


def test_baseline_update_uses_metropolis_weights() -> None:
    cfg = config(algorithm="plain")
    x = np.array([0.0, 0.0, 0.0])
    states = {"a2": np.array([3.0, 3.0, 3.0]), "a1": np.array([4.0, 0.0, 8.0])}
    terms = mixing_terms(cfg, x, states)
    assert list(terms) == ["a1", "a2"]
    np.testing.assert_array_equal(terms["a1"], states["a1"] / 4)  # 1 + max(2, 3)
    np.testing.assert_array_equal(terms["a2"], states["a2"] / 3)  # 1 + max(2, 2)
    g, c = np.ones(3), np.zeros(3)
    x_next = baseline_update(x, terms, ["a2"], c, step=0.5, gradient=g)
    np.testing.assert_array_equal(x_next, terms["a2"] - 0.5)


def test_journal_iteration_line(tmp_path: Path) -> None:
    path = tmp_path / "a0.jsonl"
    x = np.array([1.0, 2.0])
    traffic = TrafficCounters(3, 300, 4, 400, 0)
    with Journal(path) as journal:
        journal.write_iteration(
            1,
            x,
            agent="a0",
            objective=0.5,
            record=Record.STATE,
            stepsize=0.1,
            gamma=0.9,
            skipped=["a2"],
            traffic=traffic,
            crypto=0.25,
            wait=0.5,
            elapsed=1.0,
            compensated=[("a1", 0)],
            jumped=True,
        )
        journal.write_iteration(2, x, agent="a0", objective=0.5, record=Record.DIGEST)
    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert list(first) == [
        "k", "t", "agent", "objective", "stepsize", "gamma", "bytes_in", "bytes_out",
        "msgs_in", "msgs_out", "crypto_s", "wait_s", "compute_s", "skipped", "compensated",
        "jumped", "x",
    ]  # fmt: skip
    assert first["bytes_in"] == 400 and first["msgs_out"] == 3
    assert first["compute_s"] == 0.25
    assert first["compensated"] == [["a1", 0]] and first["x"] == [1.0, 2.0]
    assert "x" not in second and len(second["digest"]) == 16
    assert second["skipped"] == [] and second["bytes_in"] == 0 and "jumped" not in second
