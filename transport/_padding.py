"""Fixed-size envelopes: every message an endpoint sends is padded to one length.

Without TLS an eavesdropper reads each envelope's kind anyway; over TLS only
sizes and timing show, and sizes would tell a ``skip`` or ``bye`` from a
request or a reply. :class:`PaddedTransport` adds a filler payload entry so that
every encoded envelope is exactly ``size`` bytes, and strips it on receipt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from ._endpoint import Endpoint, EndpointWrapper, Transport
from ._envelope import Envelope, encode
from ._errors import EnvelopeError

MIN_FILLER = 8
"""Bytes the smallest filler entry takes: key, its header and an empty bin header."""

PAD_FIELDS = ("_pad", "_padd", "_paddd")
"""Filler entries; each key is one byte longer than the one before, for the lengths a
msgpack header boundary (up to two) lets one key not reach exactly."""


def pad(envelope: Envelope, size: int) -> Envelope:
    """``envelope`` with a filler entry making its encoding exactly ``size`` bytes."""
    if any(name in envelope.payload for name in PAD_FIELDS):
        raise EnvelopeError("payload already holds a padding field")
    natural = len(encode(envelope))
    if natural == size:
        return envelope
    for name in PAD_FIELDS:
        filler = max(0, size - natural - MIN_FILLER)
        for _ in range(4):
            padded = dataclasses.replace(
                envelope, payload={**envelope.payload, name: bytes(filler)}
            )
            length = len(encode(padded))
            if length == size:
                return padded
            filler += size - length
            if filler < 0:
                break
    raise EnvelopeError(
        f"a {envelope.kind} envelope of {natural} bytes does not fit pad_to = {size}: "
        f"pad_to must exceed every envelope by at least {MIN_FILLER} bytes"
    )


def unpad(envelope: Envelope) -> Envelope:
    """``envelope`` without its filler entry."""
    if not any(name in envelope.payload for name in PAD_FIELDS):
        return envelope
    payload = {k: v for k, v in envelope.payload.items() if k not in PAD_FIELDS}
    return dataclasses.replace(envelope, payload=payload)


class PaddedTransport:
    """Wraps a transport so that its endpoints send envelopes of exactly ``size`` bytes."""

    def __init__(self, inner: Transport, size: int) -> None:
        if size < 64:
            raise EnvelopeError(f"pad_to must be at least 64 bytes, got {size}")
        self._inner = inner
        self._size = size

    @property
    def run(self) -> str:
        return self._inner.run

    @property
    def size(self) -> int:
        return self._size

    def endpoint(self, agent_id: str, *, neighbours: Collection[str]) -> PaddedEndpoint:
        return PaddedEndpoint(self._inner.endpoint(agent_id, neighbours=neighbours), self._size)


class PaddedEndpoint(EndpointWrapper):
    """An endpoint whose envelopes all have one encoded size."""

    def __init__(self, inner: Endpoint, size: int) -> None:
        super().__init__(inner)
        self._size = size

    async def send(self, envelope: Envelope) -> None:
        await self._inner.send(pad(envelope, self._size))

    async def receive(self) -> Envelope:
        return unpad(await self._inner.receive())
