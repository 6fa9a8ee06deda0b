"""Every fast path produces ciphertexts that plain phe decrypts to the right value."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phe import paillier

from agents import (
    PublicKey,
    SecretKey,
    SlotLayout,
    decrypt,
    encrypt,
    fixed_base,
    from_residue,
    keygen,
    layout_for,
    serve,
    serve_packed,
    to_residue,
)
from agents._paillier import obfuscator  # private: these are _paillier's own unit tests

INSECURE_TEST_BITS = 512
WEIGHT_BITS = 16


@functools.cache
def key() -> SecretKey:
    return keygen(INSECURE_TEST_BITS, insecure=True)


@functools.cache
def phe_private() -> paillier.PaillierPrivateKey:
    k = key()
    return paillier.PaillierPrivateKey(paillier.PaillierPublicKey(k.public.n), k.p, k.q)


def phe_decrypt_signed(c: int) -> int:
    return from_residue(phe_private().raw_decrypt(c), key().public.n)


def layout() -> SlotLayout:
    return layout_for(
        value_bound=2**40, weight_bound=2**WEIGHT_BITS, modulus_bits=INSECURE_TEST_BITS - 1
    )


signed = st.integers(min_value=-(2**40) + 1, max_value=2**40 - 1)
weights = st.integers(min_value=1, max_value=2**WEIGHT_BITS)


def test_fixed_base_is_an_encryption_of_zero_and_obfuscators_differ() -> None:
    public = fixed_base(key())
    assert public.h is not None
    assert phe_private().raw_decrypt(public.h) == 0
    first, second = obfuscator(public), obfuscator(public)
    assert first != second
    assert phe_private().raw_decrypt(first) == phe_private().raw_decrypt(second) == 0
    assert phe_private().raw_decrypt(obfuscator(key().public)) == 0  # without the base


@settings(max_examples=25, deadline=None)
@given(values=st.lists(signed, min_size=1, max_size=4), with_base=st.booleans())
def test_owner_encryption_decrypts_under_phe(values: list[int], with_base: bool) -> None:
    k = key()
    base = fixed_base(k).h if with_base else None
    cts = encrypt(k, [to_residue(v, k.public.n) for v in values], base=base)
    assert [phe_decrypt_signed(c) for c in cts] == values
    assert [from_residue(m, k.public.n) for m in decrypt(k, cts)] == values


@settings(max_examples=25, deadline=None)
@given(xi=st.lists(signed, min_size=1, max_size=9), data=st.data(), with_base=st.booleans())
def test_packed_per_edge_reply_round_trips(
    xi: list[int], data: st.DataObject, with_base: bool
) -> None:
    k, lay = key(), layout()
    n = k.public.n
    xj = data.draw(st.lists(signed, min_size=len(xi), max_size=len(xi)))
    a = data.draw(weights)
    public = fixed_base(k) if with_base else k.public
    request = encrypt(k, [to_residue(m, n) for m in lay.pack([-v for v in xi])])
    residues = [to_residue(m, n) for m in lay.pack(xj)]
    reply = serve(public, request, residues, [a] * len(request))
    plain = [phe_decrypt_signed(c) for c in reply]
    assert lay.unpack(plain, len(xi)) == [a * (j - i) for i, j in zip(xi, xj, strict=True)]


@settings(max_examples=25, deadline=None)
@given(xi=st.lists(signed, min_size=1, max_size=9), data=st.data(), with_base=st.booleans())
def test_packed_per_coordinate_reply_round_trips(
    xi: list[int], data: st.DataObject, with_base: bool
) -> None:
    k, lay = key(), layout()
    n = k.public.n
    xj = data.draw(st.lists(signed, min_size=len(xi), max_size=len(xi)))
    a = data.draw(st.lists(weights, min_size=len(xi), max_size=len(xi)))
    public = fixed_base(k) if with_base else k.public
    request = encrypt(k, [to_residue(-v, n) for v in xi])
    reply = serve_packed(
        public,
        request,
        [to_residue(v, n) for v in xj],
        a,
        slot_bits=lay.slot_bits,
        slots=lay.slots,
    )
    assert len(reply) == lay.chunks(len(xi))
    plain = [phe_decrypt_signed(c) for c in reply]
    expected = [w * (j - i) for w, i, j in zip(a, xi, xj, strict=True)]
    assert lay.unpack(plain, len(xi)) == expected


def test_replies_for_the_same_inputs_differ_with_the_fixed_base() -> None:
    k = key()
    public = fixed_base(k)
    (request,) = encrypt(k, [5])
    first = serve(public, [request], [7], [3])
    second = serve(public, [request], [7], [3])
    assert first != second
    assert phe_private().raw_decrypt(first[0]) == phe_private().raw_decrypt(second[0]) == 36


@pytest.mark.parametrize("bad", [0, -1])
def test_a_fixed_base_outside_the_ciphertext_range_is_refused(bad: int) -> None:
    from agents import CryptoError

    with pytest.raises(CryptoError):
        PublicKey(key().public.n, bad)
    with pytest.raises(CryptoError):
        PublicKey(key().public.n, key().public.nsquare + bad + 1)
