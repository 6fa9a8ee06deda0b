"""A ManagedMosquitto with per-agent logins, against the real broker: what is DELIVERED.

What only Mosquitto has; the ACL matrix, the vantages and the refused logins are
checked on both brokers at once in test_broker_acl.py.

Mosquitto acknowledges a denied publish or subscription and drops it, so no test here
reads a PUBACK or SUBACK code. Negative checks end with a barrier: a message on an
allowed path published after the forbidden ones (or the listener's own QoS 1 round
trip), whose arrival proves that anything routed before it has arrived too.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from tests._brokers import require_mosquitto
from transport import (
    BrokerAddress,
    BrokerError,
    BrokerRights,
    Envelope,
    Kind,
    ManagedMosquitto,
    MosquittoSetup,
    MqttTransport,
    Topics,
    mqtt_client,
)

pytestmark = [pytest.mark.mosquitto, pytest.mark.asyncio]

WAIT = 5.0
"""Bound on every wait for a message."""

PATH5 = {
    "a0": ["a1"],
    "a1": ["a0", "a2"],
    "a2": ["a1", "a3"],
    "a3": ["a2", "a4"],
    "a4": ["a3"],
}
HARNESS = "harness"
OBSERVER = "observer"
LURKER = "lurker"
"""A second login without rights (one login is one client id: two would evict each other)."""


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

    async def barrier(self) -> None:
        """Our own QoS 1 round trip: whatever the broker routed to us before it is queued
        here by the time the PUBACK is (one TCP stream, one broker thread). Then drain."""
        await self.client.publish(f"barrier/{self.name}", b"", qos=1, timeout=WAIT)
        while len(self.client.messages):
            await self._take()


@asynccontextmanager
async def tap(
    address: BrokerAddress, *filters: str, identifier: str | None = None, within: float = WAIT
) -> AsyncIterator[Tap]:
    name = identifier if identifier is not None else f"tap-{secrets.token_hex(4)}"
    client = mqtt_client(address, identifier=name, timeout=within)
    async with client:
        for topic_filter in filters:
            await client.subscribe(topic_filter, qos=1, timeout=WAIT)
        yield Tap(client, address.username or "anonymous")


@asynccontextmanager
async def broker(
    tmp_path: Path,
    run: str,
    neighbours: Mapping[str, list[str]] = PATH5,
    *,
    tls: bool = False,
) -> AsyncIterator[ManagedMosquitto]:
    setup = MosquittoSetup(
        runs=(run,),
        neighbours=neighbours,
        users={HARNESS: BrokerRights.ALL, OBSERVER: BrokerRights.NONE, LURKER: BrokerRights.NONE},
        tls=tls,
    )
    async with ManagedMosquitto(setup, tmp_path / "broker", binary=require_mosquitto()) as b:
        yield b


async def test_reusing_another_agents_client_id_receives_nothing_of_it(
    tmp_path: Path, run_id: str
) -> None:
    t = Topics(run_id)
    async with (
        broker(tmp_path, run_id) as b,
        tap(b.address("a0"), t.inbox_filter("a0"), identifier=f"hemesh.{run_id}.a0") as victim,
        tap(b.address("a1")) as neighbour,
    ):
        # a3 logs in with its own password but a0's client id (both the bare id and
        # the one MqttEndpoint uses), subscribed to a0's inbox.
        for identifier in ("a0", f"hemesh.{run_id}.a0"):
            async with tap(
                b.address("a3"), t.inbox_filter("a0"), "#", identifier=identifier
            ) as impostor:
                body = identifier.encode()
                await neighbour.client.publish(t.inbox("a0", "a1"), body, qos=1, timeout=WAIT)
                await victim.until({t.inbox("a0", "a1")})
                assert victim.seen[-1] == (t.inbox("a0", "a1"), body)  # still connected
                await impostor.barrier()
                assert impostor.seen == []
                victim.seen.clear()


async def test_tls_listener_with_the_generated_ca(tmp_path: Path, run_id: str) -> None:
    pair = {"a0": ["a1"], "a1": ["a0"]}
    async with broker(tmp_path, run_id, pair, tls=True) as b:
        address = b.address("a0")
        assert address.tls and address.ca_file is not None
        assert address.url.startswith("mqtts://a0:***@")
        transport = MqttTransport(
            run_id, b.address(OBSERVER), logins={a: b.address(a) for a in pair}
        )
        async with (
            transport.endpoint("a0", neighbours=["a1"]) as a0,
            transport.endpoint("a1", neighbours=["a0"]) as a1,
        ):
            sent = Envelope(
                run=run_id, iteration=3, sender="a0", receiver="a1", kind=Kind.REQUEST, payload={}
            )
            await a0.send(sent)
            async with asyncio.timeout(WAIT):
                assert await a1.receive() == sent
        plain = BrokerAddress(host=address.host, port=address.port, username="a0", password="x")
        with pytest.raises(aiomqtt.MqttError):  # a plain client never gets a CONNACK
            async with tap(plain, within=1.0):
                pass


async def test_managed_broker_is_stopped_by_pid_and_refuses_reentry(
    tmp_path: Path, run_id: str
) -> None:
    async with broker(tmp_path, run_id) as b:
        pid = b.pid
        running_inside = b.running
        os.kill(pid, 0)  # it exists
        with pytest.raises(BrokerError, match="twice"):
            async with b:
                pass
    assert running_inside
    assert not b.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_missing_binary_and_busy_port_are_clear_errors(tmp_path: Path, run_id: str) -> None:
    setup = MosquittoSetup(runs=(run_id,), neighbours={"a0": []})
    with pytest.raises(BrokerError, match="cannot start"):
        async with ManagedMosquitto(setup, tmp_path / "x", binary=str(tmp_path / "nope")):
            pass
    async with broker(tmp_path, run_id) as b:
        taken = MosquittoSetup(runs=(run_id,), neighbours={"a0": []}, port=b.setup.port)
        with pytest.raises(BrokerError, match=f"on port {b.setup.port}"):
            async with ManagedMosquitto(taken, tmp_path / "y", binary=require_mosquitto()):
                pass
