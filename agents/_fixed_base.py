"""Fixed-base exponentiation by precomputed tables (DESIGN.md, Facts measured).

Every re-randomization with a published base h is ``h^t mod m`` for a fresh short
random t; the base and modulus stay the same for a whole run. A windowed table of
``h^(d 2^(w i))`` for every window position i and digit d turns each power into one
modular multiplication per non-zero window: 54 multiplications for a 320-bit t with
6-bit windows, against ~400 for a square-and-multiply ``powmod``.

A table is built from public numbers (h and m) in the process that uses it and never
leaves it. :class:`TableCache` keeps the tables of the bases in use within a byte
budget; once it is full, further bases are raised with ``powmod`` (never evicting: a
run cycles through all its keys every iteration, and an evicting cache smaller than
that cycle would rebuild every table on every use, 10x worse than no table).
"""

from __future__ import annotations

import gmpy2

WINDOW_BITS = 6
"""Bits of the exponent per table row: 6 is ~8x faster than powmod at 1.8 MB per table
for a 320-bit exponent mod a 4096-bit n^2."""
DEFAULT_BUDGET = 512 * 1024 * 1024
"""Bytes of tables a cache keeps at most: ~300 tables of 1.7 MiB (a 2048-bit neighbour
key's h mod n^2, or an own key's h mod p^2 and mod q^2 together)."""
MIN_USES = 2
"""Powers of a base computed with powmod before its table is built: a base used once
(a key generation's first encryption) is not worth 50 powmods' work."""


class FixedBaseTable:
    """``base^t mod modulus`` for ``0 <= t < 2^exponent_bits``."""

    __slots__ = ("_mask", "_modulus", "_rows", "_window", "exponent_bits")

    def __init__(
        self, base: int, modulus: int, *, exponent_bits: int, window: int = WINDOW_BITS
    ) -> None:
        if not 0 < base < modulus or exponent_bits < 1 or not 1 <= window <= 12:
            raise ValueError("fixed-base table: need 0 < base < modulus, exponent_bits >= 1")
        m = gmpy2.mpz(modulus)
        self._modulus = m
        self._window = window
        self._mask = (1 << window) - 1
        self.exponent_bits = exponent_bits
        rows = []
        step = gmpy2.mpz(base)  # base^(2^(w i)) for row i
        for _ in range(-(-exponent_bits // window)):
            row = [gmpy2.mpz(1), step]
            for _ in range(2, 1 << window):
                row.append(row[-1] * step % m)
            rows.append(tuple(row))
            step = row[-1] * step % m
        self._rows = tuple(rows)

    @property
    def nbytes(self) -> int:
        """Memory the table's numbers take (their limbs; Python's object headers aside)."""
        width: int = (self._modulus.bit_length() + 7) // 8
        return len(self._rows) * len(self._rows[0]) * width

    def power(self, exponent: int) -> int:
        if not 0 <= exponent < 1 << (len(self._rows) * self._window):
            raise ValueError(f"exponent outside the table's {self.exponent_bits} bits")
        m, mask, w = self._modulus, self._mask, self._window
        acc = gmpy2.mpz(1)
        for row in self._rows:
            if not exponent:
                break
            digit = exponent & mask
            if digit:
                acc = acc * row[digit] % m
            exponent >>= w
        return int(acc)


class TableCache:
    """The tables of the bases in use, by (base, modulus), within ``budget`` bytes (the
    first bases to be used twice get them; see the module docstring).

    ``power(base, modulus, t)`` is ``base^t mod modulus``: by the base's table once the
    base has been used ``MIN_USES`` times, by ``powmod`` before (and for an exponent too
    long for a table)."""

    def __init__(
        self, *, exponent_bits: int, budget: int = DEFAULT_BUDGET, window: int = WINDOW_BITS
    ) -> None:
        self.exponent_bits = exponent_bits
        self.budget = budget
        self._window = window
        self._tables: dict[tuple[int, int], FixedBaseTable] = {}
        self._uses: dict[tuple[int, int], int] = {}
        self.nbytes = 0
        self.built = 0

    def table_bytes(self, modulus: int) -> int:
        """What one table for ``modulus`` takes (see :attr:`FixedBaseTable.nbytes`)."""
        rows = -(-self.exponent_bits // self._window)
        return rows * (1 << self._window) * ((int(modulus).bit_length() + 7) // 8)

    def __len__(self) -> int:
        return len(self._tables)

    def table(self, base: int, modulus: int) -> FixedBaseTable | None:
        """The base's table, building it on its ``MIN_USES``-th use (None before)."""
        ident = (int(base), int(modulus))
        table = self._tables.get(ident)
        if table is not None:
            return table
        uses = self._uses.get(ident, 0) + 1
        if uses < MIN_USES:
            if len(self._uses) > 4 * (len(self._tables) + 64):  # forget one-off bases
                self._uses.clear()
            self._uses[ident] = uses
            return None
        self._uses.pop(ident, None)
        if self.nbytes + self.table_bytes(modulus) > self.budget:
            return None
        table = FixedBaseTable(base, modulus, exponent_bits=self.exponent_bits, window=self._window)
        self._tables[ident] = table
        self.nbytes += table.nbytes
        self.built += 1
        return table

    def power(self, base: int, modulus: int, exponent: int) -> int:
        if exponent.bit_length() <= self.exponent_bits:
            table = self.table(base, modulus)
            if table is not None:
                return table.power(exponent)
        return int(gmpy2.powmod(base, exponent, modulus))
