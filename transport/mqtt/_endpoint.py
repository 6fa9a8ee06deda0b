"""Endpoints on a real MQTT 3.1.1 broker, through aiomqtt (DESIGN.md, Transport).

Each endpoint is one client from :func:`mqtt_client` (clean session, QoS 1 both
ways unless the transport's ``qos`` is 0, TCP_NODELAY; a send does not wait for its
PUBACK: :mod:`._publishing`), with a retained ``online``/``offline`` status and a will
message, and one background task that feeds what the broker delivers through
:meth:`EndpointBase._deliver`. aiomqtt and paho errors are translated into
:class:`ConnectionLost` or :class:`TransportError` where they enter.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Awaitable, Collection, Mapping
from typing import TypeVar

import aiomqtt
from aiomqtt import Will

from .._chunks import DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_TIMEOUT, validate_limit
from .._endpoint import EndpointBase
from .._envelope import Envelope
from .._errors import ConnectionLost, TransportError
from .._topics import Topics
from .._values import validate_seconds
from ._address import BrokerAddress
from ._client import mqtt_client, open_client, paho_of, refused_filters
from ._publishing import Link, Publisher

log = logging.getLogger("hemesh.transport")

_T = TypeVar("_T")

ONLINE = b"online"
OFFLINE = b"offline"
"""Retained payloads of ``topics.status(agent)``; ``offline`` is also the will message."""


class MqttTransport:
    """Endpoints of one run on the MQTT broker at ``address``.

    ``connect_timeout`` bounds each step of opening an endpoint (TCP connect,
    CONNACK, the status publish, SUBACK), each publish's PUBACK, and each step
    of closing. ``keepalive`` is the MQTT keep-alive in seconds: a broker that
    vanishes without closing the connection is noticed after 1.5 times that.
    ``reconnect_timeout`` bounds how long an endpoint whose link drops keeps trying
    to reconnect (backoff 0.1 s doubling to 2 s, with jitter) before it reports
    :class:`ConnectionLost`; 0 reports it at once.
    """

    def __init__(
        self,
        run: str,
        address: BrokerAddress,
        *,
        connect_timeout: float = 10.0,
        keepalive: int = 30,
        logins: Mapping[str, BrokerAddress] | None = None,
        reconnect_timeout: float = 60.0,
        max_message_bytes: int | None = DEFAULT_MAX_MESSAGE_BYTES,
        chunk_timeout: float = DEFAULT_TIMEOUT,
        qos: int = 1,
    ) -> None:
        """``logins`` gives agents their own address (their own credentials, e.g. from
        :class:`ManagedMosquitto`); agents not in it, and :attr:`address`, use ``address``.
        ``max_message_bytes``: envelopes encoded larger go out in chunks of at most this
        many bytes (None: never split; the broker's own limit then applies), rejoined at
        the receiver within ``chunk_timeout`` seconds. ``qos`` is the QoS of the protocol's
        non-retained messages (requests, replies, states, skips): 1 (the default) or 0;
        keys, goodbyes and statuses always go at QoS 1. See :data:`._publishing.QOS_NOTE`."""
        if type(qos) is not int or qos not in (0, 1):
            raise TransportError(f"qos must be 0 or 1, got {qos!r}")
        self._qos = qos
        if not isinstance(address, BrokerAddress):
            raise TransportError(f"address must be a BrokerAddress, got {type(address).__name__}")
        connect_timeout = validate_seconds(connect_timeout, what="connect_timeout")
        if type(keepalive) is not int or not 0 < keepalive < 65536:
            raise TransportError(f"keepalive must be an int in [1, 65535], got {keepalive!r}")
        reconnect_timeout = validate_seconds(
            reconnect_timeout, what="reconnect_timeout", zero_ok=True
        )
        self._max_message_bytes = (
            None if max_message_bytes is None else validate_limit(max_message_bytes)
        )
        self._chunk_timeout = validate_seconds(chunk_timeout, what="chunk_timeout")
        self._topics = Topics(run)
        self._address = address
        self._logins = dict(logins or {})
        for agent, login in self._logins.items():
            if not isinstance(login, BrokerAddress):
                raise TransportError(f"login of {agent!r} must be a BrokerAddress")
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive
        self._reconnect_timeout = reconnect_timeout

    @property
    def run(self) -> str:
        return self._topics.run

    @property
    def topics(self) -> Topics:
        return self._topics

    @property
    def address(self) -> BrokerAddress:
        return self._address

    @property
    def max_message_bytes(self) -> int | None:
        return self._max_message_bytes

    @property
    def chunk_timeout(self) -> float:
        return self._chunk_timeout

    @property
    def qos(self) -> int:
        return self._qos

    def address_of(self, agent_id: str) -> BrokerAddress:
        """The address (and credentials) the endpoint of ``agent_id`` connects with."""
        return self._logins.get(agent_id, self._address)

    @property
    def connect_timeout(self) -> float:
        return self._connect_timeout

    @property
    def keepalive(self) -> int:
        return self._keepalive

    @property
    def reconnect_timeout(self) -> float:
        return self._reconnect_timeout

    def endpoint(self, agent_id: str, *, neighbours: Collection[str]) -> MqttEndpoint:
        return MqttEndpoint(self, agent_id, neighbours)


RECONNECT_PAUSES = (0.1, 2.0)
"""First and longest pause between reconnection attempts: doubling, with jitter."""


class MqttEndpoint(EndpointBase):
    """An agent's endpoint: one MQTT client connection, opened by ``async with``.

    If the link drops unexpectedly, the endpoint reconnects with backoff for up to the
    transport's ``reconnect_timeout`` (then republishes its status and resubscribes):
    :meth:`receive` keeps waiting meanwhile, :meth:`send` waits for the link, and a
    publish cut off by the drop is sent again once (the receiver deduplicates).
    Messages published to it while it was away are lost (clean session).
    """

    def __init__(
        self, transport: MqttTransport, agent_id: str, neighbours: Collection[str]
    ) -> None:
        super().__init__(
            transport.topics,
            agent_id,
            neighbours,
            max_message_bytes=transport.max_message_bytes,
            chunk_timeout=transport.chunk_timeout,
        )
        self._address = transport.address_of(agent_id)
        self._timeout = transport.connect_timeout
        self._keepalive = transport.keepalive
        self._reconnect_timeout = transport.reconnect_timeout
        self._publisher = Publisher(
            agent=self.agent_id,
            run=self._topics.run,
            qos=transport.qos,
            timeout=self._timeout,
            link=self._wait_for_link,
            call=self._call,
            dropped=self._dropped,
        )
        self._link: Link | None = None
        """The current connection; after a drop, the dropped one until the next is up."""
        self._reconnector: asyncio.Task[None] | None = None
        self._reconnections = 0
        self._lost: ConnectionLost | None = None
        self._closed = False
        self._wakeup = asyncio.Event()
        """Set on every delivery, reconnection, final loss and on close: wakes the
        waiters of :meth:`receive` and of :meth:`_wait_for_link`."""
        self._jitter = random.Random()

    @property
    def address(self) -> BrokerAddress:
        return self._address

    @property
    def reconnections(self) -> int:
        """How many times the link dropped and was re-established."""
        return self._reconnections

    @property
    def lost(self) -> ConnectionLost | None:
        """Why the link to the broker went away for good, or None while it is up or
        being re-established."""
        return self._lost

    def _socket(self) -> socket.socket | None:
        """The current connection's TCP socket (None before opening and after closing):
        for tests that cut the link under the client's feet."""
        if self._link is None:
            return None
        sock = paho_of(self._link.client).socket()
        return sock if isinstance(sock, socket.socket) else None

    async def receive(self) -> Envelope:
        """The next valid envelope; :class:`ConnectionLost` once the broker is gone for
        good (reconnection disabled or its bound exhausted). A reconnection is waited out.

        Envelopes that arrived before the connection was lost are handed out first.
        """
        while True:
            if not self._inbound.empty():
                return self._inbound.get_nowait()
            self._raise_if_lost()
            if self._closed:
                raise TransportError(f"endpoint {self.agent_id!r} is closed")
            if self._link is None:
                raise TransportError(f"endpoint {self.agent_id!r} is not open")
            self._wakeup.clear()
            await self._wakeup.wait()

    def _raise_if_lost(self) -> None:
        if self._lost is not None:
            raise ConnectionLost(str(self._lost)) from self._lost.__cause__

    async def _open_link(self) -> None:
        await self._connect()

    async def _connect(self) -> None:
        """Connect, publish ``online``, subscribe, and start reading: the current link."""
        status = self._topics.status(self.agent_id)
        client = mqtt_client(
            self._address,
            identifier=f"hemesh.{self._topics.run}.{self.agent_id}",
            timeout=self._timeout,
            keepalive=self._keepalive,
            will=Will(topic=status, payload=OFFLINE, qos=1, retain=True),
        )
        await open_client(client, self._address, who=repr(self.agent_id))
        link = Link(client)
        try:
            await self._call(
                link, client.publish(status, ONLINE, qos=1, retain=True, timeout=self._timeout)
            )
            granted = await self._call(
                link,
                client.subscribe([(f, 1) for f in self.subscriptions()], timeout=self._timeout),
            )
            refused = refused_filters(self.subscriptions(), granted)
            if refused:
                raise TransportError(f"broker {self._address.url} refused subscriptions {refused}")
        except BaseException:
            await self._disconnect(client)
            raise
        self._link = link
        link.reader = asyncio.create_task(
            self._read(link), name=f"hemesh.mqtt.receive[{self._topics.run}/{self.agent_id}]"
        )

    async def _close_link(self) -> None:
        await self._publisher.settle()
        self._closed = True
        self._wakeup.set()
        if self._reconnector is not None:
            self._reconnector.cancel()
            await asyncio.gather(self._reconnector, return_exceptions=True)
            self._reconnector = None
        link, self._link = self._link, None
        if link is None:
            return
        if not link.dropped.is_set():
            try:
                await self._call(
                    link,
                    link.client.publish(
                        self._topics.status(self.agent_id),
                        OFFLINE,
                        qos=1,
                        retain=True,
                        timeout=self._timeout,
                    ),
                )
            except TransportError as exc:
                log.warning("agent %s could not publish its offline status: %s", self.agent_id, exc)
        await self._dispose(link)

    async def _publish(self, topic: str, data: bytes, *, retain: bool) -> None:
        await self._publisher.publish(topic, data, retain=retain)

    async def _wait_for_link(self) -> Link:
        """The current link once it is up: waits out a reconnection (its own bound, plus
        one ``connect_timeout`` to spare)."""
        try:
            async with asyncio.timeout(self._reconnect_timeout + self._timeout):
                while True:
                    self._raise_if_lost()
                    if self._closed or self._link is None:
                        raise TransportError(f"endpoint {self.agent_id!r} is closed")
                    if not self._link.dropped.is_set():
                        return self._link
                    self._wakeup.clear()
                    await self._wakeup.wait()
        except TimeoutError:
            raise ConnectionLost(
                f"agent {self.agent_id!r}: broker {self._address.url} still unreachable"
            ) from None

    def _dropped(self, link: Link, exc: BaseException) -> bool:
        """Whether a call on ``link`` failed because the link dropped, with a reconnection
        under way (paho may notice a closed socket before our reader does)."""
        if not link.dropped.is_set() and not paho_of(link.client).is_connected():
            self._link_lost(link, f"agent {self.agent_id!r} lost broker {self._address.url}", exc)
        return link.dropped.is_set() and self._lost is None and not self._closed

    async def _call(self, link: Link, call: Awaitable[_T]) -> _T:
        """Await an aiomqtt call on ``link``, translating its errors and failing fast
        (:class:`ConnectionLost`) when the link drops."""
        if link.dropped.is_set():
            if asyncio.iscoroutine(call):
                call.close()
            raise self._drop_error()
        task = asyncio.ensure_future(call)
        dropped = asyncio.ensure_future(link.dropped.wait())
        try:
            await asyncio.wait((task, dropped), return_when=asyncio.FIRST_COMPLETED)
        finally:
            dropped.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            elif not task.cancelled():
                task.exception()  # retrieved, even when we are being cancelled meanwhile
        if task.cancelled():  # only ever by the finally above, when the link dropped
            raise self._drop_error()
        try:
            return task.result()
        except aiomqtt.MqttError as exc:
            raise ConnectionLost(f"broker {self._address.url}: {exc}") from exc

    def _drop_error(self) -> ConnectionLost:
        if self._lost is not None:
            error = ConnectionLost(str(self._lost))
            error.__cause__ = self._lost.__cause__
            return error
        return ConnectionLost(f"agent {self.agent_id!r} lost broker {self._address.url}")

    async def _read(self, link: Link) -> None:
        try:
            async for message in link.client.messages:
                self._deliver(str(message.topic), bytes(message.payload))
                self._wakeup.set()
        except aiomqtt.MqttError as exc:
            why = f"{exc} ({exc.__cause__})" if exc.__cause__ else str(exc)
            self._link_lost(
                link, f"agent {self.agent_id!r} lost broker {self._address.url}: {why}", exc
            )
        except Exception as exc:  # a bug here must not leave receive() waiting forever
            log.exception("receive loop of agent %s crashed", self.agent_id)
            self._set_lost(f"receive loop of agent {self.agent_id!r} crashed: {exc!r}", exc)

    def _link_lost(self, link: Link, message: str, cause: BaseException) -> None:
        """``link`` dropped: start reconnecting, or give up at once if that is disabled."""
        if self._closed or link is not self._link or link.dropped.is_set():
            return  # closing, or this drop is already being dealt with
        link.dropped.set()
        if self._reconnect_timeout == 0:
            self._set_lost(message, cause)
            return
        log.warning("%s; reconnecting for up to %g s", message, self._reconnect_timeout)
        self._reconnector = asyncio.create_task(
            self._reconnect(link, cause),
            name=f"hemesh.mqtt.reconnect[{self._topics.run}/{self.agent_id}]",
        )

    async def _reconnect(self, dropped: Link, cause: BaseException) -> None:
        """Reconnect with backoff until the bound; give up with :attr:`lost` after it."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self._reconnect_timeout
        attempts, error, pause = 0, "none", RECONNECT_PAUSES[0]
        try:
            await self._dispose(dropped)
            while (remaining := deadline - loop.time()) > 0:
                attempts += 1
                try:
                    async with asyncio.timeout(remaining):
                        await self._connect()
                except (TransportError, TimeoutError) as exc:
                    error = str(exc) or type(exc).__name__
                else:
                    self._reconnections += 1
                    log.info(
                        "agent %s reconnected to broker %s after %.2f s (attempt %d)",
                        self.agent_id,
                        self._address.url,
                        loop.time() - started,
                        attempts,
                    )
                    self._wakeup.set()
                    return
                delay = pause * self._jitter.uniform(0.5, 1.0)
                await asyncio.sleep(max(0.0, min(delay, deadline - loop.time())))
                pause = min(2 * pause, RECONNECT_PAUSES[1])
        except Exception as exc:  # a bug here must not leave anyone waiting for the link
            log.exception("reconnection of agent %s crashed", self.agent_id)
            error, cause = repr(exc), exc
        self._set_lost(
            f"agent {self.agent_id!r} lost broker {self._address.url} and could not "
            f"reconnect within {self._reconnect_timeout:g} s ({attempts} attempts; "
            f"last: {error})",
            cause,
        )

    def _set_lost(self, message: str, cause: BaseException) -> None:
        """The link is gone for good: fail every waiter with :class:`ConnectionLost`."""
        lost = ConnectionLost(message)
        lost.__cause__ = cause
        self._lost = lost
        if self._link is not None:
            self._link.dropped.set()
        log.warning("%s", message)
        self._wakeup.set()

    async def _dispose(self, link: Link) -> None:
        """Stop reading ``link`` and disconnect its client (at once if it dropped)."""
        if link.reader is not None and link.reader is not asyncio.current_task():
            link.reader.cancel()
            await asyncio.gather(link.reader, return_exceptions=True)
        await self._disconnect(link.client)

    async def _disconnect(self, client: aiomqtt.Client) -> None:
        """Disconnect cleanly if the link is up; bounded by the client's timeout."""
        try:
            await client.__aexit__(None, None, None)
        except aiomqtt.MqttError as exc:
            log.warning("agent %s did not disconnect cleanly: %s", self.agent_id, exc)
