"""The secure edge protocol, as payloads (DESIGN.md, The secure edge protocol).

For one edge i-j and one iteration, in the direction i asks j:

1. i -> j  request  E_i(-[x_i])                        (i's own key)
2. j       reply    (E_i(-[x_i]) * g^[x_j])^[a_ji] * r^n = E_i([a_ji]([x_j] - [x_i]))
3. j -> i  reply, re-randomized by the fresh r^n
4. i       decrypts and multiplies by its own [a_ij]

or, aggregating before decrypting (per-edge weights), i raises every reply to its own
[a_ij], multiplies them and decrypts once per packed ciphertext:
E_i(sum_j [a_ij][a_ji]([x_j] - [x_i])) (:meth:`EdgeProtocol.open_sum`). The slots of
i's requests are then sized for that sum; i announces its layout with its key, and
its neighbours pack their replies to i in it.

:class:`PaillierEdge` does this under encryption, :class:`ClearEdge` computes the
same integers in the clear (the ``clear`` baseline). Both validate what a
neighbour sent before using it and raise :class:`ProtocolError` otherwise.

A reply that decrypts is not yet a term to use: Paillier is malleable and the key
is public, so anyone may encrypt any value under it. :func:`check_term` bounds what
an honest neighbour can have computed, |[a_ji]([x_j] - [x_i])| <= a_high * 2 * bound
per slot (the public weight range times the quantizer's range, :func:`term_bound`);
a decrypted term beyond it is refused. It is a function of the decrypted integers
and a bound only, so it serves one edge's term and a sum of terms alike (for a sum
of ``d`` terms, ``d`` times the bound).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from transport import EnvelopeError, pack_ints, unpack_ints

from ._crypto import CryptoBackend
from ._errors import ConfigError, CryptoError, ProtocolError, QuantizationOverflow
from ._packing import SlotLayout
from ._paillier import PublicKey, SecretKey
from ._quantize import from_residue, to_residue

Payload = Mapping[str, Any]

CHECKED_PAYLOADS = 32
"""Admitted payloads whose checked ciphertexts an edge keeps until they are used, beyond
four per neighbour (the oldest go first; one evicted is checked again when used)."""
CLEAR_INT_BYTES = 16
"""Width of a signed integer in a clear payload (|a dx| < 2^(52 + 1 + 32))."""


class EdgeProtocol(Protocol):
    """One agent's side of the edge protocol with all its neighbours."""

    def announcement(self) -> Payload:
        """The payload of this agent's ``key`` message."""

    def learn(self, neighbour: str, payload: Payload) -> None:
        """Record a neighbour's ``key`` message; raise ProtocolError if it is invalid."""

    def knows(self, neighbour: str) -> bool: ...

    async def request(self, quantized: Sequence[int]) -> Payload:
        """The request carrying -[x_i]."""

    def check_request(self, neighbour: str, payload: Payload) -> None: ...

    async def serve(
        self, neighbour: str, payload: Payload, quantized: Sequence[int], weights: Sequence[int]
    ) -> Payload:
        """The reply carrying [a_ji]([x_j] - [x_i]) for the neighbour's request."""

    def check_reply(self, payload: Payload) -> None: ...

    async def open(self, payload: Payload) -> list[int]:
        """The signed integers [a_ji]([x_j] - [x_i]) of a reply."""

    async def open_sum(
        self, replies: Mapping[str, Payload], weights: Mapping[str, int]
    ) -> list[int]:
        """sum_j weights[j] [a_ji]([x_j] - [x_i]) over the replies (one scalar weight per
        reply), the same integers as summing :meth:`open`'s times the weights."""


def term_bound(weight_high: int, value_bound: int) -> int:
    """The largest |[a]([x_j] - [x_i])| an honest neighbour can send: its weight half is
    at most ``weight_high`` and each quantized state is below ``value_bound`` in
    magnitude (the quantizer's bound)."""
    if weight_high < 1 or value_bound < 1:
        raise ConfigError(f"a term bound needs positive factors, got {weight_high}, {value_bound}")
    return weight_high * 2 * value_bound


def check_term(values: Sequence[int], bound: int) -> None:
    """Refuse (ProtocolError) a decrypted coupling term with a slot beyond ``bound`` in
    magnitude: no honest neighbour computed it. Names the first such slot."""
    for slot, value in enumerate(values):
        if not -bound <= value <= bound:
            raise ProtocolError(
                f"decrypted term out of range in slot {slot}: |{value}| > {bound} "
                "(public weight range times the quantizer bound)"
            )


def _field(payload: Payload, name: str) -> bytes:
    value = payload.get(name)
    if not isinstance(value, bytes):
        raise ProtocolError(f"payload field {name!r} missing or not bytes")
    return value


