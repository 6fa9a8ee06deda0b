"""The one place an aiomqtt client is built and opened for a :class:`BrokerAddress`.

Every client transport makes (an agent's endpoint, an observer's tap) comes from
:func:`mqtt_client`: MQTT 3.1.1, clean session, TCP_NODELAY on its socket (Nagle
costs ~40 ms per synchronous round otherwise), TLS trusting the address's CA file,
the address's credentials, and ``timeout`` both for paho's TCP connect and for
every acknowledgement aiomqtt waits for.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aiomqtt
from aiomqtt import ProtocolVersion, TLSParameters, Will
from aiomqtt.exceptions import MqttConnectError

from .._errors import ConnectionLost, TransportError
from .._values import validate_seconds
from ._address import BrokerAddress

if TYPE_CHECKING:
    from paho.mqtt.client import Client as PahoClient  # aiomqtt's own dependency

PENDING_CALLS_WARNING = 1024
"""aiomqtt logs a warning past this many unacknowledged calls (its default, 10, is
below what one iteration of a well-connected agent keeps in flight)."""

DEFAULT_KEEPALIVE = 60
"""aiomqtt's own default MQTT keep-alive, in seconds."""


def paho_of(client: aiomqtt.Client) -> PahoClient:
    """The paho client inside ``client``.

    The one place hemesh reaches into aiomqtt's private ``_client``: aiomqtt 2.5 has no
    public way to set paho's blocking TCP connect timeout (5 s otherwise), to close the
    socket it leaves open when CONNACK is refused or never comes, to ask whether paho
    has already seen the socket close, or to reach that socket.
    """
    # aiomqtt private API, touched here only (see the docstring for why).
    paho: PahoClient = client._client
    return paho


def mqtt_client(
    address: BrokerAddress,
    *,
    identifier: str,
    timeout: float,
    keepalive: int = DEFAULT_KEEPALIVE,
    will: Will | None = None,
) -> aiomqtt.Client:
    """A configured, not yet connected client of the broker at ``address``.

    ``timeout`` bounds paho's TCP connect and each acknowledgement (CONNACK, SUBACK,
    PUBACK, the disconnect); ``will`` is published by the broker if the link dies.
    """
    if not isinstance(address, BrokerAddress):
        raise TransportError(f"address must be a BrokerAddress, got {type(address).__name__}")
    timeout = validate_seconds(timeout, what="timeout")
    client = aiomqtt.Client(
        address.host,
        address.port,
        username=address.username,
        password=address.password,
        identifier=identifier,
        protocol=ProtocolVersion.V311,
        clean_session=True,
        will=will,
        timeout=timeout,
        keepalive=keepalive,
        tls_params=TLSParameters(ca_certs=address.ca_file) if address.tls else None,
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
    client.pending_calls_threshold = PENDING_CALLS_WARNING
    paho_of(client).connect_timeout = timeout
    return client


async def open_client(
    client: aiomqtt.Client,
    address: BrokerAddress,
    *,
    who: str,
    refused: type[TransportError] = TransportError,
) -> None:
    """Connect ``client`` to ``address``: the broker's refusal raises ``refused``, a broker
    that cannot be reached (or never answers) :class:`ConnectionLost`. Nothing stays
    open on failure."""
    try:
        try:
            await client.__aenter__()
        except BaseException:
            # aiomqtt 2.5.1 leaves the socket open when CONNACK is refused or never
            # comes; paho's disconnect() queues a DISCONNECT, after which it closes it.
            paho = paho_of(client)
            if paho.socket() is not None:
                paho.disconnect()
            raise
    except MqttConnectError as exc:
        raise refused(f"broker {address.url} refused {who}: {exc}") from exc
    except aiomqtt.MqttError as exc:
        raise ConnectionLost(f"cannot reach broker {address.url}: {exc}") from exc


def refused_filters(filters: Sequence[str], granted: Sequence[object]) -> list[str]:
    """The topic filters of a SUBSCRIBE whose SUBACK code (``granted``, in order) is a
    failure: 0x80 in MQTT 3.1.1, a failing reason code in MQTT 5."""
    return [
        f
        for f, code in zip(filters, granted, strict=False)
        if getattr(code, "is_failure", False) or code == 0x80
    ]
