"""Paillier arithmetic on raw integers, with gmpy2 (keys come from phe).

Only what the edge protocol needs, on plaintext residues the caller quantized
itself (phe's float encoding would send the exponent in clear):

- owner-side encryption with CRT (the key owner knows p and q),
- the neighbour's step ``(c * g^m)^a * r^n mod n^2`` with a fresh obfuscator,
- CRT decryption, of one reply or of the weighted product of several
  (:func:`aggregate`: one decryption for the sum over an agent's neighbours),
- validation of a ciphertext received from the network (phe does none).

All randomness comes from the OS (:mod:`secrets`). The functions take plain ints
and change nothing but an optional :class:`~agents._fixed_base.TableCache` of
fixed-base tables (the caller's, kept in the process that computes), so they run the
same inline or in a crypto worker process.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import gmpy2
from phe import paillier

from ._errors import ConfigError, CryptoError
from ._fixed_base import TableCache

MIN_SECURE_BITS = 2048


def keygen(bits: int = MIN_SECURE_BITS, *, insecure: bool = False) -> SecretKey:
    """A fresh key pair from OS randomness. Below 2048 bits only with ``insecure=True``."""
    if bits < MIN_SECURE_BITS and not insecure:
        raise ConfigError(
            f"{bits}-bit Paillier keys are insecure; use >= {MIN_SECURE_BITS} "
            "or pass insecure=True (tests only)"
        )
    if bits < 128 or bits % 2:
        raise ConfigError(f"key size must be an even number of bits >= 128, got {bits}")
    _, private = paillier.generate_paillier_keypair(n_length=bits)
    return SecretKey(p=int(private.p), q=int(private.q))


@dataclass(frozen=True, slots=True)
class PublicKey:
    """The public part of a key: the modulus n (g = n + 1), and optionally a fixed base
    h = r0^n mod n^2 for fast obfuscators (see :func:`obfuscator`)."""

    n: int
    h: int | None = None
    _nsquare: int = field(init=False, repr=False, compare=False)
    _n_mpz: gmpy2.mpz = field(init=False, repr=False, compare=False)
    """n squared and n as gmpy2's: computed once, every received ciphertext is checked."""

    def __post_init__(self) -> None:
        if self.n < 2**127 or self.n % 2 == 0:
            raise CryptoError("public key modulus must be an odd integer of >= 128 bits")
        object.__setattr__(self, "_nsquare", self.n * self.n)
        object.__setattr__(self, "_n_mpz", gmpy2.mpz(self.n))
        if self.h is not None:
            self.check_ciphertext(self.h)  # an encryption of zero is a ciphertext

    @property
    def nsquare(self) -> int:
        return self._nsquare

    @property
    def bits(self) -> int:
        return self.n.bit_length()

    @property
    def ciphertext_bytes(self) -> int:
        """Fixed width of a ciphertext on the wire: 2|n| bits."""
        return (2 * self.bits + 7) // 8

    def to_bytes(self) -> bytes:
        return self.n.to_bytes((self.bits + 7) // 8, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKey:
        return cls(int.from_bytes(data, "big"))

    def check_ciphertext(self, c: int) -> None:
        """Raise :class:`CryptoError` unless ``0 < c < n^2`` and ``gcd(c, n) = 1``."""
        if not 0 < c < self._nsquare:
            raise CryptoError("ciphertext outside (0, n^2)")
        if gmpy2.gcd(c, self._n_mpz) != 1:
            raise CryptoError("ciphertext not coprime to n")


@dataclass(frozen=True, slots=True)
class SecretKey:
    """A private key (p, q) with the CRT constants it needs, computed once."""

    p: int
    q: int
    public: PublicKey = field(init=False, compare=False)
    _crt: _Crt = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.p == self.q or not (gmpy2.is_prime(self.p) and gmpy2.is_prime(self.q)):
            raise CryptoError("invalid Paillier key: p and q must be distinct primes")
        object.__setattr__(self, "public", PublicKey(self.p * self.q))
        try:
            object.__setattr__(self, "_crt", _Crt.of(self.p, self.q))
        except ZeroDivisionError as exc:
            raise CryptoError("invalid Paillier key: no CRT inverse for p, q") from exc

    def __repr__(self) -> str:
        return f"SecretKey(<{self.public.bits} bits>)"


@dataclass(frozen=True, slots=True)
class _Crt:
    n: gmpy2.mpz
    nsq: gmpy2.mpz
    p: gmpy2.mpz
    q: gmpy2.mpz
    psq: gmpy2.mpz
    qsq: gmpy2.mpz
    hp: gmpy2.mpz
    hq: gmpy2.mpz
    q_inv_p: gmpy2.mpz
    qsq_inv_psq: gmpy2.mpz
    n_mod_phi_psq: gmpy2.mpz
    n_mod_phi_qsq: gmpy2.mpz

    @classmethod
    def of(cls, p_: int, q_: int) -> _Crt:
        p, q = gmpy2.mpz(p_), gmpy2.mpz(q_)
        n = p * q
        psq, qsq = p * p, q * q

        def h(prime: gmpy2.mpz, square: gmpy2.mpz) -> gmpy2.mpz:
            return gmpy2.invert((gmpy2.powmod(n + 1, prime - 1, square) - 1) // prime, prime)

        return cls(
            n=n,
            nsq=n * n,
            p=p,
            q=q,
            psq=psq,
            qsq=qsq,
            hp=h(p, psq),
            hq=h(q, qsq),
            q_inv_p=gmpy2.invert(q, p),
            qsq_inv_psq=gmpy2.invert(qsq, psq),
            n_mod_phi_psq=n % (p * (p - 1)),
            n_mod_phi_qsq=n % (q * (q - 1)),
        )


def _random_unit(n: gmpy2.mpz) -> gmpy2.mpz:
    while True:
        r = gmpy2.mpz(secrets.randbelow(int(n) - 1) + 1)
        if gmpy2.gcd(r, n) == 1:
            return r


SHORT_EXPONENT_BITS = 320
"""Length of the random exponent t in the fixed-base obfuscator h^t."""


def short_exponent_tables(budget: int | None = None) -> TableCache:
    """A cache of fixed-base tables for the short exponents of :func:`obfuscator` and
    :func:`encrypt` (``budget``: bytes, default :data:`agents._fixed_base.DEFAULT_BUDGET`)."""
    if budget is None:
        return TableCache(exponent_bits=SHORT_EXPONENT_BITS)
    return TableCache(exponent_bits=SHORT_EXPONENT_BITS, budget=budget)


def obfuscator(public: PublicKey, tables: TableCache | None = None) -> int:
    """A fresh encryption of zero to multiply into a ciphertext before it is sent.

    Without a fixed base: ``r^n mod n^2`` for a uniformly random unit r (a full-size
    exponentiation). With the owner's published ``h = r0^n``: ``h^t mod n^2`` for a
    random ``SHORT_EXPONENT_BITS``-bit t, about 6x cheaper. The second rests on the
    assumption (as in Damgard-Jurik-Nielsen) that h^t with a short random t is
    indistinguishable from a uniformly random n-th residue; see the README. With
    ``tables``, h^t comes from h's fixed-base table (built on h's second use).
    """
    n = gmpy2.mpz(public.n)
    nsq = n * n
    if public.h is None:
        return int(gmpy2.powmod(_random_unit(n), n, nsq))
    if tables is not None:
        return int(tables.power(public.h, nsq, _short_exponent()))
    return int(gmpy2.powmod(public.h, _short_exponent(), nsq))


def _short_exponent() -> int:
    return secrets.randbits(SHORT_EXPONENT_BITS) | (1 << (SHORT_EXPONENT_BITS - 1))


def fixed_base(key: SecretKey) -> PublicKey:
    """The key's public part with a fresh fixed base h = r0^n mod n^2 (owner side, CRT)."""
    (h,) = encrypt(key, [0])
    return PublicKey(key.public.n, h)


def encrypt(
    key: SecretKey,
    residues: Sequence[int],
    *,
    base: int | None = None,
    tables: TableCache | None = None,
) -> list[int]:
    """Owner-side encryption ``(1 + m n) s mod n^2``, the encryption of zero ``s`` computed
    by CRT mod p^2 and q^2: ``r^n`` for a random unit r, or with the owner's fixed base
    ``h^t`` for a short random t (the same assumption as :func:`obfuscator`), from the
    tables of h mod p^2 and mod q^2 when ``tables`` is given."""
    k = key._crt
    if base is not None:
        key.public.check_ciphertext(base)
        hp, hq = gmpy2.mpz(base) % k.psq, gmpy2.mpz(base) % k.qsq
    out = []
    for m in residues:
        if not 0 <= m < k.n:
            raise CryptoError("plaintext residue outside [0, n)")
        if base is None:
            r = _random_unit(k.n)
            sp = gmpy2.powmod(r, k.n_mod_phi_psq, k.psq)
            sq = gmpy2.powmod(r, k.n_mod_phi_qsq, k.qsq)
        else:
            t = _short_exponent()
            if tables is not None:
                sp, sq = tables.power(hp, k.psq, t), tables.power(hq, k.qsq, t)
            else:
                sp, sq = gmpy2.powmod(hp, t, k.psq), gmpy2.powmod(hq, t, k.qsq)
        s = sq + k.qsq * ((sp - sq) * k.qsq_inv_psq % k.psq)
        out.append(int((1 + m * k.n) % k.nsq * s % k.nsq))
    return out


def serve(
    public: PublicKey,
    ciphertexts: Sequence[int],
    residues: Sequence[int],
    weights: Sequence[int],
    *,
    tables: TableCache | None = None,
) -> list[int]:
    """The neighbour's step: ``(c * (1 + m n))^a * r^n mod n^2`` per coordinate.

    With ``c = E(-[x_i])`` and ``m = [x_j]`` this is ``E(a ([x_j] - [x_i]))``,
    re-randomized by a fresh encryption of zero.
    """
    if not len(ciphertexts) == len(residues) == len(weights):
        raise CryptoError("ciphertexts, plaintexts and weights differ in length")
    n = gmpy2.mpz(public.n)
    nsq = n * n
    out = []
    for c, m, a in zip(ciphertexts, residues, weights, strict=True):
        if a <= 0:
            raise CryptoError("weights must be positive integers")
        shifted = gmpy2.mpz(c) * (1 + m * n) % nsq
        blinded = gmpy2.powmod(shifted, a, nsq) * obfuscator(public, tables)
        out.append(int(blinded % nsq))
    return out


def serve_packed(
    public: PublicKey,
    ciphertexts: Sequence[int],
    residues: Sequence[int],
    weights: Sequence[int],
    *,
    slot_bits: int,
    slots: int,
    tables: TableCache | None = None,
) -> list[int]:
    """:func:`serve` with one weight per coordinate, packed homomorphically.

    Each coordinate becomes ``E(a_s ([x_j]_s - [x_i]_s))``; then Horner's rule
    ``C = (...(c_{s-1}^B c_{s-2})^B ...) c_0`` with ``B = 2^slot_bits`` packs each
    chunk of ``slots`` coordinates into one ciphertext, re-randomized once.
    """
    if not len(ciphertexts) == len(residues) == len(weights):
        raise CryptoError("ciphertexts, plaintexts and weights differ in length")
    n = gmpy2.mpz(public.n)
    nsq = n * n
    base = gmpy2.mpz(1) << slot_bits
    scaled = []
    for c, m, a in zip(ciphertexts, residues, weights, strict=True):
        if a <= 0:
            raise CryptoError("weights must be positive integers")
        scaled.append(gmpy2.powmod(gmpy2.mpz(c) * (1 + m * n) % nsq, a, nsq))
    out = []
    for start in range(0, len(scaled), slots):
        chunk = scaled[start : start + slots]
        packed = chunk[-1]
        for c in reversed(chunk[:-1]):
            packed = gmpy2.powmod(packed, base, nsq) * c % nsq
        out.append(int(packed * obfuscator(public, tables) % nsq))
    return out


def decrypt(key: SecretKey, ciphertexts: Sequence[int]) -> list[int]:
    """CRT decryption to residues in [0, n)."""
    k = key._crt
    return [_decrypt_crt(k, c, c) for c in ciphertexts]


def _decrypt_crt(k: _Crt, cp: int, cq: int) -> int:
    """The plaintext of a ciphertext given as ``cp`` = c mod p^2 and ``cq`` = c mod q^2
    (or c itself for either)."""
    mp = (gmpy2.powmod(cp, k.p - 1, k.psq) - 1) // k.p * k.hp % k.p
    mq = (gmpy2.powmod(cq, k.q - 1, k.qsq) - 1) // k.q * k.hq % k.q
    return int(mq + k.q * ((mp - mq) * k.q_inv_p % k.p))


def _check_aggregate(replies: Sequence[Sequence[int]], weights: Sequence[int]) -> None:
    if len(replies) != len(weights) or not replies:
        raise CryptoError("aggregate needs one weight per reply and at least one reply")
    if len({len(r) for r in replies}) != 1:
        raise CryptoError("replies to aggregate differ in length")
    if any(a <= 0 for a in weights):
        raise CryptoError("weights must be positive integers")


def aggregate(
    public: PublicKey, replies: Sequence[Sequence[int]], weights: Sequence[int]
) -> list[int]:
    """``prod_j c_j^(a_j) mod n^2`` position by position: the encryption of
    ``sum_j a_j m_j`` for replies ``c_j = E(m_j)`` of equal length, one weight each."""
    _check_aggregate(replies, weights)
    nsq = gmpy2.mpz(public.n) ** 2
    out = []
    for column in zip(*replies, strict=True):
        total = gmpy2.mpz(1)
        for c, a in zip(column, weights, strict=True):
            total = total * gmpy2.powmod(c, a, nsq) % nsq
        out.append(int(total))
    return out


def decrypt_sum(
    key: SecretKey, replies: Sequence[Sequence[int]], weights: Sequence[int]
) -> list[int]:
    """The residues of :func:`aggregate` (``sum_j a_j m_j``), one decryption per position
    instead of one per reply; the owner takes the weighted product mod p^2 and q^2 (CRT),
    half the work of taking it mod n^2."""
    _check_aggregate(replies, weights)
    k = key._crt
    out = []
    for column in zip(*replies, strict=True):
        cp, cq = gmpy2.mpz(1), gmpy2.mpz(1)
        for c, a in zip(column, weights, strict=True):
            cp = cp * gmpy2.powmod(c, a, k.psq) % k.psq
            cq = cq * gmpy2.powmod(c, a, k.qsq) % k.qsq
        out.append(_decrypt_crt(k, cp, cq))
    return out
