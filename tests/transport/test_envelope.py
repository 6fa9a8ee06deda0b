"""The wire format: round trips, and every way decode() refuses bytes."""

from __future__ import annotations

import math
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from transport import (
    BROADCAST,
    MAX_ENVELOPE_BYTES,
    VERSION,
    Envelope,
    EnvelopeError,
    Kind,
    decode,
    encode,
    pack_floats,
    pack_ints,
    signed_bytes,
    unpack_floats,
    unpack_ints,
    validate_id,
)

ids = st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True)
payload_values = st.one_of(
    st.binary(max_size=600),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.booleans(),
)
payloads = st.dictionaries(st.text(max_size=12), payload_values, max_size=8)


def good(**changes: Any) -> Envelope:
    fields: dict[str, Any] = {
        "run": "run1",
        "iteration": 7,
        "sender": "a",
        "receiver": "b",
        "kind": Kind.REQUEST,
        "payload": {"c": b"\x01\x02", "n": 3},
    }
    return Envelope(**(fields | changes))


def raw(**changes: Any) -> bytes:
    """A msgpack document shaped like an envelope, with ``changes`` (``None`` deletes)."""
    doc: dict[str, Any] = {
        "v": VERSION,
        "run": "run1",
        "k": 7,
        "from": "a",
        "to": "b",
        "kind": "request",
        "p": {"c": b"\x01"},
        "a": b"",
    }
    for key, value in changes.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    return msgpack.packb(doc, use_bin_type=True)  # type: ignore[no-any-return]


# --- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_round_trips(kind: Kind) -> None:
    receiver = BROADCAST if kind is Kind.KEY else "b"
    envelope = good(kind=kind, receiver=receiver)
    assert decode(encode(envelope)) == envelope


def test_a_raw_document_decodes_to_its_fields() -> None:
    envelope = decode(raw())
    assert (envelope.run, envelope.iteration, envelope.sender, envelope.receiver) == (
        "run1",
        7,
        "a",
        "b",
    )
    assert envelope.kind is Kind.REQUEST
    assert dict(envelope.payload) == {"c": b"\x01"}


@st.composite
def envelopes(draw: st.DrawFn) -> Envelope:
    sender = draw(ids)
    receiver = draw(st.one_of(ids, st.just(BROADCAST)).filter(lambda r: r != sender))
    return Envelope(
        run=draw(ids),
        iteration=draw(st.integers(min_value=0, max_value=2**53 - 1)),
        sender=sender,
        receiver=receiver,
        kind=draw(st.sampled_from(list(Kind))),
        payload=draw(payloads),
        auth=draw(st.binary(max_size=128)),
    )


@given(envelopes())
def test_round_trip_property(envelope: Envelope) -> None:
    back = decode(encode(envelope))
    assert back == envelope
    # == cannot tell True from 1 or 1.0: the types must survive too
    assert [type(v) for v in back.payload.values()] == [type(v) for v in envelope.payload.values()]


# --- the auth field and the bytes it covers --------------------------------------------


def test_auth_round_trips_and_defaults_to_empty() -> None:
    assert good().auth == b""
    tagged = good(auth=b"\x07" * 32)
    assert decode(encode(tagged)).auth == b"\x07" * 32
    assert decode(raw(a=b"tag")).auth == b"tag"


@pytest.mark.parametrize("auth", ["text", 5, None, bytearray(b"x"), b"x" * 129])
def test_bad_auth_is_refused(auth: object) -> None:
    with pytest.raises(EnvelopeError, match="auth must be"):
        good(auth=auth)
    if isinstance(auth, str | int | bytes):
        with pytest.raises(EnvelopeError, match="auth must be"):
            decode(raw(a=auth))


def test_signed_bytes_ignore_auth_and_payload_order() -> None:
    one = good(payload={"c": b"\x01", "n": 3})
    other = good(payload={"n": 3, "c": b"\x01"}, auth=b"tag")
    assert signed_bytes(one) == signed_bytes(other)
    assert signed_bytes(decode(encode(other))) == signed_bytes(one)


@pytest.mark.parametrize(
    "changes",
    [
        {"run": "run2"},
        {"iteration": 8},
        {"sender": "c"},
        {"receiver": "c"},
        {"receiver": BROADCAST},
        {"kind": Kind.REPLY},
        {"payload": {"c": b"\x01\x03", "n": 3}},
        {"payload": {"c": b"\x01\x02", "n": 4}},
        {"payload": {"c": b"\x01\x02", "n": 3, "x": b""}},
        {"payload": {"c": b"\x01\x02", "n": True}},
        {"payload": {"c": b"\x01\x02", "n": 3.0}},
        {"payload": {"c": "\x01\x02", "n": 3}},
    ],
)
def test_signed_bytes_cover_every_header_field_and_the_payload(changes: dict[str, Any]) -> None:
    assert signed_bytes(good(**changes)) != signed_bytes(good())


