"""Chunked messages: split and rejoin, and every bad frame refused (transport._chunks)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transport import MAX_ENVELOPE_BYTES, ChunkError, EnvelopeError, Reassembler, is_chunk, split
from transport._chunks import HEADER, MARK, MIN_MESSAGE_BYTES, MessageIds

LIMIT = 1024
PIECE = LIMIT - HEADER.size


def _frames(data: bytes, *, message_id: int = 7, limit: int = LIMIT) -> list[bytes]:
    frames = split(data, limit, message_id=message_id)
    assert len(frames) > 1
    return frames


def _reframe(frame: bytes, **changes: object) -> bytes:
    """``frame`` with header fields replaced (the body kept)."""
    names = ("mark", "version", "message_id", "index", "total", "length", "digest")
    fields = dict(zip(names, HEADER.unpack_from(frame), strict=True))
    fields.update(changes)
    return HEADER.pack(*fields.values()) + frame[HEADER.size :]


def _feed(r: Reassembler, frames: list[bytes], sender: str = "a", now: float = 0.0) -> bytes | None:
    out = None
    for frame in frames:
        out = r.add(sender, frame, now)
    return out


def test_small_messages_are_not_split() -> None:
    assert split(b"x" * LIMIT, LIMIT, message_id=1) == [b"x" * LIMIT]


def test_frames_are_bounded_marked_and_rejoin() -> None:
    data = bytes(range(256)) * 20
    frames = _frames(data)
    assert len(frames) == -(-len(data) // PIECE)
    assert all(len(f) <= LIMIT and is_chunk(f) for f in frames)
    assert not is_chunk(b"\x87anything")
    assert not is_chunk(b"\xc1\x01short") and not is_chunk(b"\xc1\x00" + frames[0][2:])
    r = Reassembler(max_message_bytes=LIMIT)
    assert _feed(r, frames[:-1]) is None
    assert r.pending == 1 and r.buffered_bytes == len(data)
    assert r.add("a", frames[-1], 0.0) == data
    assert r.pending == 0 and r.buffered_bytes == 0


def test_frames_rejoin_in_any_order_and_senders_are_apart() -> None:
    one, two = b"1" * 2500, b"2" * 2500
    a, b = _frames(one, message_id=5), _frames(two, message_id=5)
    assert len(a) == len(b) == 3
    r = Reassembler(max_message_bytes=LIMIT)
    assert r.add("x", a[2], 0) is None
    assert r.add("y", b[0], 0) is None
    assert r.add("x", a[0], 0) is None
    assert r.add("y", b[2], 0) is None
    assert r.add("y", b[1], 0) == two
    assert r.add("x", a[1], 0) == one


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(min_size=0, max_size=20_000),
    limit=st.integers(MIN_MESSAGE_BYTES, 4096),
    order=st.randoms(use_true_random=False),
    message_id=st.integers(0, 2**64 - 1),
)
def test_round_trip(data: bytes, limit: int, order: object, message_id: int) -> None:
    frames = split(data, limit, message_id=message_id)
    assert all(len(f) <= limit for f in frames)
    if len(frames) == 1:
        assert frames == [data]
        return
    order.shuffle(frames)  # type: ignore[attr-defined]
    r = Reassembler(max_message_bytes=limit)
    assert [r.add("s", f, 0.0) for f in frames][-1] == data
    assert r.pending == 0


def test_limits_are_validated() -> None:
    for bad in (MIN_MESSAGE_BYTES - 1, MAX_ENVELOPE_BYTES + 1, 2048.0, True, None):
        with pytest.raises(ChunkError, match="max_message_bytes"):
            split(b"x", bad, message_id=1)  # type: ignore[arg-type]
    with pytest.raises(ChunkError, match="message_id"):
        split(b"x" * 5000, LIMIT, message_id=-1)
    with pytest.raises(ChunkError, match="timeout"):
        Reassembler(timeout=0)
    with pytest.raises(ChunkError, match="sender_bytes"):
        Reassembler(sender_bytes=0)
    assert issubclass(ChunkError, EnvelopeError)


def _refused(r: Reassembler, frame: bytes, match: str, sender: str = "a") -> None:
    with pytest.raises(ChunkError, match=match):
        r.add(sender, frame, 0.0)


def test_oversized_and_malformed_frames() -> None:
    frames = _frames(b"z" * 5000)
    r = Reassembler(max_message_bytes=LIMIT)
    _refused(r, frames[0] + b"!", "exceeds")
    _refused(r, frames[0][: HEADER.size], "not longer than its header")
    _refused(r, _reframe(frames[0], version=9), "unknown frame format")
    _refused(r, _reframe(frames[0], mark=0x00), "unknown frame format")
    assert r.pending == 0


def test_out_of_range_index_drops_the_message() -> None:
    frames = _frames(b"z" * 5000)
    r = Reassembler(max_message_bytes=LIMIT)
    assert r.add("a", frames[0], 0) is None
    _refused(r, _reframe(frames[1], index=len(frames)), "index")
    assert r.pending == 0 and r.buffered_bytes == 0
    # the rest of the dropped message is ignored, never delivered
    assert _feed(r, frames[1:]) is None
    assert r.pending == 0


def test_duplicate_frame_drops_the_message() -> None:
    frames = _frames(b"d" * 5000)
    r = Reassembler(max_message_bytes=LIMIT)
    r.add("a", frames[0], 0)
    _refused(r, frames[0], "duplicate frame 0")
    assert _feed(r, frames[1:]) is None and r.pending == 0


def test_duplicate_of_a_delivered_message_is_refused() -> None:
    frames = _frames(b"d" * 5000)
    r = Reassembler(max_message_bytes=LIMIT)
    assert _feed(r, frames) == b"d" * 5000
    _refused(r, frames[1], "duplicate frame 1 of delivered message")
    assert r.pending == 0


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"total": 99}, "disagrees"),
        ({"length": 4999}, "disagrees"),
        ({"digest": bytes(32)}, "disagrees"),
    ],
)
def test_inconsistent_frames_drop_the_message(change: dict[str, object], match: str) -> None:
    frames = _frames(b"q" * 5000)
    r = Reassembler(max_message_bytes=LIMIT)
    r.add("a", frames[0], 0)
    _refused(r, _reframe(frames[1], **change), match)
    assert _feed(r, frames[2:]) is None and r.pending == 0


def test_wrong_digest_or_too_much_data_is_refused() -> None:
    data = b"w" * 5000
    frames = [_reframe(f, digest=hashlib.sha256(b"other").digest()) for f in _frames(data)]
    r = Reassembler(max_message_bytes=LIMIT)
    with pytest.raises(ChunkError, match="digest"):
        _feed(r, frames)
    assert r.pending == 0
    # frame bodies that hold more than the declared length
    bloated = [_reframe(f, length=PIECE + 1) for f in _frames(data, message_id=9)[:2]]
    r.add("b", _reframe(bloated[0], total=2), 0)
    _refused(r, _reframe(bloated[1], total=2), "more than its", sender="b")


def test_declared_sizes_are_bounded() -> None:
    frames = _frames(b"s" * 5000)
    r = Reassembler(max_message_bytes=LIMIT, max_total_bytes=4000)
    _refused(r, frames[0], "exceeds 4000")
    r = Reassembler(max_message_bytes=LIMIT)
    _refused(r, _reframe(frames[0], message_id=2, total=1), "1 frames")
    _refused(r, _reframe(frames[0], message_id=3, total=6000), "6000 frames")
    assert r.add("a", _reframe(frames[0], message_id=2), 0) is None  # a dropped id: ignored


def test_sender_buffer_caps() -> None:
    r = Reassembler(max_message_bytes=LIMIT, sender_bytes=12_000, sender_messages=3)
    firsts = [_frames(b"c" * 5000, message_id=i)[0] for i in range(4)]
    r.add("a", firsts[0], 0)
    r.add("a", firsts[1], 0)
    _refused(r, firsts[2], "overflows this sender's reassembly buffer")
    r.add("b", firsts[2], 0)  # another sender has its own buffer
    small = [_frames(b"c" * 2000, message_id=10 + i)[0] for i in range(2)]
    r.add("a", small[0], 0)
    _refused(r, small[1], "already being rejoined")
    assert r.buffered_bytes == 5000 * 3 + 2000


def test_sender_count_is_bounded() -> None:
    r = Reassembler(max_message_bytes=LIMIT, max_senders=2)
    first = _frames(b"m" * 3000)[0]
    r.add("a", first, 0)
    r.add("b", first, 0)
    _refused(r, first, "2 senders", sender="c")
    r.expire(100.0)  # a and b go idle: the oldest idle one is forgotten for c
    assert r.add("c", first, 100.0) is None


def test_incomplete_messages_expire() -> None:
    frames = _frames(b"e" * 5000)
    r = Reassembler(max_message_bytes=LIMIT, timeout=5.0)
    r.add("a", frames[0], 10.0)
    assert r.next_deadline() == 15.0
    assert r.expire(14.9) == []
    (gone,) = r.expire(15.0)
    assert (gone.sender, gone.message_id, gone.received, gone.total) == ("a", 7, 1, len(frames))
    assert r.pending == 0 and r.next_deadline() is None
    assert _feed(r, frames[1:], now=15.0) is None  # late frames are ignored


def test_message_ids_count_up_from_a_random_start() -> None:
    one, two = MessageIds(), MessageIds()
    a = one()
    assert one() == a + 1
    assert a != two()  # 2**-63 chance of a false failure
    assert MARK == 0xC1
