"""Endpoints on a real MQTT 3.1.1 broker, through aiomqtt (DESIGN.md, Transport).

Each endpoint is one aiomqtt client: clean session, QoS 1 both ways, TCP_NODELAY
on its socket (Nagle costs ~40 ms per synchronous round otherwise), a retained
``online``/``offline`` status with a will message, and one background task that
feeds what the broker delivers through :meth:`EndpointBase._deliver`.
aiomqtt and paho errors are translated into :class:`ConnectionLost` or
:class:`TransportError` where they enter.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Collection
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import quote, unquote, urlsplit

import aiomqtt
from aiomqtt import ProtocolVersion, TLSParameters, Will
from aiomqtt.exceptions import MqttConnectError

from ._endpoint import EndpointBase
from ._envelope import Envelope
from ._errors import ConnectionLost, TransportError
from ._topics import Topics

log = logging.getLogger("hemesh.transport")

_T = TypeVar("_T")

_SCHEMES = {"mqtt": False, "mqtts": True}
_DEFAULT_PORTS = {False: 1883, True: 8883}
_MASK = "***"

ONLINE = b"online"
OFFLINE = b"offline"
"""Retained payloads of ``topics.status(agent)``; ``offline`` is also the will message."""

PENDING_CALLS_WARNING = 1024
"""aiomqtt logs a warning past this many unacknowledged calls (its default, 10, is
below what one iteration of a well-connected agent keeps in flight)."""


def _mask_password(url: str) -> str:
    """``url`` with whatever follows ``user:`` in its userinfo replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, hostpart = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    masked = f"{user}:{_MASK}" if colon else user
    return f"{scheme}://{masked}@{hostpart}"


@dataclass(frozen=True, kw_only=True, slots=True)
class BrokerAddress:
    """Where an MQTT broker listens, and the credentials to give it.

    The password never appears in ``repr`` or :attr:`url`.
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host or any(c in self.host for c in " /@"):
            raise TransportError(f"broker host must be a host name or address, got {self.host!r}")
        if type(self.port) is not int or not 0 < self.port < 65536:
            raise TransportError(f"broker port must be an int in [1, 65535], got {self.port!r}")
        for name in ("username", "password"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise TransportError(f"broker {name} must be a string or None")
        if self.password is not None and self.username is None:
            raise TransportError("a broker password needs a username")
        if not isinstance(self.tls, bool):
            raise TransportError(f"tls must be a bool, got {self.tls!r}")

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Read ``mqtt://[user[:password]@]host[:port]`` or ``mqtts://...`` (TLS).

        Default ports are 1883 and 8883; user and password may be percent-encoded.
        A bad URL raises :class:`TransportError` naming it with the password masked.
        """
        if not isinstance(url, str):
            raise TransportError(f"broker URL must be a string, got {type(url).__name__}")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:  # its message may quote the password: say it in our words
            raise TransportError(
                f"bad broker URL {_mask_password(url)!r}: the port is not a number in [1, 65535]"
            ) from None
        problem = None
        if parts.scheme not in _SCHEMES:
            problem = "the scheme must be mqtt:// or mqtts://"
        elif not parts.hostname:
            problem = "it names no host"
        elif parts.path not in ("", "/") or parts.query or parts.fragment:
            problem = "it has a path, query or fragment"
        if problem is not None:
            raise TransportError(f"bad broker URL {_mask_password(url)!r}: {problem}")
        tls = _SCHEMES[parts.scheme]
        username = None if parts.username is None else unquote(parts.username)
        password = None if parts.password is None else unquote(parts.password)
        try:
            return cls(
                host=parts.hostname,  # type: ignore[arg-type]  # checked above
                port=_DEFAULT_PORTS[tls] if port is None else port,
                username=username,
                password=password,
                tls=tls,
            )
        except TransportError as exc:
            raise TransportError(f"bad broker URL {_mask_password(url)!r}: {exc}") from None

    @property
    def url(self) -> str:
        """This address as a URL, with the password (if any) masked."""
        scheme = "mqtts" if self.tls else "mqtt"
        userinfo = ""
        if self.username is not None:
            userinfo = quote(self.username, safe="")
            if self.password is not None:
                userinfo += f":{_MASK}"
            userinfo += "@"
        host = self.host
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass  # a host name, not an address
        return f"{scheme}://{userinfo}{host}:{self.port}"