@given(envelopes())
def test_signed_bytes_survive_the_wire(envelope: Envelope) -> None:
    assert signed_bytes(decode(encode(envelope))) == signed_bytes(envelope)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_envelope_error(data: bytes) -> None:
    try:
        envelope = decode(data)
    except EnvelopeError:
        return
    assert isinstance(envelope, Envelope)


def test_payload_is_read_only_and_a_copy() -> None:
    source = {"x": 1}
    envelope = good(payload=source)
    source["x"] = 2
    assert envelope.payload["x"] == 1
    with pytest.raises(TypeError):
        envelope.payload["x"] = 3  # type: ignore[index]


# --- refusals on decode -------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1, 3, True, 2.0, "2", [2]])
def test_wrong_version_is_refused(version: object) -> None:
    with pytest.raises(EnvelopeError, match="version"):
        decode(raw(v=version))


@pytest.mark.parametrize("kind", ["ping", "KEY", "", 1, [], b"key"])
def test_unknown_kind_is_refused(kind: object) -> None:
    with pytest.raises(EnvelopeError, match="kind"):
        decode(raw(kind=kind))


@pytest.mark.parametrize("field", ["run", "from", "to"])
@pytest.mark.parametrize("bad", ["a+b", "a#", "#", "+", "a/b", "", "x" * 65, "é", 5, b"a"])
def test_bad_ids_are_refused(field: str, bad: object) -> None:
    with pytest.raises(EnvelopeError):
        decode(raw(**{field: bad}))


@pytest.mark.parametrize("iteration", [-1, True, False, 1.0, "7", 2**53, None])
def test_bad_iterations_are_refused(iteration: object) -> None:
    with pytest.raises(EnvelopeError):
        decode(raw(k=iteration))


@pytest.mark.parametrize("doc", [[1, 2], 5, "envelope", b"envelope", None, 1.5])
def test_non_map_is_refused(doc: object) -> None:
    with pytest.raises(EnvelopeError, match="must be a map"):
        decode(msgpack.packb(doc, use_bin_type=True))


@pytest.mark.parametrize("field", ["v", "run", "k", "from", "to", "kind", "p", "a"])
def test_missing_field_is_refused(field: str) -> None:
    with pytest.raises(EnvelopeError, match="must be a map with fields"):
        decode(raw(**{field: None}))


def test_extra_field_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="must be a map with fields"):
        decode(raw(extra=1))


@pytest.mark.parametrize(
    "payload", [[1], "p", 5, {"k": [1, 2]}, {"k": {"nested": 1}}, {"k": None}, {b"k": 1}]
)
def test_bad_payloads_are_refused(payload: object) -> None:
    with pytest.raises(EnvelopeError):
        decode(raw(p=payload))


def test_sender_equal_to_receiver_is_refused() -> None:
    with pytest.raises(EnvelopeError, match="both"):
        decode(raw(to="a"))


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\xff" * 10, b"\x92\x01", "text"])
def test_garbage_is_refused(data: Any) -> None:
    with pytest.raises(EnvelopeError):
        decode(data)


def test_every_truncation_is_refused() -> None:
    data = encode(good())
    for end in range(len(data)):
        with pytest.raises(EnvelopeError):
            decode(data[:end])


def test_trailing_bytes_are_refused() -> None:
    with pytest.raises(EnvelopeError):
        decode(encode(good()) + b"\x00")


def test_oversize_is_refused_before_parsing() -> None:
    with pytest.raises(EnvelopeError, match="exceeds"):
        decode(b"\x00" * (MAX_ENVELOPE_BYTES + 1))


# --- refusals on construction and encode ---------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"run": "a/b"},
        {"sender": "+"},
        {"receiver": "#"},
        {"receiver": "a"},
        {"iteration": -1},
        {"iteration": True},
        {"kind": "ping"},
        {"version": VERSION + 1},
        {"payload": [("a", 1)]},
        {"payload": {1: 1}},
        {"payload": {"a": np.int64(1)}},
        {"payload": {"big": 2**64}},
        {"payload": {"small": -(2**63) - 1}},
        {"payload": {"s": "é" * 40000}},
        {"payload": {str(i): i for i in range(1025)}},
    ],
)
def test_bad_envelopes_are_refused_on_construction(changes: dict[str, Any]) -> None:
    with pytest.raises(EnvelopeError):
        good(**changes)


def test_kind_given_as_a_string_becomes_a_kind() -> None:
    assert good(kind="reply").kind is Kind.REPLY


def test_encode_refuses_what_decode_would_refuse() -> None:
    with pytest.raises(EnvelopeError, match="exceeds"):
        encode(good(payload={"c": bytes(MAX_ENVELOPE_BYTES)}))


def test_validate_id() -> None:
    assert validate_id("agent_1.b-2") == "agent_1.b-2"
    for bad in ["a+", "a#b", "a/b", "", "x" * 65, None, 3]:
        with pytest.raises(EnvelopeError, match="run id"):
            validate_id(bad, what="run id")


