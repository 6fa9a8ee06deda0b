"""MQTT packet framing with a size bound, ahead of amqtt (which has none).

The broker process reads each client's stream one whole packet at a time
(:func:`read_packet`): the fixed header's remaining length is checked against the
bound before the body is read, so an oversized packet costs its header, not its
size in memory, and the client is disconnected (as Mosquitto's
``max_packet_size`` does).
"""

from __future__ import annotations

import asyncio

from .._envelope import MAX_ENVELOPE_BYTES

MAX_PACKET_BYTES = MAX_ENVELOPE_BYTES + 4096
"""The largest envelope plus room for the topic and the MQTT header (Mosquitto's bound)."""

CONNECT = 1
"""MQTT control packet type of CONNECT (the high nibble of the first byte)."""

_MAX_LENGTH_BYTES = 4
"""MQTT 3.1.1 encodes the remaining length in at most four bytes."""


class PacketError(Exception):
    """A packet larger than the bound, or a malformed length: the client is dropped.

    Internal to the broker process; never leaves it."""


async def read_packet(stream: asyncio.StreamReader, limit: int | None) -> bytes | None:
    """The next whole packet of ``stream`` (header included), or ``None`` at a clean
    end of stream. Raises :class:`PacketError` for a packet of more than ``limit``
    bytes (``None``: no bound) and :class:`asyncio.IncompleteReadError` if the stream
    ends inside a packet."""
    first = await stream.read(1)
    if not first:
        return None
    header = bytearray(first)
    length = 0
    for index in range(_MAX_LENGTH_BYTES):
        byte = (await stream.readexactly(1))[0]
        header.append(byte)
        length |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            break
    else:
        raise PacketError("malformed remaining length")
    if limit is not None and len(header) + length > limit:
        raise PacketError(f"packet of {len(header) + length} bytes is over the {limit}-byte bound")
    return bytes(header) + await stream.readexactly(length)
