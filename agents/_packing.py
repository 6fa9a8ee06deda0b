"""Packing signed fixed-point integers into the slots of one Paillier plaintext.

A vector (v_0, ..., v_{s-1}) of signed integers becomes the signed integer

    m = v_0 + v_1 B + v_2 B^2 + ...        B = 2^slot_bits

Negative slots borrow from the next one; :meth:`SlotLayout.unpack` undoes that
by reading each slot as a signed residue mod B and carrying the rest (carry-aware
signed decoding). Because packing is linear, the protocol's homomorphic steps
(adding [x_j], multiplying by a weight) act on every slot at once, and decoding
stays exact as long as every slot's final magnitude stays below B/2 and the
whole value below n/2. :func:`layout_for` sizes the slots so that holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._errors import ConfigError, QuantizationOverflow


@dataclass(frozen=True, kw_only=True, slots=True)
class SlotLayout:
    """``slots`` signed slots of ``slot_bits`` bits each per plaintext."""

    slot_bits: int
    slots: int

    def __post_init__(self) -> None:
        if self.slot_bits < 2 or self.slots < 1:
            raise ConfigError(f"invalid slot layout {self.slots} x {self.slot_bits} bits")

    @property
    def limit(self) -> int:
        """Slot magnitudes must stay strictly below this: B / 2."""
        return 1 << (self.slot_bits - 1)

    def chunks(self, dim: int) -> int:
        """Plaintexts needed for a vector of ``dim`` values."""
        return -(-dim // self.slots)

    def pack(self, values: Sequence[int]) -> list[int]:
        """Signed integers, one per plaintext, ``slots`` values each (the last may be short)."""
        out = []
        for start in range(0, len(values), self.slots):
            m = 0
            for v in reversed(values[start : start + self.slots]):
                if not -self.limit < v < self.limit:
                    raise QuantizationOverflow(f"{v} does not fit a {self.slot_bits}-bit slot")
                m = (m << self.slot_bits) + v
            out.append(m)
        return out

    def unpack(self, packed: Sequence[int], dim: int) -> list[int]:
        """Inverse of :meth:`pack` for a vector of ``dim`` values."""
        if len(packed) != self.chunks(dim):
            raise QuantizationOverflow(
                f"expected {self.chunks(dim)} packed values, got {len(packed)}"
            )
        base, half = 1 << self.slot_bits, self.limit
        values: list[int] = []
        for i, whole in enumerate(packed):
            rest = whole
            for _ in range(min(self.slots, dim - i * self.slots)):
                slot = rest & (base - 1)
                if slot >= half:
                    slot -= base
                values.append(slot)
                rest = (rest - slot) >> self.slot_bits
            if rest != 0:
                raise QuantizationOverflow("packed value has bits beyond its last slot")
        return values


def layout_for(
    *, value_bound: int, weight_bound: int, modulus_bits: int, terms: int = 1
) -> SlotLayout:
    """Slots wide enough for a sum of ``terms`` values ``weight * (a - b)`` with
    |a|, |b| < value_bound and 0 < weight <= weight_bound, as many as fit in a plaintext
    of a modulus of ``modulus_bits`` bits (keeping the total below n/2).

    One reply: ``terms = 1`` and ``weight_bound`` the largest weight half. A sum over an
    agent's neighbours decrypted at once: ``terms`` its degree and ``weight_bound`` the
    largest product of two halves."""
    if terms < 1:
        raise ConfigError(f"a slot holds a sum of at least one term, got {terms}")
    product = 2 * value_bound * weight_bound * terms
    slot_bits = product.bit_length() + 1  # magnitude < 2^(slot_bits - 1)
    slots = (modulus_bits - 2) // slot_bits
    if slots < 1:
        raise ConfigError(
            f"a {modulus_bits}-bit key cannot hold one {slot_bits}-bit slot; "
            "use a larger key or fewer fractional bits"
        )
    return SlotLayout(slot_bits=slot_bits, slots=slots)
