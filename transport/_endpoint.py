"""What every transport offers an agent: an endpoint that sends and receives envelopes.

An endpoint belongs to one agent of one run. It publishes envelopes on the
topic their kind and receiver call for, and hands back only envelopes that
decode, belong to this run and arrived on the topic that matches their sender
and receiver. Everything else is counted, logged and dropped here; the agent
then checks what only it can know (neighbours, iterations, ciphertexts).
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from ._chunks import DEFAULT_TIMEOUT, Expired, MessageIds, Reassembler, is_chunk, split
from ._envelope import BROADCAST, MAX_ENVELOPE_BYTES, Envelope, Kind, decode, encode, validate_id
from ._errors import ChunkError, EnvelopeError, TransportError
from ._topics import Topics

log = logging.getLogger("hemesh.transport")

INBOUND_QUEUE_LIMIT = 65536
"""Envelopes buffered per endpoint. The protocol keeps at most two iterations of
2 x degree messages in flight, so reaching this means a peer is flooding."""

EXPIRY_SLACK = 0.001
"""Seconds past a chunked message's deadline its timer fires (the loop may run a timer
a clock tick early)."""


@dataclass(slots=True)
class TrafficCounters:
    """Running totals of one endpoint's traffic: envelopes, and the bytes on the wire
    (frames' headers included when an envelope travels in chunks)."""

    messages_sent: int = 0
    bytes_sent: int = 0
    messages_received: int = 0
    bytes_received: int = 0
    dropped: int = 0
    chunks_sent: int = 0
    """Frames sent for envelopes above the size limit (0 when none was)."""
    chunks_received: int = 0


class Endpoint(Protocol):
    """One agent's connection to the run's message fabric."""

    @property
    def agent_id(self) -> str: ...

    @property
    def counters(self) -> TrafficCounters: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def send(self, envelope: Envelope) -> None:
        """Publish ``envelope`` (QoS 1 where the fabric has QoS)."""

    async def receive(self) -> Envelope:
        """The next valid envelope addressed to this agent."""


class Transport(Protocol):
    """A factory of endpoints for one run."""

    @property
    def run(self) -> str: ...

    def endpoint(self, agent_id: str, *, neighbours: Collection[str]) -> Endpoint:
        """An endpoint for ``agent_id`` that listens to ``neighbours``' keys and its inbox."""


class EndpointWrapper:
    """An endpoint that hands everything to another one; subclasses change what they need
    (fault injection, padding)."""

    def __init__(self, inner: Endpoint) -> None:
        self._inner = inner

    @property
    def agent_id(self) -> str:
        return self._inner.agent_id

    @property
    def counters(self) -> TrafficCounters:
        return self._inner.counters

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def send(self, envelope: Envelope) -> None:
        await self._inner.send(envelope)

    async def receive(self) -> Envelope:
        return await self._inner.receive()


def route(topics: Topics, envelope: Envelope) -> tuple[str, bool]:
    """The topic an envelope is published on, and whether it is retained."""
    if envelope.kind is Kind.KEY:
        if envelope.receiver != BROADCAST:
            raise EnvelopeError("public keys are broadcast: receiver must be '*'")
        return topics.key(envelope.sender), True
    if envelope.receiver == BROADCAST:
        raise EnvelopeError(f"a {envelope.kind} message needs one receiver, not '*'")
    # a goodbye stays: a neighbour restarted after this one left still learns it
    return topics.inbox(envelope.receiver, envelope.sender), envelope.kind is Kind.BYE


class EndpointBase(abc.ABC):
    """Routing, inbound validation, chunking, counters and lifecycle shared by the transports.

    An encoded envelope above ``max_message_bytes`` goes out as frames of at most that
    size (:mod:`._chunks`; None: never split) and is rejoined here on receipt; a frame
    that is bad, or a message whose frames do not all come within ``chunk_timeout``
    seconds, is dropped with one log line and counted in ``dropped``. Retained
    envelopes (keys, goodbyes) must fit in one message.
    """

    def __init__(
        self,
        topics: Topics,
        agent_id: str,
        neighbours: Collection[str],
        *,
        max_message_bytes: int | None = None,
        chunk_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._max_message_bytes = max_message_bytes
        self._reassembler = Reassembler(
            max_message_bytes=max_message_bytes or MAX_ENVELOPE_BYTES, timeout=chunk_timeout
        )
        self._message_ids = MessageIds()
        self._expiry: asyncio.TimerHandle | None = None
        self._topics = topics
        self._agent_id = validate_id(agent_id)
        self._neighbours = frozenset(validate_id(n) for n in neighbours)
        if self._agent_id in self._neighbours:
            raise TransportError(f"agent {agent_id!r} lists itself as a neighbour")
        self._counters = TrafficCounters()
        self._inbound: asyncio.Queue[Envelope] = asyncio.Queue(INBOUND_QUEUE_LIMIT)
        self._entered = False
        self._open = False

    @property
    def agent_id(self) -> str:
        return self._agent_id

    @property
    def counters(self) -> TrafficCounters:
        return self._counters

    def subscriptions(self) -> list[str]:
        """The topic filters this endpoint listens to: its inbox and its neighbours' keys."""
        keys = [self._topics.key(n) for n in sorted(self._neighbours)]
        return [self._topics.inbox_filter(self._agent_id), *keys]

    async def __aenter__(self) -> Self:
        if self._entered:
            raise TransportError(f"endpoint {self._agent_id!r} cannot be entered twice")
        self._entered = True
        await self._open_link()
        self._open = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._open = False
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        await self._close_link()

    async def send(self, envelope: Envelope) -> None:
        if not self._open:
            raise TransportError(f"endpoint {self._agent_id!r} is not open")
        if envelope.sender != self._agent_id or envelope.run != self._topics.run:
            raise EnvelopeError(
                f"endpoint {self._agent_id!r} of run {self._topics.run!r} cannot send as "
                f"{envelope.sender!r} in run {envelope.run!r}"
            )
        topic, retain = route(self._topics, envelope)
        data = encode(envelope)
        limit = self._max_message_bytes
        if limit is None or len(data) <= limit:
            await self._publish(topic, data, retain=retain)
            self._counters.messages_sent += 1
            self._counters.bytes_sent += len(data)
            return
        if retain:
            raise EnvelopeError(
                f"a {envelope.kind} envelope of {len(data)} bytes is retained and cannot be "
                f"split: it must fit in max_message_bytes = {limit}"
            )
        frames = split(data, limit, message_id=self._message_ids())
        await asyncio.gather(*(self._publish(topic, f, retain=False) for f in frames))
        self._counters.messages_sent += 1
        self._counters.chunks_sent += len(frames)
        self._counters.bytes_sent += sum(map(len, frames))

    async def receive(self) -> Envelope:
        return await self._inbound.get()

    def _deliver(self, topic: str, data: bytes) -> None:
        """Validate one raw inbound message and queue it, or log and drop it; a frame of a
        chunked message is held until its message is whole."""
        self._counters.bytes_received += len(data)
        if is_chunk(data):
            self._counters.chunks_received += 1
            try:
                whole = self._rejoin(topic, data)
            except ChunkError as exc:
                self._drop(topic, str(exc))
                return
            if whole is None:
                return
            data = whole
        try:
            envelope = self._check(topic, data)
        except EnvelopeError as exc:
            self._drop(topic, str(exc))
            return
        if envelope is None:
            return
        try:
            self._inbound.put_nowait(envelope)
        except asyncio.QueueFull:
            self._drop(topic, f"inbound queue full ({INBOUND_QUEUE_LIMIT})")
            return
        self._counters.messages_received += 1

    def _rejoin(self, topic: str, frame: bytes) -> bytes | None:
        """Add ``frame`` to its message: the whole message's bytes once complete."""
        where = self._topics.parse(topic)
        if where is None or where[0] != "inbox" or where[1] != self._agent_id:
            raise ChunkError("chunked messages only travel through this agent's inbox")
        loop = asyncio.get_running_loop()
        now = loop.time()
        for gone in self._reassembler.expire(now):  # the timer may not have run yet
            self._drop_expired(gone)
        whole = self._reassembler.add(topic, frame, now)
        if self._expiry is None and (deadline := self._reassembler.next_deadline()) is not None:
            self._expiry = loop.call_at(deadline + EXPIRY_SLACK, self._expire_chunks)
        return whole

    def _expire_chunks(self) -> None:
        """Drop the messages whose frames did not all come in time; re-arm the timer."""
        self._expiry = None
        loop = asyncio.get_running_loop()
        for gone in self._reassembler.expire(loop.time()):
            self._drop_expired(gone)
        if self._open and (deadline := self._reassembler.next_deadline()) is not None:
            self._expiry = loop.call_at(deadline + EXPIRY_SLACK, self._expire_chunks)

    def _drop_expired(self, gone: Expired) -> None:
        self._drop(
            gone.sender,
            f"chunked message {gone.message_id:#x} incomplete after "
            f"{self._reassembler.timeout:g} s ({gone.received} of {gone.total} frames)",
        )

    def _check(self, topic: str, data: bytes) -> Envelope | None:
        where = self._topics.parse(topic)
        if where is None:
            raise EnvelopeError("not a topic of this run")
        section, owner, sender = where
        if section == "status":
            return None  # presence only; not an envelope
        envelope = decode(data)
        if envelope.run != self._topics.run:
            raise EnvelopeError(f"wrong run id {envelope.run!r}")
        if section == "keys":
            if envelope.kind is not Kind.KEY or envelope.sender != owner:
                raise EnvelopeError(
                    f"key topic of {owner!r} carries {envelope.kind} from {envelope.sender!r}"
                )
        elif owner != self._agent_id or envelope.receiver != owner or envelope.sender != sender:
            raise EnvelopeError(
                f"envelope {envelope.sender!r}->{envelope.receiver!r} on inbox topic "
                f"{sender!r}->{owner!r}"
            )
        elif envelope.kind is Kind.KEY:
            raise EnvelopeError("public keys do not go through inboxes")
        return envelope

    def _drop(self, topic: str, reason: str) -> None:
        self._counters.dropped += 1
        log.warning("agent %s dropped a message on %s: %s", self._agent_id, topic, reason)

    @abc.abstractmethod
    async def _open_link(self) -> None: ...

    @abc.abstractmethod
    async def _close_link(self) -> None: ...

    @abc.abstractmethod
    async def _publish(self, topic: str, data: bytes, *, retain: bool) -> None: ...
