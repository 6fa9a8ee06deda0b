"""What the broker-ACL tests share: the 5-path, the logins, and a tap that records what
a login is DELIVERED (test_broker_acl.py on both brokers, test_embedded_lockdown.py and
test_mosquitto_acl.py for what only one of them has)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import aiomqtt
from aiomqtt import Will

from transport import BrokerAddress, BrokerRights, MosquittoSetup, mqtt_client

WAIT = 5.0
"""Bound on every wait for a message."""
SETTLE = 0.3
"""How long a negative check waits after its barrier message has arrived."""

PATH5 = {
    "a0": ["a1"],
    "a1": ["a0", "a2"],
    "a2": ["a1", "a3"],
    "a3": ["a2", "a4"],
    "a4": ["a3"],
}
HARNESS = "harness"
"""A login with every right: it writes what the agents may not."""
OBSERVER = "observer"
"""A login without rights."""
LURKER = "lurker"
"""A second login without rights (one login is one session: two would evict each other)."""
WIRETAP = "wiretap"
"""A login that reads everything of the run and writes nothing (the broker's vantage)."""

EVERYTHING = ("#", "hemesh/#", "hemesh/+/inbox/#")
"""Wildcard filters an eavesdropping login tries; the run's own ``hemesh/<run>/#`` too."""


def lockdown(
    run: str,
    neighbours: Mapping[str, Sequence[str]] = PATH5,
    *,
    wiretap: bool = False,
    tls: bool = False,
) -> MosquittoSetup:
    """The agents of ``neighbours`` plus the harness, the rightless logins and, with
    ``wiretap``, the read-everything one."""
    users = {HARNESS: BrokerRights.ALL, OBSERVER: BrokerRights.NONE, LURKER: BrokerRights.NONE}
    if wiretap:
        users[WIRETAP] = BrokerRights.READ
    return MosquittoSetup(
        runs=(run,), neighbours={a: list(n) for a, n in neighbours.items()}, users=users, tls=tls
    )


class Tap:
    """An MQTT client and what it has received, in order."""

    def __init__(self, client: aiomqtt.Client, name: str) -> None:
        self.client = client
        self.name = name
        self.seen: list[tuple[str, bytes]] = []

    @property
    def topics(self) -> set[str]:
        return {topic for topic, _ in self.seen}

    async def _take(self) -> None:
        message = await anext(aiter(self.client.messages))
        payload = message.payload
        assert isinstance(payload, bytes | bytearray)
        self.seen.append((str(message.topic), bytes(payload)))

    async def until(self, topics: set[str]) -> None:
        """Receive until every topic of ``topics`` has been seen (bounded)."""
        async with asyncio.timeout(WAIT):
            while not topics <= self.topics:
                await self._take()

    async def settle(self) -> None:
        """Give the broker time to route anything still on its way to us, then drain.

        amqtt acknowledges a PUBLISH before routing it, so an acknowledgement is no
        barrier; callers first wait for a message published after the ones that must
        not arrive (the same sender's, where one may reach us), then settle."""
        await asyncio.sleep(SETTLE)
        while len(self.client.messages):
            await self._take()

    async def barrier(self) -> None:
        """Mosquitto only: our own QoS 1 round trip. Whatever the broker routed to us
        before it is queued here by the time the PUBACK is (one TCP stream, one broker
        thread). Then drain."""
        await self.client.publish(f"barrier/{self.name}", b"", qos=1, timeout=WAIT)
        while len(self.client.messages):
            await self._take()


@asynccontextmanager
async def tap(
    address: BrokerAddress,
    *filters: str,
    identifier: str | None = None,
    will: Will | None = None,
    within: float = WAIT,
) -> AsyncIterator[Tap]:
    """A client logged in at ``address``, subscribed to ``filters`` (QoS 1)."""
    name = identifier if identifier is not None else f"tap-{secrets.token_hex(4)}"
    client = mqtt_client(address, identifier=name, timeout=within, will=will)
    async with client:
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1, timeout=WAIT)
        yield Tap(client, address.username or "anonymous")
