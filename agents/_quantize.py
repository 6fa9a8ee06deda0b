"""Fixed-point encoding of real vectors into the integers Paillier works on.

``[v] = floor(v * 2^F + u)`` with ``u`` uniform on [0, 1) drawn from the agent's
private RNG (stochastic rounding, unbiased: E[v] = v * 2^F) or ``u = 1/2``
(deterministic round-to-nearest, biased per value). Signed integers map to
residues mod n (negatives as n - |v|; residues above n/2 read as negative).
Values that do not fit raise :class:`QuantizationOverflow`; nothing wraps.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._errors import ConfigError, QuantizationOverflow

FloatArray = npt.NDArray[np.float64]

FLOAT_EXACT = 2**52
"""Beyond this magnitude float64 cannot hold ``v * 2^F + u`` exactly."""


class Rounding(enum.StrEnum):
    STOCHASTIC = "stochastic"
    DETERMINISTIC = "deterministic"


@dataclass(frozen=True, kw_only=True, slots=True)
class Quantizer:
    """Fixed-point quantization with ``frac_bits`` fractional bits and a magnitude bound."""

    frac_bits: int
    rounding: Rounding = Rounding.STOCHASTIC
    bound: int = FLOAT_EXACT
    """Quantized magnitudes must stay strictly below this (set from the key size)."""

    def __post_init__(self) -> None:
        if not 0 <= self.frac_bits <= 48:
            raise ConfigError(f"frac_bits must be in [0, 48], got {self.frac_bits}")
        if not 1 <= self.bound <= FLOAT_EXACT:
            raise ConfigError(f"quantization bound must be in [1, 2**52], got {self.bound}")
        try:
            object.__setattr__(self, "rounding", Rounding(self.rounding))
        except ValueError:
            raise ConfigError(
                f"rounding must be stochastic or deterministic, got {self.rounding!r}"
            ) from None

    @property
    def scale(self) -> float:
        return float(2**self.frac_bits)

    @property
    def max_value(self) -> float:
        """The largest magnitude that is guaranteed to quantize without overflow."""
        return (self.bound - 1) / self.scale

    def quantize(self, values: npt.ArrayLike, rng: np.random.Generator) -> list[int]:
        """Quantize a vector. Always draws one uniform per coordinate from ``rng``, so
        the rest of the agent's random stream does not depend on the rounding mode."""
        v = np.asarray(values, dtype=np.float64)
        u = rng.random(v.shape)
        offset = u if self.rounding is Rounding.STOCHASTIC else 0.5
        if not np.all(np.isfinite(v)):
            raise QuantizationOverflow(f"cannot quantize non-finite values {v.tolist()}")
        with np.errstate(over="ignore"):  # a huge value becomes inf, caught just below
            q = np.floor(v * self.scale + offset)
        too_big = ~(np.abs(q) < self.bound)
        if np.any(too_big):
            i = int(np.flatnonzero(too_big)[0])
            raise QuantizationOverflow(
                f"coordinate {i} = {v.flat[i]:.6g} exceeds the fixed-point range "
                f"+-{self.max_value:.6g} ({self.frac_bits} fractional bits, bound {self.bound})"
            )
        return [int(x) for x in q.ravel()]

    def dequantize(self, ints: list[int], *, extra_bits: int = 0) -> FloatArray:
        """Integers back to reals, dividing by ``2^(F + extra_bits)``."""
        return np.array([x / 2 ** (self.frac_bits + extra_bits) for x in ints])


def to_residue(value: int, modulus: int) -> int:
    """A signed integer as a residue mod ``modulus``: the inverse of :func:`from_residue`,
    defined for -((modulus - 1) // 2) <= value <= modulus // 2."""
    if not -((modulus - 1) // 2) <= value <= modulus // 2:
        raise QuantizationOverflow(f"{value} does not fit a signed plaintext mod n")
    return value % modulus


def from_residue(residue: int, modulus: int) -> int:
    """Inverse of :func:`to_residue`: residues above n/2 read as negative."""
    return residue - modulus if residue > modulus // 2 else residue
