"""Chunked messages: an encoded envelope above the fabric's size limit, split and rejoined.

Below the envelope, on its encoded bytes. :func:`split` cuts bytes longer than
``max_message_bytes`` into numbered frames of at most that size, each starting
with a fixed header (:data:`HEADER`): the marker byte 0xC1 (never used in msgpack,
so no envelope starts with it), a format version, the message id, the frame's
index, the number of frames, the whole message's length and its SHA-256. A
:class:`Reassembler` at the receiver collects the frames of each sender and hands
back the whole bytes once every frame is in and the digest matches.

Anything off is bad input, raised as :class:`ChunkError`: a frame that is too
large, malformed, out of range, a duplicate, or disagrees with its message's
other frames about the total, the length or the digest; a message that would
overflow its sender's buffer (a byte cap and a count cap per sender); a message
whose frames do not all arrive within ``timeout`` seconds (:meth:`Reassembler.expire`).
Each such message is dropped whole, never delivered; later frames of it are
ignored. Pure and synchronous: the caller passes the clock.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections import OrderedDict
from dataclasses import dataclass, field

from ._envelope import MAX_ENVELOPE_BYTES
from ._errors import ChunkError

MARK = 0xC1
"""First byte of every frame: msgpack's one never-used byte."""
CHUNK_VERSION = 1
HEADER = struct.Struct(">BBQIIQ32s")
"""marker, version, message id, index, frames, message length, SHA-256 of the message."""
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024
"""Default size limit on one MQTT message: well under common brokers' caps (EMQX's
default is 1 MB, AWS IoT's 128 KiB is the one it does not meet)."""
MIN_MESSAGE_BYTES = 1024
"""The smallest size limit accepted (a frame must carry more than its header)."""
DEFAULT_TIMEOUT = 30.0
"""Seconds a partly received message waits for its other frames."""
SENDER_MESSAGES = 16
"""Partly received messages kept per sender; the protocol has a few in flight."""
SENDER_BYTES = 2 * MAX_ENVELOPE_BYTES
"""Declared bytes of the partly received messages of one sender, at most."""
MAX_SENDERS = 1024
"""Senders tracked at once; past it the oldest one with nothing pending is forgotten."""
RECENT_IDS = 64
"""Message ids remembered per sender after delivery or drop (late and duplicate frames)."""


def validate_limit(max_message_bytes: object) -> int:
    """``max_message_bytes`` if it is an int in [MIN_MESSAGE_BYTES, MAX_ENVELOPE_BYTES]."""
    if (
        type(max_message_bytes) is not int
        or not MIN_MESSAGE_BYTES <= max_message_bytes <= MAX_ENVELOPE_BYTES
    ):
        raise ChunkError(
            f"max_message_bytes must be an int in [{MIN_MESSAGE_BYTES}, {MAX_ENVELOPE_BYTES}], "
            f"got {max_message_bytes!r}"
        )
    return max_message_bytes


def is_chunk(data: bytes | bytearray | memoryview) -> bool:
    """Whether ``data`` looks like a frame of a chunked message: the marker, this format's
    version and more than a header. Anything else is read as a whole envelope (and
    shorter 0xC1 junk is refused there as not msgpack)."""
    return len(data) > HEADER.size and data[0] == MARK and data[1] == CHUNK_VERSION