# --- fixed-width integers and floats ------------------------------------------------------


@pytest.mark.parametrize("width", [1, 2, 8, 256, 512])
def test_pack_ints_is_fixed_width(width: int) -> None:
    values = [0, 1, 2 ** (8 * width) - 1]
    blob = pack_ints(values, width)
    assert len(blob) == 3 * width
    assert blob[:width] == bytes(width)
    assert unpack_ints(blob, width, count=3) == values


def test_pack_ints_big_endian_and_signed() -> None:
    assert pack_ints([1, 258], 2) == b"\x00\x01\x01\x02"
    assert pack_ints([-1, -(2**15)], 2, signed=True) == b"\xff\xff\x80\x00"
    assert unpack_ints(b"\xff\xff\x80\x00", 2, signed=True) == [-1, -(2**15)]
    assert unpack_ints(b"\xff\xff", 2) == [65535]


def test_pack_ints_takes_numpy_and_python_ints_but_not_floats() -> None:
    assert pack_ints(np.array([1, 2], dtype=np.int64), 1) == b"\x01\x02"
    with pytest.raises(EnvelopeError, match="integers only"):
        pack_ints([1.7], 1)  # type: ignore[list-item]  # refused at run time too
    with pytest.raises(EnvelopeError, match="integers only"):
        pack_ints(["12"], 1)  # type: ignore[list-item]  # refused at run time too


@pytest.mark.parametrize(
    ("values", "width", "signed"),
    [([256], 1, False), ([-1], 4, False), ([128], 1, True), ([2**4096], 512, False)],
)
def test_pack_ints_refuses_what_does_not_fit(values: list[int], width: int, signed: bool) -> None:
    with pytest.raises(EnvelopeError, match="does not fit"):
        pack_ints(values, width, signed=signed)


@pytest.mark.parametrize("width", [0, -1])
def test_pack_ints_refuses_bad_widths(width: int) -> None:
    with pytest.raises(EnvelopeError):
        pack_ints([0], width)
    with pytest.raises(EnvelopeError):
        unpack_ints(b"\x00", width)


def test_unpack_ints_checks_length_and_count() -> None:
    with pytest.raises(EnvelopeError, match="whole number"):
        unpack_ints(b"\x00" * 5, 2)
    with pytest.raises(EnvelopeError, match="expected 3"):
        unpack_ints(b"\x00" * 4, 2, count=3)
    with pytest.raises(EnvelopeError):
        unpack_ints("abcd", 2)  # type: ignore[arg-type]
    assert unpack_ints(b"", 4, count=0) == []


@given(
    width=st.integers(min_value=1, max_value=64),
    data=st.data(),
    signed=st.booleans(),
)
def test_ints_round_trip_property(width: int, data: st.DataObject, signed: bool) -> None:
    bits = 8 * width
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    values = data.draw(st.lists(st.integers(min_value=low, max_value=high), max_size=20))
    blob = pack_ints(values, width, signed=signed)
    assert len(blob) == width * len(values)
    assert unpack_ints(blob, width, count=len(values), signed=signed) == values


def test_floats_round_trip() -> None:
    values = [0.0, -1.5, 1e-300, 3.0e300, -0.0]
    blob = pack_floats(values)
    assert len(blob) == 8 * len(values)
    assert blob[:8] == b"\x00" * 8
    back = unpack_floats(blob, count=len(values))
    assert back.dtype == np.float64
    assert back.tolist() == values
    assert math.copysign(1.0, back[-1]) == -1.0
    back[0] = 1.0  # a writable copy, not a view of the message


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_unpack_floats_refuses_non_finite(bad: float) -> None:
    with pytest.raises(EnvelopeError, match="NaN or infinity"):
        unpack_floats(pack_floats([1.0, bad]), count=2)


def test_unpack_floats_checks_count() -> None:
    with pytest.raises(EnvelopeError, match="expected 3"):
        unpack_floats(pack_floats([1.0, 2.0]), count=3)
    with pytest.raises(EnvelopeError):
        unpack_floats(pack_floats([1.0])[:-1], count=1)


def test_with_auth_is_the_same_envelope_with_its_tag() -> None:
    envelope = good(payload={"c": b"\x01", "n": 3})
    sealed = envelope.with_auth(b"\x07" * 32)
    assert sealed == good(payload={"c": b"\x01", "n": 3}, auth=b"\x07" * 32)
    assert envelope.auth == b""  # the original keeps no tag
    assert signed_bytes(sealed) == signed_bytes(envelope)
    assert decode(encode(sealed)) == sealed


@pytest.mark.parametrize("auth", ["text", 5, None, bytearray(b"x"), b"x" * 129])
def test_with_auth_refuses_a_bad_tag(auth: object) -> None:
    with pytest.raises(EnvelopeError, match="auth must be"):
        good().with_auth(auth)  # type: ignore[arg-type]
