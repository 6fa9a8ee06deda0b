"""What an MQTT endpoint does with a send: hand it to the client and return, its PUBACK
awaited in the background (bounded), resent once after a reconnection; or, at QoS 0,
hand it straight to paho with nothing to wait for.

:class:`Publisher` keeps that bookkeeping for one endpoint; the endpoint gives it its
link (waiting out a reconnection), its way of awaiting a client call on a link, and
its judgement of whether a failed call was cut off by a drop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from paho.mqtt.client import MQTT_ERR_SUCCESS

from .._errors import ConnectionLost
from ._client import PENDING_CALLS_WARNING, paho_of

log = logging.getLogger("hemesh.transport")

QOS_NOTE = """QoS 0 for the protocol's messages: over one TCP connection the broker
delivers them in order and whole, as at QoS 1; what QoS 1 adds with clean sessions is
only the sender's resend, after a reconnection, of a message the broker had not
acknowledged. At QoS 0 such a message is lost and its edge skipped symmetrically after
one round timeout (the protocol's usual answer to a lost message), and a broker may
drop QoS 0 messages for a client whose queue is full. It saves the two PUBACKs per
message (one sent, one received by every agent)."""

MAX_UNACKED = PENDING_CALLS_WARNING
"""Publishes an endpoint has waiting for their PUBACK at once; a send past it waits."""


@dataclass(eq=False)
class Link:
    """One connection to the broker: its client, the task reading it, whether it dropped."""

    client: aiomqtt.Client
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None


class Publisher:
    """The sends of one endpoint (``agent``, ``run`` for names and log lines) at ``qos``
    for its non-retained messages; retained ones always go at QoS 1, each publish's
    PUBACK bounded by ``timeout`` seconds."""

    def __init__(
        self,
        *,
        agent: str,
        run: str,
        qos: int,
        timeout: float,
        link: Callable[[], Awaitable[Link]],
        call: Callable[[Link, Awaitable[Any]], Awaitable[Any]],
        dropped: Callable[[Link, BaseException], bool],
    ) -> None:
        self._agent = agent
        self._run = run
        self._qos = qos
        self._timeout = timeout
        self._link = link
        self._call = call
        self._dropped = dropped
        self._unacked: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_UNACKED)

    async def publish(self, topic: str, data: bytes, *, retain: bool) -> None:
        """Hand ``data`` to the client and return; its PUBACK is awaited in the
        background (at most :data:`MAX_UNACKED` at once), so that a send costs no round
        trip to the broker; at QoS 0 there is none. Raises at once if the link is gone
        for good or closed."""
        link = await self._link()
        if self._qos == 0 and not retain:
            # nothing to wait for: straight to paho, which queues it on the socket
            info = paho_of(link.client).publish(topic, data, 0, False)
            if info.rc != MQTT_ERR_SUCCESS:
                log.warning(
                    "agent %s lost a message it sent on %s (link down: paho code %s)",
                    self._agent,
                    topic,
                    info.rc,
                )
            return
        await self._slots.acquire()
        task = asyncio.create_task(
            self._acked_publish(topic, data, retain=retain),
            name=f"hemesh.mqtt.publish[{self._run}/{self._agent}]",
        )
        self._unacked.add(task)
        task.add_done_callback(self._acked)

    def _acked(self, task: asyncio.Task[None]) -> None:
        self._unacked.discard(task)
        self._slots.release()
        if not task.cancelled() and (exc := task.exception()) is not None:
            # the message is lost: its edge times out and is skipped symmetrically
            log.warning("agent %s lost a message it sent: %s", self._agent, exc)

    async def _acked_publish(self, topic: str, data: bytes, *, retain: bool) -> None:
        for attempt in range(2):
            link = await self._link()
            qos = 1 if retain else self._qos
            publish = link.client.publish(
                topic, data, qos=qos, retain=retain, timeout=self._timeout
            )
            try:
                await self._call(link, publish)
                return
            except ConnectionLost as exc:
                if attempt or not self._dropped(link, exc):
                    raise
                log.debug("agent %s resends on %s once reconnected", self._agent, topic)

    async def settle(self) -> None:
        """Wait (one ``timeout`` at most) for the PUBACKs still due, then give up on the
        rest."""
        if not self._unacked:
            return
        _, late = await asyncio.wait(set(self._unacked), timeout=self._timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