def split(data: bytes, max_message_bytes: int, *, message_id: int) -> list[bytes]:
    """``[data]`` if it fits in ``max_message_bytes``, else its frames, each at most that."""
    validate_limit(max_message_bytes)
    if len(data) <= max_message_bytes:
        return [data]
    if len(data) > MAX_ENVELOPE_BYTES:
        raise ChunkError(f"message of {len(data)} bytes exceeds {MAX_ENVELOPE_BYTES}")
    if type(message_id) is not int or not 0 <= message_id < 2**64:
        raise ChunkError(f"message_id must be an int in [0, 2**64), got {message_id!r}")
    piece = max_message_bytes - HEADER.size
    total = -(-len(data) // piece)
    digest = hashlib.sha256(data).digest()
    view = memoryview(data)
    return [
        HEADER.pack(MARK, CHUNK_VERSION, message_id, index, total, len(data), digest)
        + view[index * piece : (index + 1) * piece]
        for index in range(total)
    ]


class MessageIds:
    """A sender's message ids: a random 64-bit start (a restarted sender does not reuse
    ids its receivers still remember), then counting up."""

    def __init__(self) -> None:
        self._next = secrets.randbits(63)

    def __call__(self) -> int:
        value, self._next = self._next, (self._next + 1) % 2**64
        return value


@dataclass(frozen=True, slots=True)
class _Head:
    """A frame's header, past the marker and the version."""

    message_id: int
    index: int
    total: int
    length: int
    digest: bytes


@dataclass(slots=True)
class _Partial:
    total: int
    length: int
    digest: bytes
    started: float
    parts: dict[int, bytes] = field(default_factory=dict)
    received: int = 0


@dataclass(slots=True)
class _Sender:
    partials: dict[int, _Partial] = field(default_factory=dict)
    reserved: int = 0
    recent: OrderedDict[int, bool] = field(default_factory=OrderedDict)
    """id -> True if delivered, False if dropped."""

    def forget(self, message_id: int, *, delivered: bool) -> None:
        partial = self.partials.pop(message_id, None)
        if partial is not None:
            self.reserved -= partial.length
        self.recent[message_id] = delivered
        self.recent.move_to_end(message_id)
        while len(self.recent) > RECENT_IDS:
            self.recent.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Expired:
    """A message dropped because its frames did not all arrive in time."""

    sender: str
    message_id: int
    received: int
    total: int


class Reassembler:
    """Rejoins chunked messages, per sender, within a byte cap, a count cap and a time bound.

    ``max_message_bytes``: the largest frame accepted; ``max_total_bytes``: the largest
    rejoined message; ``sender_bytes``/``sender_messages``: what one sender's partly
    received messages may hold (by their declared lengths) and how many there may be;
    ``max_senders``: how many senders are tracked at once.
    """

    def __init__(
        self,
        *,
        max_message_bytes: int = MAX_ENVELOPE_BYTES,
        max_total_bytes: int = MAX_ENVELOPE_BYTES,
        sender_bytes: int = SENDER_BYTES,
        sender_messages: int = SENDER_MESSAGES,
        timeout: float = DEFAULT_TIMEOUT,
        max_senders: int = MAX_SENDERS,
    ) -> None:
        self._max_frame = validate_limit(max_message_bytes)
        for name, value in (
            ("max_total_bytes", max_total_bytes),
            ("sender_bytes", sender_bytes),
            ("sender_messages", sender_messages),
            ("max_senders", max_senders),
        ):
            if type(value) is not int or value < 1:
                raise ChunkError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(timeout, int | float) or not 0 < timeout < float("inf"):
            raise ChunkError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self._max_total = max_total_bytes
        self._sender_bytes = sender_bytes
        self._sender_messages = sender_messages
        self._timeout = float(timeout)
        self._max_senders = max_senders
        self._senders: dict[str, _Sender] = {}
        """In order of first frame: the oldest idle sender is forgotten first."""

    @property
    def timeout(self) -> float:
        return self._timeout

    @property
    def buffered_bytes(self) -> int:
        """Declared bytes of every partly received message (what the caps bound)."""
        return sum(s.reserved for s in self._senders.values())

    @property
    def pending(self) -> int:
        """Partly received messages."""
        return sum(len(s.partials) for s in self._senders.values())

    def next_deadline(self) -> float | None:
        """When the oldest partly received message times out (None: none is pending)."""
        starts = [p.started for s in self._senders.values() for p in s.partials.values()]
        return min(starts) + self._timeout if starts else None

    def expire(self, now: float) -> list[Expired]:
        """Drop (and return) the messages still incomplete ``timeout`` seconds after their
        first frame."""
        expired = []
        for name, sender in self._senders.items():
            for message_id, p in list(sender.partials.items()):
                if now - p.started >= self._timeout:
                    sender.forget(message_id, delivered=False)
                    expired.append(Expired(name, message_id, len(p.parts), p.total))
        return expired

    def add(self, sender: str, frame: bytes | bytearray | memoryview, now: float) -> bytes | None:
        """Take one frame from ``sender``: the whole message once its last frame is in,
        else None. Raises :class:`ChunkError` for a bad frame; the message it belongs to
        (if any) is dropped then, and its later frames are ignored (None)."""
        if len(frame) > self._max_frame:
            raise ChunkError(f"frame of {len(frame)} bytes exceeds {self._max_frame}")
        if len(frame) <= HEADER.size:
            raise ChunkError(f"frame of {len(frame)} bytes is not longer than its header")
        mark, version, *fields = HEADER.unpack_from(frame)
        if mark != MARK or version != CHUNK_VERSION:
            raise ChunkError(f"unknown frame format (marker {mark:#x}, version {version})")
        head = _Head(*fields)
        message_id, index = head.message_id, head.index
        state = self._sender(sender)
        if message_id in state.recent:
            if state.recent[message_id]:
                raise ChunkError(f"duplicate frame {index} of delivered message {message_id:#x}")
            return None  # the message was dropped already: one line was enough
        body = frame[HEADER.size :]
        partial = state.partials.get(message_id)
        try:
            if partial is None:
                partial = self._start(state, head, now)
            self._check(partial, head, len(body))
        except ChunkError:
            state.forget(message_id, delivered=False)
            raise
        partial.parts[index] = bytes(body)
        partial.received += len(body)
        if len(partial.parts) < partial.total:
            return None
        whole = b"".join(partial.parts[i] for i in range(partial.total))
        intact = len(whole) == partial.length and hashlib.sha256(whole).digest() == partial.digest
        state.forget(message_id, delivered=intact)
        if not intact:
            raise ChunkError(f"message {message_id:#x}: rejoined frames do not match the digest")
        return whole

    def _sender(self, name: str) -> _Sender:
        state = self._senders.get(name)
        if state is not None:
            return state
        if len(self._senders) >= self._max_senders:
            idle = next((n for n, s in self._senders.items() if not s.partials), None)
            if idle is None:
                raise ChunkError(f"{len(self._senders)} senders are already being rejoined")
            del self._senders[idle]  # the oldest idle sender's memory of recent ids goes
        state = self._senders[name] = _Sender()
        return state

    def _start(self, state: _Sender, head: _Head, now: float) -> _Partial:
        message_id, total, length = head.message_id, head.total, head.length
        if length > self._max_total:
            raise ChunkError(f"message {message_id:#x} of {length} bytes exceeds {self._max_total}")
        if not 2 <= total <= length:
            raise ChunkError(f"message {message_id:#x}: {total} frames for {length} bytes")
        if len(state.partials) >= self._sender_messages:
            raise ChunkError(
                f"message {message_id:#x}: {len(state.partials)} messages of this sender are "
                "already being rejoined"
            )
        if state.reserved + length > self._sender_bytes:
            raise ChunkError(
                f"message {message_id:#x} of {length} bytes overflows this sender's "
                f"reassembly buffer ({state.reserved} of {self._sender_bytes} bytes in use)"
            )
        partial = _Partial(total=total, length=length, digest=head.digest, started=now)
        state.partials[message_id] = partial
        state.reserved += length
        return partial

    @staticmethod
    def _check(partial: _Partial, head: _Head, size: int) -> None:
        message_id, index, total = head.message_id, head.index, head.total
        if (total, head.length, head.digest) != (partial.total, partial.length, partial.digest):
            raise ChunkError(
                f"message {message_id:#x}: frame {index} disagrees with its first frame "
                "about the frame count, the length or the digest"
            )
        if index >= total:
            raise ChunkError(f"message {message_id:#x}: frame index {index} of {total}")
        if index in partial.parts:
            raise ChunkError(f"message {message_id:#x}: duplicate frame {index}")
        if partial.received + size > partial.length:
            raise ChunkError(
                f"message {message_id:#x}: frames hold more than its {partial.length} bytes"
            )
