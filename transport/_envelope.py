"""The wire format: a versioned msgpack envelope, strictly validated on decode.

An envelope carries one message of the agent protocol: who sends it to whom, in
which run and iteration, of what kind, and a payload that is a flat mapping of
short string keys to bytes, ints, floats or strings. Large integers (Paillier
ciphertexts) never go into msgpack as ints: they travel as fixed-width
big-endian bytes, see :func:`pack_ints`.

An envelope may carry an opaque ``auth`` tag (a MAC or a signature made by the
agents; the transport never looks inside it). :func:`signed_bytes` gives the
canonical bytes such a tag covers: every header field and the payload.
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import msgpack
import numpy as np
import numpy.typing as npt

from ._errors import EnvelopeError

VERSION = 2
"""2: the ``auth`` field (``a`` on the wire)."""
MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
"""Upper bound on one encoded envelope; larger inputs are refused before parsing."""

BROADCAST = "*"
"""Receiver of messages meant for every neighbour (public keys, goodbyes)."""

_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_MAX_ITERATION = 2**53
_PAYLOAD_TYPES = (bytes, int, float, str, bool)
# What decode() accepts; an envelope is refused on construction if a receiver would refuse it.
_MAX_STR_BYTES = 1 << 16
_MAX_PAYLOAD_ENTRIES = 1 << 10
_MSGPACK_INTS = range(-(2**63), 2**64)
MAX_AUTH_BYTES = 128
"""Upper bound on the ``auth`` tag (an HMAC-SHA256 is 32 bytes, an Ed25519 signature 64)."""


class Kind(enum.StrEnum):
    """What a message is for; see DESIGN.md, Transport."""

    KEY = "key"
    REQUEST = "request"
    REPLY = "reply"
    STATE = "state"
    SKIP = "skip"
    """I dropped your term of this iteration: drop mine (keeps the coupling symmetric)."""
    BYE = "bye"


def validate_id(value: object, *, what: str = "agent id") -> str:
    """Return ``value`` if it is a safe agent or run id, else raise :class:`EnvelopeError`.

    Ids become MQTT topic levels and broker usernames, so only letters, digits,
    ``_``, ``.`` and ``-`` are allowed (no ``+``, ``#`` or ``/``), 1 to 64 of them.
    """
    if not isinstance(value, str) or _ID.fullmatch(value) is None:
        raise EnvelopeError(f"{what} must be 1-64 characters of [A-Za-z0-9_.-], got {value!r}")
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class Envelope:
    """One message between two agents of one run."""

    run: str
    iteration: int
    sender: str
    receiver: str
    kind: Kind
    payload: Mapping[str, Any] = field(default_factory=dict)
    auth: bytes = b""
    """Opaque authentication tag over :func:`signed_bytes` (empty: none)."""
    version: int = VERSION

    def __post_init__(self) -> None:
        if type(self.version) is not int or self.version != VERSION:
            raise EnvelopeError(f"unsupported envelope version {self.version!r}")
        validate_id(self.run, what="run id")
        validate_id(self.sender, what="sender")
        if self.receiver != BROADCAST:
            validate_id(self.receiver, what="receiver")
        if self.receiver == self.sender:
            raise EnvelopeError(f"sender and receiver are both {self.sender!r}")
        if type(self.iteration) is not int or not 0 <= self.iteration < _MAX_ITERATION:
            raise EnvelopeError(f"iteration must be an int in [0, 2**53), got {self.iteration!r}")
        try:
            kind = Kind(self.kind)
        except ValueError:
            raise EnvelopeError(f"unknown message kind {self.kind!r}") from None
        object.__setattr__(self, "kind", kind)
        if not isinstance(self.payload, Mapping):
            raise EnvelopeError(f"payload must be a mapping, got {type(self.payload).__name__}")
        if len(self.payload) > _MAX_PAYLOAD_ENTRIES:
            raise EnvelopeError(f"payload has more than {_MAX_PAYLOAD_ENTRIES} entries")
        for key, value in self.payload.items():
            if not isinstance(key, str) or not isinstance(value, _PAYLOAD_TYPES):
                raise EnvelopeError(f"payload entry {key!r} has unsupported type")
            if type(value) is int and value not in _MSGPACK_INTS:
                raise EnvelopeError(
                    f"payload entry {key!r} does not fit in 64 bits: send it with pack_ints"
                )
            for text in (key, value) if isinstance(value, str) else (key,):
                if len(text) > _MAX_STR_BYTES // 4 and len(text.encode()) > _MAX_STR_BYTES:
                    raise EnvelopeError(f"payload entry {key[:32]!r}: string over 64 KiB")
        object.__setattr__(self, "payload", MappingProxyType(dict(self.payload)))
        _check_auth(self.auth)

    def with_auth(self, auth: bytes) -> Envelope:
        """This envelope with the tag ``auth``: only the tag is checked (the rest was when
        this one was made), and the payload's read-only view is shared."""
        _check_auth(auth)
        sealed: Envelope = object.__new__(Envelope)
        for name in _SAME_FIELDS:
            object.__setattr__(sealed, name, getattr(self, name))
        object.__setattr__(sealed, "auth", auth)
        return sealed


_SAME_FIELDS = ("run", "iteration", "sender", "receiver", "kind", "payload", "version")


def _check_auth(auth: object) -> None:
    if type(auth) is not bytes or len(auth) > MAX_AUTH_BYTES:
        shown = len(auth) if isinstance(auth, bytes) else type(auth).__name__
        raise EnvelopeError(f"auth must be at most {MAX_AUTH_BYTES} bytes, got {shown}")


_FIELDS = ("v", "run", "k", "from", "to", "kind", "p", "a")


def signed_bytes(envelope: Envelope) -> bytes:
    """The canonical bytes an ``auth`` tag covers: msgpack of the version, run,
    iteration, sender, receiver, kind and the payload with its keys sorted (the
    ``auth`` field itself excluded). Equal envelopes give equal bytes, whatever order
    their payload was built in."""
    header = [
        envelope.version,
        envelope.run,
        envelope.iteration,
        envelope.sender,
        envelope.receiver,
        envelope.kind.value,
    ]
    payload = [[key, envelope.payload[key]] for key in sorted(envelope.payload)]
    data: bytes = msgpack.packb([header, payload], use_bin_type=True)
    return data


def encode(envelope: Envelope) -> bytes:
    """Serialize an envelope to msgpack bytes."""
    doc = {
        "v": envelope.version,
        "run": envelope.run,
        "k": envelope.iteration,
        "from": envelope.sender,
        "to": envelope.receiver,
        "kind": envelope.kind.value,
        "p": dict(envelope.payload),
        "a": envelope.auth,
    }
    data: bytes = msgpack.packb(doc, use_bin_type=True)
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"envelope of {len(data)} bytes exceeds {MAX_ENVELOPE_BYTES}")
    return data


