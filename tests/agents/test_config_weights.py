"""Weight ranges per edge: one a_max for every edge, or one per neighbour (degree-aware)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from agents import AgentConfig, ConfigError, Stepsize, WeightMode
from agents.runtime._update import draw_edge

NEIGHBOURS = {"a1": 3, "a2": 1, "a3": 2}


def config(**overrides: Any) -> AgentConfig:
    settings: dict[str, Any] = {
        "run": "r",
        "agent_id": "a0",
        "neighbours": NEIGHBOURS,
        "algorithm": "clear",
        "iterations": 5,
        "x0": (0.5, -1.0, 2.0),
        "seed": (1, 0),
        "stepsize": Stepsize(lambda0=0.1),
    }
    settings.update(overrides)
    return AgentConfig(**settings)


def degree_aware(budget: float = 0.9) -> dict[str, float]:
    """a_max_ij^2 = budget / max(d_i, d_j); this agent's degree is 3."""
    return {n: math.sqrt(budget / max(3, d)) for n, d in NEIGHBOURS.items()}


def test_a_mapping_gives_each_edge_its_own_range() -> None:
    cfg = config(a_max={"a1": 0.2, "a2": 0.4, "a3": 0.3})
    assert cfg.weight_range_for("a1") == (6554, 13107)
    assert cfg.weight_range_for("a2") == (13107, 26214)
    assert cfg.weight_range == (6554, 26214)  # the widest sizes quantizer and slots
    assert cfg.a_max_for("a3") == 0.3


def test_a_single_value_and_the_same_value_per_edge_draw_the_same_numbers() -> None:
    one = config(a_max=0.5)
    each = config(a_max=dict.fromkeys(NEIGHBOURS, 0.5))
    x = np.array(one.x0)
    draws = [
        draw_edge(np.random.default_rng(3), c, c.quantizer(), x, samples=10) for c in (one, each)
    ]
    assert draws[0].weights == draws[1].weights
    assert one.quantizer() == each.quantizer()


@pytest.mark.parametrize("mode", [WeightMode.PER_EDGE, WeightMode.PER_COORDINATE])
def test_every_drawn_half_lies_in_its_own_edges_range(mode: WeightMode) -> None:
    cfg = config(a_max={"a1": 0.1, "a2": 0.5, "a3": 0.3}, weight_mode=mode)
    x = np.array(cfg.x0)
    rng = np.random.default_rng(5)
    for _ in range(50):
        draws = draw_edge(rng, cfg, cfg.quantizer(), x, samples=10)
        for neighbour, halves in draws.weights.items():
            low, high = cfg.weight_range_for(neighbour)
            assert all(low <= w <= high for w in halves), neighbour


def test_degree_aware_ranges_keep_the_sum_below_one_over_gamma0() -> None:
    cfg = config(a_max=degree_aware(), algorithm="paillier", insecure_keys=True, key_bits=256)
    assert sum(cfg.a_max_for(n) ** 2 for n in NEIGHBOURS) < 1


def test_the_stability_check_sums_over_the_edges() -> None:
    # each edge alone is fine (0.55^2 < 1), their sum over three edges is not
    with pytest.raises(ConfigError, match="sum over neighbours of a_max"):
        config(a_max=dict.fromkeys(NEIGHBOURS, 0.6))


@pytest.mark.parametrize(
    ("a_max", "message"),
    [
        ({"a1": 0.3, "a2": 0.3}, "a_max names"),
        ({"a1": 0.3, "a2": 0.3, "a3": 0.3, "a9": 0.3}, "a_max names"),
        ({"a1": 0.3, "a2": 0.0, "a3": 0.3}, "not representable"),
        ({"a1": 0.3, "a2": float("nan"), "a3": 0.3}, "not representable"),
    ],
)
def test_a_bad_mapping_is_refused(a_max: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(a_max=a_max)


def test_the_mapping_cannot_be_changed_afterwards() -> None:
    cfg = config(a_max={"a1": 0.2, "a2": 0.4, "a3": 0.3})
    assert isinstance(cfg.a_max, dict) is False
    with pytest.raises(TypeError):
        cfg.a_max["a1"] = 0.9  # type: ignore[index]
