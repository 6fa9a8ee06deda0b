"""An observer's subscription on an MQTT broker: :class:`MqttTap`.

For whoever watches a run without taking part in it (an eavesdropper, a
supervisor, a test): one client from :func:`mqtt_client`, one topic filter at
QoS 1, and the raw ``(topic, bytes)`` of everything the broker delivers on it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from types import TracebackType
from typing import Self

import aiomqtt

from .._errors import BrokerError, ConnectionLost, TransportError
from .._values import validate_seconds
from ._address import BrokerAddress
from ._client import mqtt_client, open_client, refused_filters

log = logging.getLogger("hemesh.transport")

TAP_TIMEOUT = 10.0
"""Default bound on connecting, on the SUBACK and on disconnecting, each."""


class MqttTap:
    """Subscribes to ``topic_filter`` at QoS 1 on the broker at ``address`` for the span
    of ``async with``; ``async for topic, data in tap`` yields what it delivers.

    ``username`` (and ``password``) log in instead of the address's own credentials.
    ``timeout`` bounds the TCP connect, the CONNACK, the SUBACK and the disconnect.
    A broker that cannot be reached raises :class:`ConnectionLost`, one that refuses
    the login or the subscription :class:`BrokerError`, both naming the tap and the
    broker; a link that drops while iterating raises :class:`ConnectionLost`, and
    iteration ends once the tap is closed. Re-entry is refused.

    Deliveries wait in aiomqtt's queue until iterated: it is not bounded, because a
    tap that dropped messages would understate what an observer sees; whoever
    iterates bounds it by keeping up.
    """

    def __init__(
        self,
        address: BrokerAddress,
        topic_filter: str,
        *,
        identifier: str,
        username: str | None = None,
        password: str | None = None,
        timeout: float = TAP_TIMEOUT,
    ) -> None:
        if not isinstance(address, BrokerAddress):
            raise TransportError(f"address must be a BrokerAddress, got {type(address).__name__}")
        if not isinstance(topic_filter, str) or not topic_filter:
            raise TransportError(f"topic_filter must be a non-empty string, got {topic_filter!r}")
        if not isinstance(identifier, str) or not identifier:
            raise TransportError(f"identifier must be a non-empty string, got {identifier!r}")
        if username is not None:
            address = replace(address, username=username, password=password)
        elif password is not None:
            raise TransportError("a tap password needs a username")
        self._address = address
        self._filter = topic_filter
        self._identifier = identifier
        self._timeout = validate_seconds(timeout, what="timeout")
        self._client: aiomqtt.Client | None = None
        self._entered = False
        self._closed = False

    @property
    def address(self) -> BrokerAddress:
        """Where the tap connects, with the credentials it logs in with."""
        return self._address

    @property
    def topic_filter(self) -> str:
        return self._filter

    def __repr__(self) -> str:
        return f"<MqttTap {self._filter!r} at {self._address.url}>"

    async def __aenter__(self) -> Self:
        if self._entered:
            raise TransportError("an MqttTap cannot be entered twice")
        self._entered = True
        client = mqtt_client(self._address, identifier=self._identifier, timeout=self._timeout)
        try:
            await open_client(
                client, self._address, who=repr(self._identifier), refused=BrokerError
            )
        except TransportError as exc:
            raise type(exc)(f"tap on {self._filter!r}: {exc}") from exc.__cause__
        try:
            granted = await client.subscribe(self._filter, qos=1, timeout=self._timeout)
            if refused_filters([self._filter], granted):
                raise BrokerError(
                    f"tap on {self._filter!r}: broker {self._address.url} refused the subscription"
                )
        except aiomqtt.MqttError as exc:
            await self._disconnect(client)
            raise ConnectionLost(
                f"tap on {self._filter!r}: broker {self._address.url} did not take "
                f"the subscription: {exc}"
            ) from exc
        except BaseException:
            await self._disconnect(client)
            raise
        self._client = client
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await self._disconnect(client)

    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        return self._messages()

    async def _messages(self) -> AsyncIterator[tuple[str, bytes]]:
        client = self._client
        if client is None:
            raise TransportError(f"{self!r} is not open")
        try:
            async for message in client.messages:
                payload = message.payload
                if isinstance(payload, bytes | bytearray):
                    yield str(message.topic), bytes(payload)
        except aiomqtt.MqttError as exc:
            if self._closed:
                return  # closed by us: the iteration is over, nothing was lost
            raise ConnectionLost(
                f"tap on {self._filter!r} lost broker {self._address.url}: {exc}"
            ) from exc

    async def _disconnect(self, client: aiomqtt.Client) -> None:
        """Disconnect (bounded by the client's timeout), logging what goes wrong."""
        try:
            await client.__aexit__(None, None, None)
        except aiomqtt.MqttError as exc:
            log.warning("%r did not disconnect cleanly: %s", self, exc)