class PaillierEdge:
    """The protocol under each agent's own Paillier key.

    With a ``layout`` the vectors travel packed, many slots per ciphertext. Under
    one weight per edge both ways are packed; with ``per_coordinate`` weights the
    request goes one value per ciphertext (each coordinate needs its own exponent)
    and the neighbour packs its reply homomorphically. Without a layout every
    value has its own ciphertext (the naive protocol).

    ``layout`` is this agent's: its requests and the replies to them use it, and it is
    announced with the key; a neighbour's requests are read and served in the layout
    that neighbour announced (this agent's own if it announced none).
    """

    def __init__(
        self,
        key: SecretKey,
        crypto: CryptoBackend,
        *,
        dim: int,
        layout: SlotLayout | None = None,
        per_coordinate: bool = False,
        base: int | None = None,
        value_bound: int | None = None,
    ) -> None:
        """``base``: a fixed base h = r0^n under ``key`` to publish, letting neighbours
        obfuscate replies with a short exponent (see agents._paillier.obfuscator).
        ``value_bound``: the largest |[x]| this agent sends; a neighbour's announced
        layout with slots too narrow for it is refused."""
        self._key = key
        self._base = base
        self._crypto = crypto
        self._dim = dim
        self._layout = layout
        self._per_coordinate = per_coordinate
        self._value_bound = value_bound or 0
        self._keys: dict[str, PublicKey] = {}
        self._layouts: dict[str, SlotLayout | None] = {}
        self._reply_count = self._count(layout)
        self._checked: OrderedDict[tuple[bytes, int, int], list[int]] = OrderedDict()

    def _count(self, layout: SlotLayout | None) -> int:
        return layout.chunks(self._dim) if layout is not None else self._dim

    def _request_count(self, neighbour: str) -> int:
        if self._per_coordinate:
            return self._dim
        return self._count(self._layouts.get(neighbour, self._layout))

    @property
    def public(self) -> PublicKey:
        return self._key.public

    def announcement(self) -> Payload:
        payload: dict[str, Any] = {"n": self._key.public.to_bytes()}
        if self._base is not None:
            payload["h"] = self._base.to_bytes(self._key.public.ciphertext_bytes, "big")
        if self._layout is not None:
            payload["slot_bits"] = self._layout.slot_bits
            payload["slots"] = self._layout.slots
        return payload

    def learn(self, neighbour: str, payload: Payload) -> None:
        try:
            n = PublicKey.from_bytes(_field(payload, "n")).n
            h = int.from_bytes(_field(payload, "h"), "big") if "h" in payload else None
            key = PublicKey(n, h)
        except CryptoError as exc:
            raise ProtocolError(f"invalid public key: {exc}") from exc
        if key.bits != self._key.public.bits:
            raise ProtocolError(
                f"public key of {key.bits} bits, the run uses {self._key.public.bits}"
            )
        layout = self._announced_layout(payload, key)
        known = self._keys.get(neighbour)
        if known is not None and (known != key or self._layouts[neighbour] != layout):
            raise ProtocolError("a different public key than the one already announced")
        self._keys[neighbour] = key
        self._layouts[neighbour] = layout

    def _announced_layout(self, payload: Payload, key: PublicKey) -> SlotLayout | None:
        if "slot_bits" not in payload and "slots" not in payload:
            return self._layout
        slot_bits, slots = payload.get("slot_bits"), payload.get("slots")
        if not (type(slot_bits) is int and type(slots) is int):
            raise ProtocolError("announced slot layout: slot_bits and slots must be integers")
        if self._layout is None:
            raise ProtocolError("announced a packed layout; this run does not pack")
        if not (slot_bits >= 2 and slots >= 1 and slots * slot_bits <= key.bits - 3):
            raise ProtocolError(
                f"announced slot layout {slots} x {slot_bits} bits does not fit a "
                f"{key.bits}-bit key"
            )
        layout = SlotLayout(slot_bits=slot_bits, slots=slots)
        if layout.limit <= self._value_bound:
            raise ProtocolError(f"announced {slot_bits}-bit slots cannot hold this agent's values")
        return layout

    def knows(self, neighbour: str) -> bool:
        return neighbour in self._keys

    def _ciphertexts(
        self, payload: Payload, key: PublicKey, count: int, *, keep: bool = False
    ) -> list[int]:
        """The payload's ciphertexts under ``key``, each checked (range, coprime to n).
        A payload is checked when it is admitted (``keep``: its integers are kept) and
        used once it is served or opened: that use takes the checked integers instead of
        checking the same bytes again."""
        blob = _field(payload, "c")
        ident = (blob, key.n, count)
        checked = self._checked.pop(ident, None)
        if checked is not None:
            if keep:
                self._checked[ident] = checked
            return checked
        try:
            values = unpack_ints(blob, key.ciphertext_bytes, count=count)
        except EnvelopeError as exc:
            raise ProtocolError(str(exc)) from exc
        for c in values:
            try:
                key.check_ciphertext(c)
            except CryptoError as exc:
                raise ProtocolError(str(exc)) from exc
        if keep:
            self._checked[ident] = values
            while len(self._checked) > CHECKED_PAYLOADS + 4 * len(self._keys):
                self._checked.popitem(last=False)
        return values

    def _plaintexts(self, values: Sequence[int], *, pack: bool) -> list[int]:
        return self._layout.pack(values) if pack and self._layout is not None else list(values)

    async def request(self, quantized: Sequence[int]) -> Payload:
        n = self._key.public.n
        plain = self._plaintexts([-q for q in quantized], pack=not self._per_coordinate)
        residues = [to_residue(m, n) for m in plain]
        cts = await self._crypto.encrypt(self._key, residues, base=self._base)
        return {"c": pack_ints(cts, self._key.public.ciphertext_bytes)}

    def check_request(self, neighbour: str, payload: Payload) -> None:
        key = self._keys.get(neighbour)
        if key is None:
            raise ProtocolError("request before the neighbour's public key")
        self._ciphertexts(payload, key, self._request_count(neighbour), keep=True)

    async def serve(
        self, neighbour: str, payload: Payload, quantized: Sequence[int], weights: Sequence[int]
    ) -> Payload:
        key, layout = self._keys[neighbour], self._layouts[neighbour]
        cts = self._ciphertexts(payload, key, self._request_count(neighbour))
        if layout is not None and self._per_coordinate:
            residues = [to_residue(q, key.n) for q in quantized]
            reply = await self._crypto.serve_packed(key, cts, residues, weights, layout)
        else:
            plain = list(quantized)
            if layout is not None:
                if len(set(weights)) != 1:
                    raise ProtocolError("packed requests take one weight per edge")
                weights = [weights[0]] * layout.chunks(self._dim)
                plain = layout.pack(plain)
            residues = [to_residue(m, key.n) for m in plain]
            reply = await self._crypto.serve(key, cts, residues, weights)
        return {"c": pack_ints(reply, key.ciphertext_bytes)}

    def check_reply(self, payload: Payload) -> None:
        self._ciphertexts(payload, self._key.public, self._reply_count, keep=True)

    async def open(self, payload: Payload) -> list[int]:
        cts = self._ciphertexts(payload, self._key.public, self._reply_count)
        return self._decode(await self._crypto.decrypt(self._key, cts), "reply")

    async def open_sum(
        self, replies: Mapping[str, Payload], weights: Mapping[str, int]
    ) -> list[int]:
        if self._per_coordinate:
            raise ProtocolError("per-coordinate weights cannot be aggregated under one scalar")
        public = self._key.public
        order = sorted(replies)
        cts = [self._ciphertexts(replies[n], public, self._reply_count) for n in order]
        residues = await self._crypto.decrypt_sum(self._key, cts, [weights[n] for n in order])
        return self._decode(residues, "sum of replies")

    def _decode(self, residues: Sequence[int], what: str) -> list[int]:
        n = self._key.public.n
        plain = [from_residue(m, n) for m in residues]
        if self._layout is None:
            return plain
        try:
            return self._layout.unpack(plain, self._dim)
        except QuantizationOverflow as exc:
            raise ProtocolError(f"{what} does not decode: {exc}") from exc


