"""The attenuation gamma(k) and the random heterogeneous stepsize lambda(k) theta_i(k)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from agents import Attenuation, ConfigError, Stepsize


def test_attenuation_defaults() -> None:
    gamma = Attenuation()
    assert (gamma.gamma0, gamma.b, gamma.p, gamma.enabled) == (1.0, 0.1, 0.81, True)
    assert gamma(0) == 1.0
    for k in (1, 2, 10, 100, 12345):
        assert gamma(k) == pytest.approx(1 / (1 + 0.1 * k**0.81), rel=1e-15)
    assert gamma(1) == pytest.approx(1 / 1.1, rel=1e-15)


def test_attenuation_decreases_slowly() -> None:
    gamma = Attenuation()
    values = [gamma(k) for k in range(2000)]
    assert all(a > b for a, b in itertools.pairwise(values))
    # p < 1: gamma decays slower than 1/k, so k gamma(k) grows
    assert 1000 * gamma(1000) < 1999 * gamma(1999)


def test_attenuation_with_other_parameters() -> None:
    gamma = Attenuation(gamma0=0.5, b=2.0, p=1.0)
    assert gamma(0) == 0.5
    assert gamma(3) == pytest.approx(0.5 / 7, rel=1e-15)


@pytest.mark.parametrize("gamma0", [1.0, 0.25])
def test_disabled_attenuation_is_constant(gamma0: float) -> None:
    gamma = Attenuation(gamma0=gamma0, enabled=False)
    assert {gamma(k) for k in (0, 1, 7, 10**6)} == {gamma0}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"p": 0.5},
        {"p": 0.3},
        {"p": 1.01},
        {"p": 2.0},
        {"p": math.nan},
        {"b": 0.0},
        {"b": -0.1},
        {"b": math.nan},
        {"gamma0": 0.0},
        {"gamma0": 1.5},
        {"gamma0": -1.0},
        {"gamma0": math.nan},
    ],
    ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()),
)
def test_attenuation_refuses_bad_parameters(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Attenuation(**kwargs)


def test_stepsize_base_decays() -> None:
    step = Stepsize(lambda0=0.2)
    assert (step.decay, step.spread) == (0.5, 0.5)
    assert step.base(0) == 0.2
    assert step.base(2) == pytest.approx(0.1, rel=1e-15)
    bases = [step.base(k) for k in range(100)]
    assert all(a > b for a, b in itertools.pairwise(bases))
    assert Stepsize(lambda0=1.0, decay=2.0).base(4) == pytest.approx(1 / 9, rel=1e-15)


@pytest.mark.parametrize("spread", [0.5, 0.1, 0.9])
def test_stepsize_factor_has_mean_one_and_stays_in_its_interval(spread: float) -> None:
    step = Stepsize(lambda0=1.0, spread=spread)
    rng = np.random.default_rng(11)
    draws = np.array([step.draw_factor(rng) for _ in range(20_000)])
    assert draws.min() >= 1 - spread
    assert draws.max() <= 1 + spread
    standard_error = spread / math.sqrt(3 * draws.size)  # U[1-s, 1+s] has variance s^2/3
    assert abs(draws.mean() - 1) < 5 * standard_error
    # it does vary: heterogeneity is on
    assert draws.std() > spread / 2


def test_stepsize_factor_per_coordinate() -> None:
    step = Stepsize(lambda0=1.0, spread=0.5)
    factors = step.draw_factor(np.random.default_rng(5), 4000)
    assert isinstance(factors, np.ndarray)
    assert factors.shape == (4000,)
    assert np.all((factors >= 0.5) & (factors <= 1.5))
    assert abs(factors.mean() - 1) < 5 * 0.5 / math.sqrt(3 * 4000)


def test_zero_spread_gives_exactly_one_and_consumes_the_same_draws() -> None:
    flat = Stepsize(lambda0=1.0, spread=0.0)
    varied = Stepsize(lambda0=1.0, spread=0.5)
    rng_flat, rng_varied = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(100):
        assert flat.draw_factor(rng_flat) == 1.0
        varied.draw_factor(rng_varied)
    assert np.all(flat.draw_factor(rng_flat, 5) == 1.0)
    varied.draw_factor(rng_varied, 5)
    assert rng_flat.bit_generator.state == rng_varied.bit_generator.state


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lambda0": 0.0},
        {"lambda0": -1.0},
        {"lambda0": math.nan},
        {"lambda0": 1.0, "decay": 0.0},
        {"lambda0": 1.0, "decay": -0.5},
        {"lambda0": 1.0, "spread": 1.0},
        {"lambda0": 1.0, "spread": -0.1},
        {"lambda0": 1.0, "spread": math.nan},
    ],
    ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()),
)
def test_stepsize_refuses_bad_parameters(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Stepsize(**kwargs)
