"""The secure edge protocol between two agents, under encryption and in the clear."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents import (
    ClearEdge,
    EdgeProtocol,
    InlineCrypto,
    PaillierEdge,
    Payload,
    ProtocolError,
    Quantizer,
    SecretKey,
    keygen,
    layout_for,
)
from transport import pack_ints

INSECURE_TEST_BITS = 512
"""Small keys, named as such: these tests check the protocol, not security."""
SMALLER_INSECURE_BITS = 256

DIM = 3
FRAC_BITS = 24
WEIGHT_BITS = 16
WEIGHT_LOW, WEIGHT_HIGH = 2**14, 2**15  # a_max = 1/2 with 16 weight bits


@functools.cache
def key_of(name: str) -> SecretKey:
    return keygen(INSECURE_TEST_BITS, insecure=True)


def paillier_pair() -> tuple[PaillierEdge, PaillierEdge]:
    crypto = InlineCrypto()
    i = PaillierEdge(key_of("i"), crypto, dim=DIM)
    j = PaillierEdge(key_of("j"), crypto, dim=DIM)
    i.learn("j", j.announcement())
    j.learn("i", i.announcement())
    return i, j


def clear_pair() -> tuple[ClearEdge, ClearEdge]:
    i, j = ClearEdge(dim=DIM), ClearEdge(dim=DIM)
    i.learn("j", j.announcement())
    j.learn("i", i.announcement())
    return i, j


async def exchange(
    asker: EdgeProtocol,
    asker_id: str,
    server: EdgeProtocol,
    *,
    q_asker: list[int],
    q_server: list[int],
    server_weights: list[int],
) -> list[int]:
    """One direction of one edge: the asker's request, the server's reply, the opening."""
    request = await asker.request(q_asker)
    server.check_request(asker_id, request)
    reply = await server.serve(asker_id, request, q_server, server_weights)
    asker.check_reply(reply)
    return await asker.open(reply)


coordinate = st.floats(min_value=-1000.0, max_value=1000.0, allow_nan=False)
state = st.lists(coordinate, min_size=DIM, max_size=DIM)
weight_list = st.one_of(
    st.integers(min_value=WEIGHT_LOW, max_value=WEIGHT_HIGH).map(lambda w: [w] * DIM),  # per edge
    st.lists(st.integers(WEIGHT_LOW, WEIGHT_HIGH), min_size=DIM, max_size=DIM),  # per coordinate
)


@settings(max_examples=20, deadline=None)
@given(
    xi=state,
    xj=state,
    w_ij=weight_list,
    w_ji=weight_list,
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_edge_protocol_end_to_end(
    xi: list[float], xj: list[float], w_ij: list[int], w_ji: list[int], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    quantizer = Quantizer(frac_bits=FRAC_BITS)
    qi, qj = quantizer.quantize(xi, rng), quantizer.quantize(xj, rng)

    async def both_directions(
        pair: tuple[EdgeProtocol, EdgeProtocol],
    ) -> tuple[list[int], list[int]]:
        i, j = pair
        # i asks j, then j asks i
        at_i = await exchange(i, "i", j, q_asker=qi, q_server=qj, server_weights=w_ji)
        at_j = await exchange(j, "j", i, q_asker=qj, q_server=qi, server_weights=w_ij)
        return at_i, at_j

    opened_i, opened_j = asyncio.run(both_directions(paillier_pair()))
    clear_i, clear_j = asyncio.run(both_directions(clear_pair()))

    # 1. what i opens is exactly [a_ji]([x_j] - [x_i]), and the same integers in the clear
    assert opened_i == [a * (b - c) for a, b, c in zip(w_ji, qj, qi, strict=True)]
    assert opened_j == [a * (c - b) for a, b, c in zip(w_ij, qj, qi, strict=True)]
    assert (clear_i, clear_j) == (opened_i, opened_j)

    # 2. times i's own half and rescaled, it is a_ij (x_j - x_i) up to the quantization
    coupling_i = [a * v for a, v in zip(w_ij, opened_i, strict=True)]
    coupling_j = [a * v for a, v in zip(w_ji, opened_j, strict=True)]
    real_i = np.array(coupling_i, dtype=np.float64) / 2.0 ** (FRAC_BITS + 2 * WEIGHT_BITS)
    a_ij = np.array(w_ij, dtype=np.float64) * np.array(w_ji) / 2.0 ** (2 * WEIGHT_BITS)
    exact = a_ij * (np.array(xj) - np.array(xi))
    bound = 2 * a_ij * 2.0**-FRAC_BITS  # two roundings of less than one ulp each
    assert np.all(np.abs(real_i - exact) < bound + 1e-12 * np.abs(exact))

    # 3. a_ij is symmetric: j's coupling is exactly the negation of i's
    assert coupling_j == [-c for c in coupling_i]


@pytest.mark.asyncio
async def test_replies_are_rerandomized() -> None:
    i, j = paillier_pair()
    request = await i.request([1, -2, 3])
    first = await j.serve("i", request, [4, 5, -6], [7, 7, 7])
    second = await j.serve("i", request, [4, 5, -6], [7, 7, 7])
    assert first["c"] != second["c"]
    assert await i.open(first) == await i.open(second) == [7 * 3, 7 * 7, 7 * -9]
    again = await i.request([1, -2, 3])
    assert again["c"] != request["c"]


def test_paillier_announcement_carries_the_public_key() -> None:
    i, _ = paillier_pair()
    payload = i.announcement()
    assert set(payload) == {"n"}
    assert int.from_bytes(payload["n"], "big") == key_of("i").public.n
    assert i.public == key_of("i").public


# --- validation -------------------------------------------------------------------------


def ciphertext_width() -> int:
    return key_of("i").public.ciphertext_bytes


async def valid_request() -> dict[str, Any]:
    i, _ = paillier_pair()
    return dict(await i.request([1, 2, 3]))


def accepted(check: Callable[[Payload], object], payloads: dict[str, Payload]) -> list[str]:
    """The names of the payloads ``check`` lets through (should be none)."""
    through = []
    for name, payload in payloads.items():
        try:
            check(payload)
        except ProtocolError:
            continue
        through.append(name)
    return through


def bad_payloads(valid: bytes, width: int, nsquare: int) -> dict[str, Payload]:
    cts = [int.from_bytes(valid[k : k + width], "big") for k in range(0, len(valid), width)]
    return {
        "too few": {"c": pack_ints(cts[:-1], width)},
        "too many": {"c": pack_ints([*cts, cts[0]], width)},
        "none": {"c": b""},
        "ragged": {"c": valid[:-1]},
        "n^2": {"c": pack_ints([cts[0], nsquare, cts[2]], width)},
        "above n^2": {"c": pack_ints([cts[0], cts[1], nsquare + 12345], width)},
        "zero": {"c": pack_ints([0, cts[1], cts[2]], width)},
        "missing field": {},
        "other field": {"v": valid},
        "not bytes": {"c": 12345},
        "string": {"c": "abc"},
    }


@pytest.mark.asyncio
async def test_check_request_refuses_malformed_payloads() -> None:
    _, j = paillier_pair()
    request = await valid_request()
    j.check_request("i", request)  # the valid one passes
    payloads = bad_payloads(request["c"], ciphertext_width(), key_of("i").public.nsquare)
    assert accepted(lambda p: j.check_request("i", p), payloads) == []


@pytest.mark.asyncio
async def test_check_request_refuses_a_sender_whose_key_is_unknown() -> None:
    _, j = paillier_pair()
    assert not j.knows("stranger")
    with pytest.raises(ProtocolError, match="key"):
        j.check_request("stranger", await valid_request())


@pytest.mark.asyncio
async def test_check_reply_refuses_malformed_payloads() -> None:
    i, j = paillier_pair()
    request = await i.request([1, 2, 3])
    reply = dict(await j.serve("i", request, [3, 2, 1], [1, 1, 1]))
    i.check_reply(reply)
    payloads = bad_payloads(reply["c"], ciphertext_width(), key_of("i").public.nsquare)
    assert accepted(i.check_reply, payloads) == []
    for payload in payloads.values():
        with pytest.raises(ProtocolError):
            await i.open(payload)


@pytest.mark.asyncio
async def test_check_reply_refuses_a_ciphertext_sharing_a_factor_with_n() -> None:
    i, _ = paillier_pair()
    key = key_of("i")
    width = ciphertext_width()
    with pytest.raises(ProtocolError, match="coprime"):
        i.check_reply({"c": pack_ints([1, key.p, 1], width)})


@pytest.mark.asyncio
async def test_clear_edge_refuses_malformed_payloads() -> None:
    i, j = clear_pair()
    request = dict(await i.request([1, 2, 3]))
    j.check_request("i", request)
    reply = dict(await j.serve("i", request, [0, 0, 0], [1, 1, 1]))
    i.check_reply(reply)
    assert await i.open(reply) == [-1, -2, -3]
    blob = request["v"]
    width = len(blob) // DIM
    for payload in (
        {"v": blob[:width]},
        {"v": blob + blob[:width]},
        {"v": blob[:-1]},
        {},
        {"c": blob},
        {"v": 3},
    ):
        with pytest.raises(ProtocolError):
            j.check_request("i", payload)
        with pytest.raises(ProtocolError):
            i.check_reply(payload)


@pytest.mark.asyncio
async def test_clear_edge_refuses_a_reply_that_does_not_fit_its_width() -> None:
    i, j = clear_pair()
    request = await i.request([0, 0, 0])
    with pytest.raises(ProtocolError):
        await j.serve("i", request, [2**120, 0, 0], [2**16, 1, 1])


def test_learn_refuses_a_key_of_another_size() -> None:
    i, _ = paillier_pair()
    smaller = keygen(SMALLER_INSECURE_BITS, insecure=True)
    with pytest.raises(ProtocolError, match="bits"):
        i.learn("k", {"n": smaller.public.to_bytes()})
    assert not i.knows("k")


def test_learn_refuses_a_changed_key_and_accepts_the_same_one_again() -> None:
    i, j = paillier_pair()
    i.learn("j", j.announcement())  # the same key again: fine
    assert i.knows("j")
    other = PaillierEdge(key_of("other"), InlineCrypto(), dim=DIM)
    with pytest.raises(ProtocolError, match="different"):
        i.learn("j", other.announcement())
    # the first key still holds: a request under j's key still checks out
    assert i.knows("j")


@pytest.mark.asyncio
async def test_a_refused_key_change_keeps_the_first_key_in_use() -> None:
    i, j = paillier_pair()
    other = PaillierEdge(key_of("other"), InlineCrypto(), dim=DIM)
    with pytest.raises(ProtocolError):
        i.learn("j", other.announcement())
    request = await j.request([1, 1, 1])
    i.check_request("j", request)
    reply = await i.serve("j", request, [2, 2, 2], [5, 5, 5])
    assert await j.open(reply) == [5, 5, 5]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"n": 12345},
        {"n": b""},
        {"n": (2**511 + 2).to_bytes(64, "big")},  # even
        {"n": (2**100 + 1).to_bytes(13, "big")},  # far too small
    ],
    ids=["missing", "int", "empty", "even", "tiny"],
)
def test_learn_refuses_invalid_keys(payload: dict[str, Any]) -> None:
    i, _ = paillier_pair()
    with pytest.raises(ProtocolError):
        i.learn("k", payload)
    assert not i.knows("k")


# --- packed layouts (PaillierEdge takes its layout) ------------------------------------------

# |[x]| < 2^52 (the quantizer's bound) and weights <= 2^15, as an agent configures them
VALUE_BOUND = 2**52


def packed_pair(dim: int, *, per_coordinate: bool) -> tuple[PaillierEdge, PaillierEdge]:
    layout = layout_for(
        value_bound=VALUE_BOUND,
        weight_bound=WEIGHT_HIGH,
        modulus_bits=INSECURE_TEST_BITS - 1,
    )
    crypto = InlineCrypto()
    i = PaillierEdge(key_of("i"), crypto, dim=dim, layout=layout, per_coordinate=per_coordinate)
    j = PaillierEdge(key_of("j"), crypto, dim=dim, layout=layout, per_coordinate=per_coordinate)
    i.learn("j", j.announcement())
    j.learn("i", i.announcement())
    return i, j


quantized_value = st.integers(min_value=-(VALUE_BOUND - 1), max_value=VALUE_BOUND - 1)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), dim=st.integers(min_value=1, max_value=17), per_coordinate=st.booleans())
def test_packed_edge_gives_the_same_integers_as_the_naive_one(
    data: st.DataObject, dim: int, per_coordinate: bool
) -> None:
    qi = data.draw(st.lists(quantized_value, min_size=dim, max_size=dim))
    qj = data.draw(st.lists(quantized_value, min_size=dim, max_size=dim))
    extreme = st.sampled_from([WEIGHT_LOW, WEIGHT_HIGH])
    any_weight = st.integers(WEIGHT_LOW, WEIGHT_HIGH)
    if per_coordinate:
        w_ji = data.draw(st.lists(st.one_of(extreme, any_weight), min_size=dim, max_size=dim))
    else:
        w_ji = [data.draw(st.one_of(extreme, any_weight))] * dim

    async def go() -> tuple[Payload, Payload, list[int]]:
        i, j = packed_pair(dim, per_coordinate=per_coordinate)
        request = await i.request(qi)
        j.check_request("i", request)
        reply = await j.serve("i", request, qj, w_ji)
        i.check_reply(reply)
        return request, reply, await i.open(reply)

    request, reply, opened = asyncio.run(go())
    assert opened == [a * (b - c) for a, b, c in zip(w_ji, qj, qi, strict=True)]
    width = key_of("i").public.ciphertext_bytes
    # packing is what it claims: fewer ciphertexts than coordinates once dim > 1
    assert len(reply["c"]) // width <= dim
    assert len(request["c"]) // width == (dim if per_coordinate else len(reply["c"]) // width)
    if dim >= 4:
        assert len(reply["c"]) // width < dim


def test_packed_edge_at_the_extremes() -> None:
    # largest magnitudes both ways, alternating signs: every slot borrows or carries
    dim = 9
    top = VALUE_BOUND - 1
    qi = [top if k % 2 else -top for k in range(dim)]
    qj = [-v for v in qi]
    for per_coordinate in (False, True):
        weights = [WEIGHT_HIGH] * dim

        async def go(
            per_coordinate: bool = per_coordinate, weights: list[int] = weights
        ) -> list[int]:
            i, j = packed_pair(dim, per_coordinate=per_coordinate)
            reply = await j.serve("i", await i.request(qi), qj, weights)
            return await i.open(reply)

        expected = [w * (b - c) for w, b, c in zip(weights, qj, qi, strict=True)]
        assert asyncio.run(go()) == expected


@pytest.mark.asyncio
async def test_packed_per_edge_refuses_per_coordinate_weights() -> None:
    i, j = packed_pair(DIM, per_coordinate=False)
    request = await i.request([1, 2, 3])
    with pytest.raises(ProtocolError):
        await j.serve("i", request, [3, 2, 1], [WEIGHT_LOW, WEIGHT_HIGH, WEIGHT_LOW])


# --- aggregating before decrypting ---------------------------------------------------------

DEGREE = 3
VALUE_BOUND = 2**53


def aggregating_star() -> tuple[PaillierEdge, list[PaillierEdge]]:
    """A centre packing in slots for the sum over its 3 neighbours, which pack their own
    requests for one term: two layouts, each end serving in the other's."""
    bits = INSECURE_TEST_BITS - 1
    summing = layout_for(
        value_bound=VALUE_BOUND, weight_bound=WEIGHT_HIGH**2, modulus_bits=bits, terms=DEGREE
    )
    single = layout_for(value_bound=VALUE_BOUND, weight_bound=WEIGHT_HIGH, modulus_bits=bits)
    assert summing.slot_bits > single.slot_bits
    crypto = InlineCrypto()
    centre = PaillierEdge(
        key_of("c"), crypto, dim=DIM, layout=summing, value_bound=VALUE_BOUND, base=None
    )
    others = [
        PaillierEdge(key_of(f"n{m}"), crypto, dim=DIM, layout=single, value_bound=VALUE_BOUND)
        for m in range(DEGREE)
    ]
    for m, other in enumerate(others):
        centre.learn(f"n{m}", other.announcement())
        other.learn("c", centre.announcement())
    return centre, others