class MqttTransport:
    """Endpoints of one run on the MQTT broker at ``address``.

    ``connect_timeout`` bounds each step of opening an endpoint (TCP connect,
    CONNACK, the status publish, SUBACK), each publish's PUBACK, and each step
    of closing. ``keepalive`` is the MQTT keep-alive in seconds: a broker that
    vanishes without closing the connection is noticed after 1.5 times that.
    """

    def __init__(
        self,
        run: str,
        address: BrokerAddress,
        *,
        connect_timeout: float = 10.0,
        keepalive: int = 30,
    ) -> None:
        if not isinstance(address, BrokerAddress):
            raise TransportError(f"address must be a BrokerAddress, got {type(address).__name__}")
        if isinstance(connect_timeout, bool) or not (
            isinstance(connect_timeout, int | float) and 0 < connect_timeout < float("inf")
        ):
            raise TransportError(
                f"connect_timeout must be positive seconds, got {connect_timeout!r}"
            )
        if type(keepalive) is not int or not 0 < keepalive < 65536:
            raise TransportError(f"keepalive must be an int in [1, 65535], got {keepalive!r}")
        self._topics = Topics(run)
        self._address = address
        self._connect_timeout = float(connect_timeout)
        self._keepalive = keepalive

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
    def connect_timeout(self) -> float:
        return self._connect_timeout

    @property
    def keepalive(self) -> int:
        return self._keepalive

    def endpoint(self, agent_id: str, *, neighbours: Collection[str]) -> MqttEndpoint:
        return MqttEndpoint(self, agent_id, neighbours)


