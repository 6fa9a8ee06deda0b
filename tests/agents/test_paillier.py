"""Paillier on raw integers: agreement with phe, the serve step, validation, key sizes."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phe import paillier as phe

from agents import (
    MIN_SECURE_BITS,
    ConfigError,
    CryptoError,
    PublicKey,
    SecretKey,
    _paillier,
    from_residue,
    keygen,
    to_residue,
)

INSECURE_TEST_BITS = 512
"""Small keys, named as such: these tests check arithmetic, not security."""

signed = st.integers(min_value=-(2**60), max_value=2**60)
weight = st.integers(min_value=1, max_value=2**16)


@functools.cache
def small_key() -> SecretKey:
    return keygen(INSECURE_TEST_BITS, insecure=True)


@functools.cache
def other_key() -> SecretKey:
    return keygen(INSECURE_TEST_BITS, insecure=True)


def phe_private(key: SecretKey) -> phe.PaillierPrivateKey:
    return phe.PaillierPrivateKey(phe.PaillierPublicKey(key.public.n), key.p, key.q)


def test_keygen_gives_the_requested_size() -> None:
    key = small_key()
    assert key.public.bits == INSECURE_TEST_BITS
    assert key.public.n == key.p * key.q
    assert key.public.ciphertext_bytes == 2 * INSECURE_TEST_BITS // 8
    assert key.public != other_key().public


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_phe_decrypts_our_ciphertexts(data: st.DataObject) -> None:
    key = small_key()
    n = key.public.n
    messages = data.draw(st.lists(st.integers(min_value=0, max_value=n - 1), min_size=1))
    ciphertexts = _paillier.encrypt(key, messages)
    private = phe_private(key)
    assert [private.raw_decrypt(c) for c in ciphertexts] == messages


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_we_decrypt_phe_ciphertexts(data: st.DataObject) -> None:
    key = small_key()
    n = key.public.n
    messages = data.draw(st.lists(st.integers(min_value=0, max_value=n - 1), min_size=1))
    public = phe.PaillierPublicKey(n)
    ciphertexts = [public.raw_encrypt(m) for m in messages]
    assert _paillier.decrypt(key, ciphertexts) == messages


def test_encryption_is_randomized() -> None:
    key = small_key()
    first, second = _paillier.encrypt(key, [42]), _paillier.encrypt(key, [42])
    assert first != second
    assert _paillier.decrypt(key, first) == _paillier.decrypt(key, second) == [42]


@pytest.mark.parametrize("offset", [-1, 0, 1], ids=["minus-one", "n", "n-plus-one"])
def test_encrypt_refuses_plaintexts_outside_the_residues(offset: int) -> None:
    key = small_key()
    bad = -1 if offset < 0 else key.public.n + offset
    with pytest.raises(CryptoError):
        _paillier.encrypt(key, [0, bad])


def serve_round(
    key: SecretKey, xi: list[int], xj: list[int], weights: list[int]
) -> tuple[list[int], list[int]]:
    n = key.public.n
    request = _paillier.encrypt(key, [to_residue(-v, n) for v in xi])
    reply = _paillier.serve(key.public, request, [to_residue(v, n) for v in xj], weights)
    return reply, [from_residue(m, n) for m in _paillier.decrypt(key, reply)]


@settings(max_examples=30, deadline=None)
@given(data=st.data(), dim=st.integers(min_value=1, max_value=6))
def test_serve_computes_the_weighted_difference(data: st.DataObject, dim: int) -> None:
    key = small_key()
    xi = data.draw(st.lists(signed, min_size=dim, max_size=dim))
    xj = data.draw(st.lists(signed, min_size=dim, max_size=dim))
    weights = data.draw(st.lists(weight, min_size=dim, max_size=dim))
    reply, opened = serve_round(key, xi, xj, weights)
    assert opened == [a * (b - c) for a, b, c in zip(weights, xj, xi, strict=True)]
    for c in reply:
        key.public.check_ciphertext(c)


@settings(max_examples=10, deadline=None)
@given(xi=st.lists(signed, min_size=3, max_size=3), xj=st.lists(signed, min_size=3, max_size=3))
def test_serve_rerandomizes_every_reply(xi: list[int], xj: list[int]) -> None:
    key = small_key()
    n = key.public.n
    weights = [3, 1, 65536]
    request = _paillier.encrypt(key, [to_residue(-v, n) for v in xi])
    residues = [to_residue(v, n) for v in xj]
    first = _paillier.serve(key.public, request, residues, weights)
    second = _paillier.serve(key.public, request, residues, weights)
    assert all(a != b for a, b in zip(first, second, strict=True))
    assert _paillier.decrypt(key, first) == _paillier.decrypt(key, second)
    # and the reply is not the deterministic (c * g^m)^a an eavesdropper could recompute
    nsq = key.public.nsquare
    bare = [
        pow(c * (1 + m * n) % nsq, a, nsq)
        for c, m, a in zip(request, residues, weights, strict=True)
    ]
    assert all(a != b for a, b in zip(first, bare, strict=True))


@pytest.mark.parametrize("weights", [[1, 0, 1], [1, -2, 1]])
def test_serve_refuses_non_positive_weights(weights: list[int]) -> None:
    key = small_key()
    request = _paillier.encrypt(key, [1, 2, 3])
    with pytest.raises(CryptoError):
        _paillier.serve(key.public, request, [1, 2, 3], weights)


def test_serve_refuses_mismatched_lengths() -> None:
    key = small_key()
    request = _paillier.encrypt(key, [1, 2, 3])
    with pytest.raises(CryptoError):
        _paillier.serve(key.public, request, [1, 2], [1, 1, 1])


def test_check_ciphertext_accepts_real_ciphertexts_and_refuses_the_rest() -> None:
    key = small_key()
    public = key.public
    nsq = public.nsquare
    for c in [*_paillier.encrypt(key, [0, 1, 12345]), 1, nsq - 1]:
        public.check_ciphertext(c)
    for bad in (0, -1, nsq, nsq + 1, 2 * nsq):
        with pytest.raises(CryptoError, match="outside"):
            public.check_ciphertext(bad)
    for bad in (key.p, 7 * key.p, key.q, public.n, public.n * 5):
        with pytest.raises(CryptoError, match="coprime"):
            public.check_ciphertext(bad)


def test_public_key_bytes_round_trip() -> None:
    public = small_key().public
    assert PublicKey.from_bytes(public.to_bytes()) == public
    assert len(public.to_bytes()) == INSECURE_TEST_BITS // 8


@pytest.mark.parametrize("n", [0, 2**127 - 1, 2**200, 2**300 + 2])
def test_public_key_refuses_small_or_even_moduli(n: int) -> None:
    with pytest.raises(CryptoError):
        PublicKey(n)


def test_secret_key_repr_hides_the_primes() -> None:
    key = small_key()
    text = repr(key) + str(key)
    assert str(key.p) not in text
    assert str(key.q) not in text
    assert str(INSECURE_TEST_BITS) in text


def test_secret_key_refuses_equal_primes() -> None:
    key = small_key()
    with pytest.raises(CryptoError):
        SecretKey(key.p, key.p)


def test_secret_key_refuses_non_coprime_factors_with_crypto_error() -> None:
    # a corrupt key (here p and q share a factor 3) must surface as the package's
    # CryptoError, not as gmpy2's ZeroDivisionError from the CRT precomputation
    key = small_key()
    with pytest.raises(CryptoError):
        SecretKey(3 * key.p, 3 * key.q)


@pytest.mark.parametrize("bits", [0, 256, 1024, 2046])
def test_keygen_refuses_insecure_sizes_without_the_flag(bits: int) -> None:
    with pytest.raises(ConfigError, match="insecure"):
        keygen(bits)


@pytest.mark.parametrize(
    ("bits", "insecure"), [(255, True), (513, True), (64, True), (126, True), (2049, False)]
)
def test_keygen_refuses_odd_and_tiny_sizes(bits: int, insecure: bool) -> None:
    with pytest.raises(ConfigError, match="even number of bits"):
        keygen(bits, insecure=insecure)


@pytest.mark.slow
def test_secure_keygen_by_default() -> None:
    """One real 2048-bit key (~50 ms)."""
    key = keygen()
    assert MIN_SECURE_BITS == 2048
    assert key.public.bits == 2048
    ciphertexts = _paillier.encrypt(key, [5, key.public.n - 5])
    assert phe_private(key).raw_decrypt(ciphertexts[1]) == key.public.n - 5
    assert _paillier.decrypt(key, ciphertexts) == [5, key.public.n - 5]