@settings(max_examples=10, deadline=None)
@given(
    xs=st.lists(state, min_size=DEGREE + 1, max_size=DEGREE + 1),
    theirs=st.lists(st.integers(WEIGHT_LOW, WEIGHT_HIGH), min_size=DEGREE, max_size=DEGREE),
    mine=st.lists(st.integers(WEIGHT_LOW, WEIGHT_HIGH), min_size=DEGREE, max_size=DEGREE),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_the_sum_of_replies_is_the_sum_of_the_weighted_openings(
    xs: list[list[float]], theirs: list[int], mine: list[int], seed: int
) -> None:
    rng = np.random.default_rng(seed)
    quantizer = Quantizer(frac_bits=FRAC_BITS)
    qc, *qn = [quantizer.quantize(x, rng) for x in xs]

    async def scenario(
        centre: PaillierEdge, others: list[PaillierEdge]
    ) -> tuple[list[int], list[list[int]]]:
        request = await centre.request(qc)
        replies = {}
        for m, (other, q, a) in enumerate(zip(others, qn, theirs, strict=True)):
            other.check_request("c", request)
            replies[f"n{m}"] = await other.serve("c", request, q, [a] * DIM)
        weights = {f"n{m}": a for m, a in enumerate(mine)}
        each = [await centre.open(replies[f"n{m}"]) for m in range(DEGREE)]
        # and the other way: a neighbour's request, served by the centre in its layout
        back = await others[0].request(qn[0])
        centre.check_request("n0", back)
        reply = await centre.serve("n0", back, qc, [mine[0]] * DIM)
        assert await others[0].open(reply) == [
            mine[0] * (c - n) for c, n in zip(qc, qn[0], strict=True)
        ]
        return await centre.open_sum(replies, weights), each

    summed, each = asyncio.run(scenario(*aggregating_star()))
    expected = [
        sum(b * a * (q[s] - qc[s]) for q, a, b in zip(qn, theirs, mine, strict=True))
        for s in range(DIM)
    ]
    assert summed == expected
    assert summed == [sum(b * v[s] for v, b in zip(each, mine, strict=True)) for s in range(DIM)]
    clear = ClearEdge(dim=DIM)
    clear_replies = {
        f"n{m}": {
            "v": pack_ints([a * (x - y) for x, y in zip(q, qc, strict=True)], 16, signed=True)
        }
        for m, (q, a) in enumerate(zip(qn, theirs, strict=True))
    }
    weights = {f"n{m}": b for m, b in enumerate(mine)}
    assert asyncio.run(clear.open_sum(clear_replies, weights)) == expected


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"slot_bits": 70, "slots": 100}, "does not fit"),
        ({"slot_bits": 40, "slots": 3}, "cannot hold"),
        ({"slot_bits": "70", "slots": 3}, "must be integers"),
        ({"slot_bits": 70}, "must be integers"),
    ],
)
def test_an_announced_layout_that_cannot_work_is_refused(
    fields: dict[str, Any], reason: str
) -> None:
    centre, (other, *_) = aggregating_star()
    announced = {**other.announcement(), **fields}
    if "slots" not in fields:
        del announced["slots"]
    with pytest.raises(ProtocolError, match=reason):
        centre.learn("n9", announced)


def test_a_second_announcement_with_another_layout_is_refused() -> None:
    centre, (other, *_) = aggregating_star()
    again = {**other.announcement(), "slot_bits": 80, "slots": 2}
    with pytest.raises(ProtocolError, match="different"):
        centre.learn("n0", again)


@pytest.mark.asyncio
async def test_a_payload_used_without_being_admitted_is_checked_at_use() -> None:
    # the check of an admitted payload is kept for its use; one never admitted (or
    # pushed out of that bounded cache) is checked when it is served or opened
    i, j = paillier_pair()
    key = key_of("i")
    bad = {"c": pack_ints([1, key.p, 1], ciphertext_width())}
    with pytest.raises(ProtocolError, match="coprime"):
        await j.serve("i", bad, [3, 2, 1], [1, 1, 1])
    with pytest.raises(ProtocolError, match="coprime"):
        await i.open(bad)
    request = await i.request([1, 2, 3])
    j.check_request("i", request)  # admitted: served from the kept check, then let go
    reply = await j.serve("i", request, [3, 2, 1], [1, 1, 1])
    i.check_reply(reply)
    assert await i.open(reply) == [2, 0, -2]
    assert await i.open(reply) == [2, 0, -2]  # a second use checks the bytes again
