"""Every fast path produces ciphertexts that plain phe decrypts to the right value."""

from __future__ import annotations

import functools

import gmpy2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phe import paillier

from agents import (
    FixedBaseTable,
    PublicKey,
    SecretKey,
    SlotLayout,
    TableCache,
    aggregate,
    decrypt,
    decrypt_sum,
    encrypt,
    fixed_base,
    from_residue,
    keygen,
    layout_for,
    serve,
    serve_packed,
    to_residue,
)
from agents._paillier import (
    SHORT_EXPONENT_BITS,
    obfuscator,
)  # private: these are _paillier's own unit tests

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


# --- fixed-base tables and aggregation (issue #16) ----------------------------------------


@settings(max_examples=40, deadline=None)
@given(exponent=st.integers(min_value=0, max_value=2**SHORT_EXPONENT_BITS - 1))
def test_a_fixed_base_table_computes_the_same_power_as_powmod(exponent: int) -> None:
    public = fixed_base_of_key()
    assert public.h is not None
    table = fixed_table()
    assert table.power(exponent) == int(gmpy2.powmod(public.h, exponent, public.nsquare))


@functools.cache
def fixed_table() -> FixedBaseTable:
    public = fixed_base_of_key()
    assert public.h is not None
    return FixedBaseTable(public.h, public.nsquare, exponent_bits=SHORT_EXPONENT_BITS)


def test_a_table_refuses_an_exponent_longer_than_it_covers() -> None:
    with pytest.raises(ValueError, match="exponent"):
        fixed_table().power(1 << (SHORT_EXPONENT_BITS + 6))


@settings(max_examples=25, deadline=None)
@given(xi=st.lists(signed, min_size=1, max_size=9), data=st.data())
def test_table_encryptions_and_table_replies_decrypt_under_phe(
    xi: list[int], data: st.DataObject
) -> None:
    # a shared cache: every example after the first uses the tables (built on second use)
    k, lay, tables = key(), layout(), shared_tables()
    n = k.public.n
    public = fixed_base_of_key()
    xj = data.draw(st.lists(signed, min_size=len(xi), max_size=len(xi)))
    a = data.draw(weights)
    request = encrypt(
        k, [to_residue(m, n) for m in lay.pack([-v for v in xi])], base=public.h, tables=tables
    )
    assert lay.unpack([phe_decrypt_signed(c) for c in request], len(xi)) == [-v for v in xi]
    residues = [to_residue(m, n) for m in lay.pack(xj)]
    reply = serve(public, request, residues, [a] * len(request), tables=tables)
    plain = [phe_decrypt_signed(c) for c in reply]
    assert lay.unpack(plain, len(xi)) == [a * (j - i) for i, j in zip(xi, xj, strict=True)]


@functools.cache
def shared_tables() -> TableCache:
    return TableCache(exponent_bits=SHORT_EXPONENT_BITS)


@functools.cache
def fixed_base_of_key() -> PublicKey:
    return fixed_base(key())


def test_the_cache_builds_a_table_on_the_second_use_and_stops_at_its_budget() -> None:
    public = fixed_base(key())
    assert public.h is not None
    one = FixedBaseTable(public.h, public.nsquare, exponent_bits=SHORT_EXPONENT_BITS)
    tables = TableCache(exponent_bits=SHORT_EXPONENT_BITS, budget=one.nbytes)
    assert tables.table(public.h, public.nsquare) is None  # first use: powmod
    assert tables.table(public.h, public.nsquare) is not None
    assert (len(tables), tables.nbytes, tables.built) == (1, one.nbytes, 1)
    assert tables.table_bytes(public.nsquare) == one.nbytes
    other = fixed_base(key())  # another base: the budget is full, so powmod, no eviction
    assert other.h is not None
    for _ in range(3):
        assert tables.table(other.h, other.nsquare) is None
    assert tables.table(public.h, public.nsquare) is not None  # the first one stays
    assert (len(tables), tables.nbytes, tables.built) == (1, one.nbytes, 1)
    exponent = 2**SHORT_EXPONENT_BITS - 3
    assert tables.power(other.h, other.nsquare, exponent) == int(
        gmpy2.powmod(other.h, exponent, other.nsquare)
    )
    # a 512-bit key's table: 54 rows of 64 entries of 128 bytes
    assert one.nbytes == 54 * 64 * 128


aggregate_case = st.integers(min_value=1, max_value=4).flatmap(
    lambda degree: st.tuples(
        st.lists(signed, min_size=1, max_size=7).flatmap(
            lambda xi: st.tuples(
                st.just(xi),
                st.lists(
                    st.lists(signed, min_size=len(xi), max_size=len(xi)),
                    min_size=degree,
                    max_size=degree,
                ),
            )
        ),
        st.lists(weights, min_size=degree, max_size=degree),
        st.lists(weights, min_size=degree, max_size=degree),
    )
)


@settings(max_examples=25, deadline=None)
@given(case=aggregate_case)
def test_a_sum_of_weighted_replies_decrypts_to_the_sum_of_the_terms(
    case: tuple[tuple[list[int], list[list[int]]], list[int], list[int]],
) -> None:
    (xi, xjs), theirs, mine = case
    k, public = key(), fixed_base_of_key()
    n = k.public.n
    lay = layout_for(
        value_bound=2**40,
        weight_bound=2 ** (2 * WEIGHT_BITS),
        modulus_bits=INSECURE_TEST_BITS - 1,
        terms=len(xjs),
    )
    request = encrypt(k, [to_residue(m, n) for m in lay.pack([-v for v in xi])])
    replies = [
        serve(public, request, [to_residue(m, n) for m in lay.pack(xj)], [a] * len(request))
        for xj, a in zip(xjs, theirs, strict=True)
    ]
    expected = [
        sum(b * a * (xj[s] - xi[s]) for xj, a, b in zip(xjs, theirs, mine, strict=True))
        for s in range(len(xi))
    ]
    summed = [from_residue(m, n) for m in decrypt_sum(k, replies, mine)]
    assert lay.unpack(summed, len(xi)) == expected
    # the same ciphertext product, decrypted by plain phe
    combined = aggregate(public, replies, mine)
    assert lay.unpack([phe_decrypt_signed(c) for c in combined], len(xi)) == expected


def test_aggregating_refuses_mismatched_inputs() -> None:
    from agents import CryptoError

    k = key()
    (c,) = encrypt(k, [1])
    for replies, mine in (([[c]], [1, 2]), ([[c], [c, c]], [1, 1]), ([[c]], [0]), ([], [])):
        with pytest.raises(CryptoError):
            decrypt_sum(k, replies, mine)