class MqttEndpoint(EndpointBase):
    """An agent's endpoint: one MQTT client connection, opened by ``async with``."""

    def __init__(
        self, transport: MqttTransport, agent_id: str, neighbours: Collection[str]
    ) -> None:
        super().__init__(transport.topics, agent_id, neighbours)
        self._address = transport.address
        self._timeout = transport.connect_timeout
        self._keepalive = transport.keepalive
        self._client: aiomqtt.Client | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lost: ConnectionLost | None = None
        self._lost_event = asyncio.Event()
        self._closed = False
        self._wakeup = asyncio.Event()
        """Set on every delivery, on loss of the link and on close: wakes :meth:`receive`."""

    @property
    def address(self) -> BrokerAddress:
        return self._address

    async def receive(self) -> Envelope:
        """The next valid envelope; :class:`ConnectionLost` once the broker is gone.

        Envelopes that arrived before the connection was lost are handed out first.
        """
        while True:
            if not self._inbound.empty():
                return self._inbound.get_nowait()
            self._raise_if_lost()
            if self._closed:
                raise TransportError(f"endpoint {self.agent_id!r} is closed")
            if self._client is None:
                raise TransportError(f"endpoint {self.agent_id!r} is not open")
            self._wakeup.clear()
            await self._wakeup.wait()

    @property
    def lost(self) -> ConnectionLost | None:
        """Why the link to the broker went away, or None while it is up."""
        return self._lost

    def _raise_if_lost(self) -> None:
        if self._lost is not None:
            raise ConnectionLost(str(self._lost)) from self._lost.__cause__

    async def _open_link(self) -> None:
        status = self._topics.status(self.agent_id)
        client = aiomqtt.Client(
            self._address.host,
            self._address.port,
            username=self._address.username,
            password=self._address.password,
            identifier=f"hemesh.{self._topics.run}.{self.agent_id}",
            protocol=ProtocolVersion.V311,
            clean_session=True,
            will=Will(topic=status, payload=OFFLINE, qos=1, retain=True),
            timeout=self._timeout,
            keepalive=self._keepalive,
            tls_params=TLSParameters() if self._address.tls else None,
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        client.pending_calls_threshold = PENDING_CALLS_WARNING
        # paho's blocking TCP connect (run in a thread by aiomqtt) defaults to 5 s.
        client._client.connect_timeout = self._timeout
        try:
            try:
                await client.__aenter__()
            except BaseException:
                # aiomqtt 2.5.1 leaves the socket open when CONNACK is refused or never
                # comes; paho's disconnect() queues a DISCONNECT, after which it closes it.
                if client._client.socket() is not None:
                    client._client.disconnect()
                raise
        except MqttConnectError as exc:
            raise TransportError(
                f"broker {self._address.url} refused {self.agent_id!r}: {exc}"
            ) from exc
        except aiomqtt.MqttError as exc:
            raise ConnectionLost(f"cannot reach broker {self._address.url}: {exc}") from exc
        self._client = client
        try:
            await self._call(
                client.publish(status, ONLINE, qos=1, retain=True, timeout=self._timeout)
            )
            granted = await self._call(
                client.subscribe([(f, 1) for f in self.subscriptions()], timeout=self._timeout)
            )
            refused = [
                f
                for f, code in zip(self.subscriptions(), granted, strict=False)
                if getattr(code, "is_failure", False) or code == 0x80
            ]
            if refused:
                raise TransportError(f"broker {self._address.url} refused subscriptions {refused}")
            self._reader = asyncio.create_task(
                self._read(client), name=f"hemesh.mqtt.receive[{self._topics.run}/{self.agent_id}]"
            )
        except BaseException:
            await self._disconnect(client)
            self._client = None
            raise

    async def _close_link(self) -> None:
        self._closed = True
        self._wakeup.set()
        client, self._client = self._client, None
        if client is None:
            return
        if self._lost is None:
            try:
                await self._call(
                    client.publish(
                        self._topics.status(self.agent_id),
                        OFFLINE,
                        qos=1,
                        retain=True,
                        timeout=self._timeout,
                    )
                )
            except TransportError as exc:
                log.warning("agent %s could not publish its offline status: %s", self.agent_id, exc)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        await self._disconnect(client)

    async def _publish(self, topic: str, data: bytes, *, retain: bool) -> None:
        client = self._client
        if client is None:
            raise TransportError(f"endpoint {self.agent_id!r} is closed")
        await self._call(client.publish(topic, data, qos=1, retain=retain, timeout=self._timeout))

    async def _call(self, call: Awaitable[_T]) -> _T:
        """Await an aiomqtt call, translating its errors and failing fast on a lost link."""
        if self._lost is not None:
            if asyncio.iscoroutine(call):
                call.close()
            self._raise_if_lost()
        task = asyncio.ensure_future(call)
        lost = asyncio.ensure_future(self._lost_event.wait())
        try:
            await asyncio.wait((task, lost), return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if task.cancelled():  # only ever by the finally above, when the link went away
            self._raise_if_lost()
        try:
            return task.result()
        except aiomqtt.MqttError as exc:
            raise ConnectionLost(f"broker {self._address.url}: {exc}") from exc

    async def _read(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                self._deliver(str(message.topic), bytes(message.payload))
                self._wakeup.set()
        except aiomqtt.MqttError as exc:
            why = f"{exc} ({exc.__cause__})" if exc.__cause__ else str(exc)
            self._set_lost(f"agent {self.agent_id!r} lost broker {self._address.url}: {why}", exc)
        except Exception as exc:  # a bug here must not leave receive() waiting forever
            log.exception("receive loop of agent %s crashed", self.agent_id)
            self._set_lost(f"receive loop of agent {self.agent_id!r} crashed: {exc!r}", exc)

    def _set_lost(self, message: str, cause: BaseException) -> None:
        lost = ConnectionLost(message)
        lost.__cause__ = cause
        self._lost = lost
        log.warning("%s", message)
        self._lost_event.set()
        self._wakeup.set()

    async def _disconnect(self, client: aiomqtt.Client) -> None:
        """Disconnect cleanly if the link is up; bounded by the client's timeout."""
        try:
            await client.__aexit__(None, None, None)
        except aiomqtt.MqttError as exc:
            log.warning("agent %s did not disconnect cleanly: %s", self.agent_id, exc)
