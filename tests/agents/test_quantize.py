"""Fixed-point encoding: stochastic/deterministic rounding, overflow, signed residues."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import ConfigError, QuantizationOverflow, Quantizer, Rounding, from_residue, to_residue

# |v| * 2^F stays far below 2^52, where float64 holds v * 2^F + u exactly enough.
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
vectors = st.lists(finite, min_size=1, max_size=12)
frac_bits = st.integers(min_value=0, max_value=24)
seeds = st.integers(min_value=0, max_value=2**32 - 1)


def exact_scaled(values: list[float], bits: int) -> list[float]:
    # multiplying by a power of two is exact in float64 (no overflow at these sizes)
    return [v * 2.0**bits for v in values]


@settings(max_examples=200)
@given(values=vectors, bits=frac_bits, seed=seeds)
def test_stochastic_rounding_lands_on_a_neighbouring_integer(
    values: list[float], bits: int, seed: int
) -> None:
    q = Quantizer(frac_bits=bits).quantize(values, np.random.default_rng(seed))
    assert len(q) == len(values)
    for got, scaled in zip(q, exact_scaled(values, bits), strict=True):
        assert isinstance(got, int)
        assert math.floor(scaled) <= got <= math.ceil(scaled)
        assert abs(got - scaled) < 1


@settings(max_examples=200)
@given(values=vectors, bits=frac_bits, seed=seeds)
def test_deterministic_rounding_is_within_half(values: list[float], bits: int, seed: int) -> None:
    quantizer = Quantizer(frac_bits=bits, rounding=Rounding.DETERMINISTIC)
    first = quantizer.quantize(values, np.random.default_rng(seed))
    again = quantizer.quantize(values, np.random.default_rng(seed + 1))
    assert first == again  # the RNG does not matter
    for got, scaled in zip(first, exact_scaled(values, bits), strict=True):
        assert abs(got - scaled) <= 0.5


@settings(max_examples=100)
@given(values=vectors, bits=frac_bits, seed=seeds)
def test_dequantize_is_within_one_ulp(values: list[float], bits: int, seed: int) -> None:
    quantizer = Quantizer(frac_bits=bits)
    back = quantizer.dequantize(quantizer.quantize(values, np.random.default_rng(seed)))
    assert np.all(np.abs(back - np.array(values)) < 2.0**-bits)


def test_stochastic_rounding_is_unbiased() -> None:
    bits = 3
    v = np.array([0.3, -1.7, 0.123456789, 2.0**-10, -(2.0**-10), 5.0, -0.0625 + 1e-9])
    draws = 20_000
    q = np.array(Quantizer(frac_bits=bits).quantize(np.tile(v, draws), np.random.default_rng(7)))
    q = q.reshape(draws, v.size)
    target = v * 2**bits
    p = target - np.floor(target)  # probability of rounding up
    standard_error = np.sqrt(p * (1 - p) / draws)
    assert np.all(np.abs(q.mean(axis=0) - target) <= 5 * standard_error + 1e-12)
    # integers are exact: 5.0 * 2^3 never moves
    assert np.all(q[:, 5] == 40)


def test_deterministic_rounding_is_biased() -> None:
    # the reason the design asks for stochastic rounding: a constant error never averages out
    v = np.full(1000, 0.3)
    # a string names the mode too (the config edge's form)
    quantizer = Quantizer(frac_bits=0, rounding="deterministic")  # type: ignore[arg-type]
    q = quantizer.quantize(v, np.random.default_rng(1))
    assert set(q) == {0}
    assert abs(np.mean(q) - 0.3) > 0.29


@settings(max_examples=100)
@given(
    data=st.data(),
    bits=frac_bits,
    magnitude=st.floats(min_value=1.0, max_value=1e6).flatmap(lambda f: st.sampled_from([f, -f])),
    rounding=st.sampled_from(list(Rounding)),
    seed=seeds,
)
def test_overflow_names_the_coordinate(
    data: st.DataObject, bits: int, magnitude: float, rounding: Rounding, seed: int
) -> None:
    size = data.draw(st.integers(min_value=1, max_value=8))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    bound = 2**20
    quantizer = Quantizer(frac_bits=bits, bound=bound, rounding=rounding)
    values = np.zeros(size)
    values[index] = magnitude * bound / 2**bits  # |v| * 2^F >= bound
    with pytest.raises(QuantizationOverflow, match=rf"coordinate {index}\b"):
        quantizer.quantize(values, np.random.default_rng(seed))


@settings(max_examples=300)
@given(
    values=st.lists(
        st.floats(min_value=-3.0, max_value=3.0, allow_nan=False), min_size=1, max_size=8
    ),
    bound=st.integers(min_value=1, max_value=64),
    rounding=st.sampled_from(list(Rounding)),
    seed=seeds,
)
def test_never_wraps(values: list[float], bound: int, rounding: Rounding, seed: int) -> None:
    # either every coordinate fits strictly inside the bound, or the call raises
    quantizer = Quantizer(frac_bits=4, bound=bound, rounding=rounding)
    try:
        q = quantizer.quantize(values, np.random.default_rng(seed))
    except QuantizationOverflow:
        assert any(abs(v) * 16 >= bound - 1 for v in values)
        return
    for got, v in zip(q, values, strict=True):
        assert abs(got) < bound
        assert abs(got - v * 16) < 1


@pytest.mark.parametrize("rounding", list(Rounding))
def test_max_value_fits_and_one_ulp_more_does_not(rounding: Rounding) -> None:
    quantizer = Quantizer(frac_bits=8, bound=2**30, rounding=rounding)
    rng = np.random.default_rng(3)
    edge = quantizer.max_value
    assert quantizer.quantize([edge, -edge], rng) == [2**30 - 1, -(2**30 - 1)]
    with pytest.raises(QuantizationOverflow, match="coordinate 1"):
        quantizer.quantize([0.0, -(2**30) / 256], rng)
    with pytest.raises(QuantizationOverflow, match="coordinate 0"):
        quantizer.quantize([2**30 / 256 + 1, 0.0], rng)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("rounding", list(Rounding))
def test_non_finite_values_are_refused(bad: float, rounding: Rounding) -> None:
    quantizer = Quantizer(frac_bits=24, rounding=rounding)
    with pytest.raises(QuantizationOverflow):
        quantizer.quantize([0.5, bad, 1.0], np.random.default_rng(0))


@pytest.mark.parametrize("rounding", list(Rounding))
def test_huge_finite_value_is_refused_without_a_numpy_warning(rounding: Rounding) -> None:
    # 1e308 * 2^24 overflows float64 inside quantize(); the caller must get
    # QuantizationOverflow, not a RuntimeWarning (an error under filterwarnings=error)
    quantizer = Quantizer(frac_bits=24, rounding=rounding)
    with pytest.raises(QuantizationOverflow, match="coordinate 1"):
        quantizer.quantize([0.5, -1e308, 1.0], np.random.default_rng(0))


@settings(max_examples=100)
@given(values=vectors, bits=frac_bits, seed=seeds)
def test_one_uniform_per_coordinate_whatever_the_rounding(
    values: list[float], bits: int, seed: int
) -> None:
    stochastic = np.random.default_rng(seed)
    deterministic = np.random.default_rng(seed)
    reference = np.random.default_rng(seed)
    Quantizer(frac_bits=bits).quantize(values, stochastic)
    Quantizer(frac_bits=bits, rounding=Rounding.DETERMINISTIC).quantize(values, deterministic)
    reference.random(len(values))
    assert stochastic.bit_generator.state == reference.bit_generator.state
    assert deterministic.bit_generator.state == reference.bit_generator.state
    # and the next draw is the same in all three streams
    assert stochastic.random() == deterministic.random() == reference.random()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"frac_bits": -1},
        {"frac_bits": 49},
        {"frac_bits": 8, "bound": 0},
        {"frac_bits": 8, "bound": 2**52 + 1},
        {"frac_bits": 8, "rounding": "nearest"},
    ],
)
def test_quantizer_refuses_bad_parameters(kwargs: dict[str, Any]) -> None:
    # the package's own error, so a caller catching ConfigError sees every bad value
    with pytest.raises(ConfigError):
        Quantizer(**kwargs)


# --- signed residues --------------------------------------------------------------------

# a Paillier modulus is odd; an even modulus is tested too since the helpers take any
MODULI = [
    2**255 + 2**200 + 1,  # odd, 256 bits
    101,
    2**64,  # even
]
MODULUS_IDS = ["odd-256-bit", "odd-101", "even-2^64"]


@settings(max_examples=300)
@given(data=st.data(), modulus=st.sampled_from(MODULI))
def test_residue_round_trip_inside_the_signed_range(data: st.DataObject, modulus: int) -> None:
    # the ends of the range are checked on their own below
    half = modulus // 2
    low = -half + 1
    value = data.draw(st.integers(min_value=low, max_value=half))
    residue = to_residue(value, modulus)
    assert 0 <= residue < modulus
    assert residue % modulus == value % modulus
    assert from_residue(residue, modulus) == value


@pytest.mark.parametrize("modulus", MODULI, ids=MODULUS_IDS)
def test_residue_round_trip_at_both_limits(modulus: int) -> None:
    # the signed range holds `modulus` values: [-(n-1)/2, (n-1)/2] for odd n,
    # (-n/2, n/2] for even n; both ends must round-trip
    half = modulus // 2
    low = -half if modulus % 2 else -half + 1
    for value in (low, low + 1, -1, 0, 1, half - 1, half):
        assert from_residue(to_residue(value, modulus), modulus) == value


@pytest.mark.parametrize("modulus", MODULI, ids=MODULUS_IDS)
def test_every_residue_reads_back_as_a_signed_value_that_encodes_to_it(modulus: int) -> None:
    half = modulus // 2
    for residue in (0, 1, half - 1, half, half + 1, half + 2, modulus - 1):
        assert to_residue(from_residue(residue, modulus), modulus) == residue


@pytest.mark.parametrize("modulus", MODULI, ids=MODULUS_IDS)
def test_residue_refuses_values_beyond_the_limits(modulus: int) -> None:
    half = modulus // 2
    beyond = [half + 1, -half - 1, modulus, -modulus, 10 * modulus]
    for value in beyond:
        with pytest.raises(QuantizationOverflow):
            to_residue(value, modulus)