class ClearEdge:
    """The same integers as :class:`PaillierEdge`, with no encryption at all."""

    def __init__(self, *, dim: int) -> None:
        self._dim = dim
        self._known: set[str] = set()

    def announcement(self) -> Payload:
        return {}

    def learn(self, neighbour: str, payload: Payload) -> None:
        self._known.add(neighbour)

    def knows(self, neighbour: str) -> bool:
        return neighbour in self._known

    def _ints(self, payload: Payload) -> list[int]:
        try:
            return unpack_ints(_field(payload, "v"), CLEAR_INT_BYTES, count=self._dim, signed=True)
        except EnvelopeError as exc:
            raise ProtocolError(str(exc)) from exc

    async def request(self, quantized: Sequence[int]) -> Payload:
        return {"v": pack_ints((-q for q in quantized), CLEAR_INT_BYTES, signed=True)}

    def check_request(self, neighbour: str, payload: Payload) -> None:
        self._ints(payload)

    async def serve(
        self, neighbour: str, payload: Payload, quantized: Sequence[int], weights: Sequence[int]
    ) -> Payload:
        neg = self._ints(payload)
        values = [a * (q + m) for a, q, m in zip(weights, quantized, neg, strict=True)]
        try:
            return {"v": pack_ints(values, CLEAR_INT_BYTES, signed=True)}
        except EnvelopeError as exc:
            raise ProtocolError(str(exc)) from exc

    def check_reply(self, payload: Payload) -> None:
        self._ints(payload)

    async def open(self, payload: Payload) -> list[int]:
        return self._ints(payload)

    async def open_sum(
        self, replies: Mapping[str, Payload], weights: Mapping[str, int]
    ) -> list[int]:
        total = [0] * self._dim
        for n in sorted(replies):
            a = weights[n]
            total = [t + a * v for t, v in zip(total, self._ints(replies[n]), strict=True)]
        return total