def decode(data: bytes) -> Envelope:
    """Parse and validate msgpack bytes; raise :class:`EnvelopeError` on anything off."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise EnvelopeError(f"envelope must be bytes, got {type(data).__name__}")
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"envelope of {len(data)} bytes exceeds {MAX_ENVELOPE_BYTES}")
    try:
        doc = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            max_str_len=_MAX_STR_BYTES,
            max_array_len=1 << 16,
            max_map_len=_MAX_PAYLOAD_ENTRIES,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises a zoo of types on garbage
        raise EnvelopeError(f"not a msgpack envelope: {exc}") from exc
    if not isinstance(doc, dict) or set(doc) != set(_FIELDS):
        keys = sorted(map(str, doc)) if isinstance(doc, dict) else type(doc).__name__
        raise EnvelopeError(f"envelope must be a map with fields {_FIELDS}, got {keys}")
    if type(doc["v"]) is not int or doc["v"] != VERSION:  # True == 1 == 1.0 in Python
        raise EnvelopeError(f"unsupported envelope version {doc['v']!r}")
    if not isinstance(doc["kind"], str):
        raise EnvelopeError(f"unknown message kind {doc['kind']!r}")
    try:
        kind = Kind(doc["kind"])
    except ValueError:
        raise EnvelopeError(f"unknown message kind {doc['kind']!r}") from None
    return Envelope(
        version=doc["v"],
        run=doc["run"],
        iteration=doc["k"],
        sender=doc["from"],
        receiver=doc["to"],
        kind=kind,
        payload=doc["p"],
        auth=doc["a"],
    )


def pack_ints(values: Iterable[int], width: int, *, signed: bool = False) -> bytes:
    """Concatenate integers as fixed-width big-endian fields of ``width`` bytes each.

    Values must be integers (Python, numpy or gmpy2 ones): a float is refused, not truncated.
    """
    if type(width) is not int or width <= 0:
        raise EnvelopeError(f"width must be a positive int, got {width!r}")
    try:
        return b"".join(operator.index(v).to_bytes(width, "big", signed=signed) for v in values)
    except OverflowError as exc:
        raise EnvelopeError(f"integer does not fit in {width} bytes") from exc
    except TypeError as exc:
        raise EnvelopeError(f"pack_ints takes integers only: {exc}") from exc


def unpack_ints(
    blob: bytes, width: int, *, count: int | None = None, signed: bool = False
) -> list[int]:
    """Inverse of :func:`pack_ints`; checks the length (and ``count`` when given)."""
    if not isinstance(blob, bytes | bytearray) or width <= 0 or len(blob) % width:
        size = len(blob) if isinstance(blob, bytes | bytearray) else type(blob).__name__
        raise EnvelopeError(f"field of {size} bytes is not a whole number of {width}-byte integers")
    if count is not None and len(blob) != count * width:
        raise EnvelopeError(f"expected {count} integers of {width} bytes, got {len(blob) // width}")
    return [
        int.from_bytes(blob[i : i + width], "big", signed=signed)
        for i in range(0, len(blob), width)
    ]


def pack_floats(values: npt.ArrayLike) -> bytes:
    """Float64 vector as big-endian bytes (for baselines that share states in the clear)."""
    return np.asarray(values, dtype=">f8").tobytes()


def unpack_floats(blob: bytes, *, count: int) -> npt.NDArray[np.float64]:
    """Inverse of :func:`pack_floats`, checking the length and finiteness."""
    if not isinstance(blob, bytes | bytearray) or len(blob) != 8 * count:
        raise EnvelopeError(f"expected {count} float64 values")
    values = np.frombuffer(blob, dtype=">f8").astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise EnvelopeError("float vector holds NaN or infinity")
    return values
