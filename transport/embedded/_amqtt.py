"""What the embedded broker adds to amqtt 0.12: logins, an ACL, a packet bound, fixes.

Imported by the broker process only (it loads amqtt). amqtt's own plugins cannot do
what a locked-down broker needs, so the pieces sit where amqtt cannot get around them:

- :func:`admit`, at our listener, before amqtt sees the connection: the first packet
  must be a CONNECT whose login and password are right, and whose will topic (if
  any) the login may write; otherwise CONNACK 5 (not authorised) and the socket is
  closed. amqtt would delete a session of the same client id *before* asking its
  auth plugins, and keys sessions by client id alone: here the client id is
  rewritten to the login (Mosquitto's ``use_username_as_clientid``), so a client
  cannot take over, read or disturb another login's session.
- :class:`FramedReader`: every later packet is read whole, after its length is
  checked against the bound (see :mod:`._framing`).
- :class:`LockedBroker`: the ACL checked on each PUBLISH (a denied one is
  acknowledged and dropped, as Mosquitto does), on each delivery to each
  subscriber (so ``#`` and ``hemesh/<run>/#`` reach only what the login may read),
  and on retained messages replayed to a new subscription. Subscriptions
  themselves are accepted, as Mosquitto's ``acl_file`` accepts them: delivery is
  what is checked. The check runs inline: amqtt's plugin manager runs topic plugins
  as gathered tasks, which yields inside amqtt's own walk over the subscriptions
  dict and breaks that walk when another client subscribes meanwhile.
- :class:`AccessPlugin`: amqtt's authentication hook, checking the login again (a
  connection that did not come through :func:`admit` is refused too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass
from typing import Any

from amqtt.adapters import BufferReader, ReaderAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.errors import AMQTTError, MQTTError, NoDataError
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.connect import ConnectPacket
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

from ._access import Access
from ._framing import CONNECT, PacketError, read_packet

CONNECT_TIMEOUT = 10.0
"""Seconds a new connection gets to send its CONNECT (amqtt itself waits forever)."""

PLUGIN = f"{__name__}.AccessPlugin"

log = logging.getLogger("hemesh.transport.embedded")

_UNREADABLE = (AMQTTError, MQTTError, NoDataError, ValueError, IndexError, struct.error)
"""What amqtt's packet decoding raises on bytes that are not a valid CONNECT."""


class LockedBroker(Broker):  # type: ignore[misc]
    """amqtt's broker with ``access`` (``None``: anyone may do anything, as before)
    checked on PUBLISH, delivery and retained replay, and retained replay fixed.

    The fix: on every CONNECT, amqtt 0.12.1 walks the filters of *all* clients and
    sends the new client the retained messages matching each, whether it subscribed
    to them or not (another run's public keys reach an agent), and the walk awaits
    inside a dict iteration that other clients' subscriptions change ("dictionary
    changed size during iteration" kills the connection). Only the session's own
    filters are replayed here, without yielding for the others.
    """

    def __init__(self, config: Any, access: Access | None) -> None:
        super().__init__(config)  # amqtt wants a running loop here
        self._access = access

    def _allows(self, session: Session | None, topic: str, action: Action) -> bool:
        if self._access is None:
            return True
        login = session.username if session is not None else None
        if action == Action.PUBLISH:
            return self._access.may_write(login, topic)
        if action == Action.RECEIVE:
            return self._access.may_read(login, topic)
        return login in self._access.passwords  # SUBSCRIBE: deliveries are checked

    async def _topic_filtering(self, session: Session, topic: str, action: Action) -> bool:
        allowed = self._allows(session, topic, action)
        if not allowed and action == Action.PUBLISH:
            log.info("%s may not publish to %s: dropped", session.username, topic)
        return allowed

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Session
    ) -> None:
        topic_filter, qos = subscription
        holders = self._subscriptions.get(topic_filter, ())
        if not any(held.client_id == session.client_id for held, _ in holders):
            return
        handler = self._get_handler(session)
        if handler is None:
            return
        publish = [
            asyncio.ensure_future(
                handler.mqtt_publish(
                    retained.topic, retained.data, min(qos, retained.qos or qos), retain=True
                )
            )
            for topic, retained in list(self._retained_messages.items())
            if self._matches(topic, topic_filter) and self._allows(session, topic, Action.RECEIVE)
        ]
        if publish:
            await asyncio.wait(publish)


class AccessPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """amqtt's authentication hook over :class:`Access` (login and password)."""

    @dataclass
    class Config:
        access: Access

    async def authenticate(self, *, session: Session) -> bool:
        access: Access = self.config.access
        return access.admits(session.username, session.password)


class FramedReader(ReaderAdapter):  # type: ignore[misc]
    """What amqtt reads from: ``first`` (the admitted CONNECT), then the client's
    stream one whole packet at a time, each at most ``limit`` bytes. An oversized
    or malformed packet ends the stream (amqtt sees the client go: its will is sent)."""

    def __init__(
        self,
        stream: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limit: int | None,
        first: bytes,
    ) -> None:
        self._stream = stream
        self._writer = writer
        self._limit = limit
        self._buffer = bytearray(first)

    async def read(self, n: int = -1) -> bytes:
        while (n < 0 and not self._buffer) or len(self._buffer) < n:
            try:
                packet = await read_packet(self._stream, self._limit)
            except PacketError as exc:
                log.warning("dropping client %s: %s", _peer(self._writer), exc)
                self._writer.close()
                packet = None
            if packet is None:
                raise asyncio.IncompleteReadError(bytes(self._buffer), n if n >= 0 else None)
            self._buffer += packet
        count = len(self._buffer) if n < 0 else n
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def feed_eof(self) -> None:
        self._stream.feed_eof()


async def admit(
    stream: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    access: Access | None,
    limit: int | None,
) -> bytes | None:
    """The client's CONNECT as amqtt should see it, or ``None`` if the connection is
    refused (a CONNACK 5 has then been sent when the client got as far as a CONNECT).

    With ``access``: the login must exist with that password, the will topic (if any)
    must be one the login may write, and the client id becomes the login."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            packet = await read_packet(stream, limit)
    except (TimeoutError, PacketError, asyncio.IncompleteReadError, OSError) as exc:
        log.info("no valid CONNECT from %s: %s", _peer(writer), str(exc) or type(exc).__name__)
        return None
    if packet is None or packet[0] >> 4 != CONNECT:
        log.info("first packet from %s is not a CONNECT", _peer(writer))
        return None
    if access is None:
        return packet
    try:
        connect = await ConnectPacket.from_stream(BufferReader(packet))
        login, password = connect.username, connect.password
        will = connect.will_topic if connect.will_flag else None
    except _UNREADABLE as exc:
        log.info("unreadable CONNECT from %s: %s", _peer(writer), exc)
        return None
    if not access.admits(login, password):
        reason = "no login" if login is None else f"bad login {login!r}"
    elif will is not None and not access.may_write(login, will):
        reason = f"{login} may not write its will topic {will}"
    else:
        assert login is not None  # admitted
        connect.client_id = login
        return bytes(connect.to_bytes())
    log.info("refused %s: %s", _peer(writer), reason)
    writer.write(ConnackPacket.build(0, NOT_AUTHORIZED).to_bytes())
    with contextlib.suppress(TimeoutError, OSError):  # the socket is closed next anyway
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await writer.drain()
    return None


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "a client"
