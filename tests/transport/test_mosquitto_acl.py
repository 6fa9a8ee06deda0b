"""A ManagedMosquitto with per-agent logins, against the real broker: what is DELIVERED.

Mosquitto acknowledges a denied publish or subscription and drops it, so no test here
reads a PUBACK or SUBACK code. Negative checks end with a barrier: a message on an
allowed path published after the forbidden ones (or the listener's own QoS 1 round
trip), whose arrival proves that anything routed before it has arrived too.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest
from aiomqtt.exceptions import MqttConnectError

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
    TransportError,
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


def allowed_writes(t: Topics, agent: str) -> set[str]:
    return {t.inbox(n, agent) for n in PATH5[agent]} | {t.key(agent), t.status(agent)}


async def test_acl_matrix_delivers_exactly_the_edges(tmp_path: Path, run_id: str) -> None:
    t = Topics(run_id)
    agents = list(PATH5)
    async with broker(tmp_path, run_id) as b, AsyncExitStack() as stack:
        taps = {a: await stack.enter_async_context(tap(b.address(a), "#")) for a in agents}
        harness = await stack.enter_async_context(tap(b.address(HARNESS)))
        forbidden_sent = 0
        for sender in agents:
            # Everything this agent could try that is not its own: every inbox topic under
            # every claimed sender, every other agent's key and status, another run.
            attempts = {t.inbox(r, s) for r, s in itertools.permutations(agents, 2)}
            attempts |= {t.key(a) for a in agents} | {t.status(a) for a in agents}
            attempts |= {Topics(run_id + "x").inbox(n, sender) for n in PATH5[sender]}
            for topic in sorted(attempts - allowed_writes(t, sender)):
                await taps[sender].client.publish(topic, b"forbidden", qos=1, timeout=WAIT)
                forbidden_sent += 1
        for sender in agents:  # the positive controls: every edge, both ways
            for topic in sorted(allowed_writes(t, sender)):
                await taps[sender].client.publish(topic, sender.encode(), qos=1, timeout=WAIT)
        for receiver in agents:  # the barrier: after all of the above
            await harness.client.publish(t.inbox(receiver, HARNESS), b"end", qos=1, timeout=WAIT)
        assert forbidden_sent > 100
        for receiver in agents:
            near = PATH5[receiver]
            expected = {t.inbox(receiver, n) for n in near} | {t.inbox(receiver, HARNESS)}
            expected |= {t.key(n) for n in near} | {t.status(n) for n in near}
            await taps[receiver].until(expected)
            await taps[receiver].barrier()
            assert taps[receiver].topics == expected, receiver
            assert all(payload != b"forbidden" for _, payload in taps[receiver].seen)
            for non_edge in set(agents) - set(near) - {receiver}:
                assert t.inbox(receiver, non_edge) not in taps[receiver].topics


async def test_observer_with_valid_login_receives_nothing_of_a_real_run(
    tmp_path: Path, run_id: str
) -> None:
    async with broker(tmp_path, run_id) as b:
        logins = {a: b.address(a) for a in PATH5}
        transport = MqttTransport(run_id, b.address(OBSERVER), logins=logins)
        async with (
            tap(b.address(OBSERVER), "#", "hemesh/#", f"hemesh/{run_id}/#") as early,
            AsyncExitStack() as stack,
        ):
            endpoints = {
                a: await stack.enter_async_context(transport.endpoint(a, neighbours=n))
                for a, n in PATH5.items()
            }
            for a, n in PATH5.items():  # one request along every edge, both ways
                for other in n:
                    await endpoints[a].send(
                        Envelope(
                            run=run_id,
                            iteration=0,
                            sender=a,
                            receiver=other,
                            kind=Kind.REQUEST,
                            payload={"x": 1},
                        )
                    )
            for a, n in PATH5.items():
                async with asyncio.timeout(WAIT):
                    got = {(await endpoints[a].receive()).sender for _ in n}
                assert got == set(n)
            # A late observer too: the retained status topics must not reach it either.
            async with tap(b.address(LURKER), "#") as late:
                await early.barrier()
                await late.barrier()
                assert early.seen == []
                assert late.seen == []


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


@pytest.mark.parametrize("who", ["anonymous", "wrong password", "unknown user"])
async def test_logins_without_valid_credentials_are_refused(
    tmp_path: Path, run_id: str, who: str
) -> None:
    async with broker(tmp_path, run_id) as b:
        good = b.address("a0")
        bad = {
            "anonymous": BrokerAddress(host=good.host, port=good.port),
            "wrong password": BrokerAddress(
                host=good.host, port=good.port, username="a0", password="x" + str(good.password)
            ),
            "unknown user": BrokerAddress(
                host=good.host, port=good.port, username="eve", password=good.password
            ),
        }[who]
        with pytest.raises(MqttConnectError):
            async with tap(bad, "#"):
                pass
        transport = MqttTransport(run_id, bad)
        with pytest.raises(TransportError, match="refused"):
            async with transport.endpoint("a0", neighbours=["a1"]):
                pass
        async with tap(good):  # the positive control: the right login gets in
            pass


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
