"""One ACL, two brokers: the locked-down embedded broker and the generated Mosquitto,
against their real processes, checked by what is DELIVERED.

Both acknowledge a denied publish and drop it, and accept a subscription that then
delivers only what the login may read, so no test here reads a PUBACK or SUBACK code.
Negative checks wait for a message on an allowed path published after the forbidden
ones, then give the broker a moment more (amqtt acknowledges a PUBLISH before it
routes it). What only one of the brokers has is tested beside it
(test_embedded_lockdown.py, test_mosquitto_acl.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from aiomqtt.exceptions import MqttConnectError

from tests._brokers import require_mosquitto
from tests.transport._acl import (
    EVERYTHING,
    HARNESS,
    LURKER,
    OBSERVER,
    PATH5,
    SETTLE,
    WAIT,
    WIRETAP,
    lockdown,
    tap,
)
from transport import (
    BrokerAddress,
    EmbeddedBroker,
    Envelope,
    Kind,
    ManagedMosquitto,
    MqttTransport,
    Topics,
    TransportError,
    encode,
)

pytestmark = pytest.mark.asyncio

BROKERS = ["embedded", pytest.param("mosquitto", marks=pytest.mark.mosquitto)]

AddressFor = Callable[[str], BrokerAddress]


@asynccontextmanager
async def locked(kind: str, run: str, tmp_path: Path) -> AsyncIterator[AddressFor]:
    """The broker ``kind`` locked down by one setup; yields each login's address."""
    setup = lockdown(run, wiretap=True)
    if kind == "embedded":
        async with EmbeddedBroker(setup=setup) as embedded:
            yield embedded.address_for
    else:
        binary = require_mosquitto()
        async with ManagedMosquitto(setup, tmp_path / "broker", binary=binary) as mosquitto:
            yield mosquitto.address


def allowed_writes(t: Topics, agent: str) -> set[str]:
    return {t.inbox(n, agent) for n in PATH5[agent]} | {t.key(agent), t.status(agent)}


def readable(t: Topics, agent: str) -> set[str]:
    near = PATH5[agent]
    inbox = {t.inbox(agent, n) for n in near}
    return inbox | {t.key(n) for n in near} | {t.status(n) for n in near}


@pytest.mark.parametrize("broker", BROKERS)
async def test_acl_matrix_delivers_exactly_the_edges(
    broker: str, tmp_path: Path, run_id: str
) -> None:
    """Every agent tries every topic that is not its own (every ordered pair's inbox
    under every claimed sender, every key and status, another run's inbox); only its
    edges arrive, and nothing on an ordered non-edge pair."""
    t = Topics(run_id)
    agents = list(PATH5)
    async with locked(broker, run_id, tmp_path) as address, AsyncExitStack() as stack:
        filters = (*EVERYTHING, t.everything)
        taps = {a: await stack.enter_async_context(tap(address(a), *filters)) for a in agents}
        harness = await stack.enter_async_context(tap(address(HARNESS)))
        forbidden_sent = 0
        for sender in agents:
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
        non_edges = [(r, s) for r, s in itertools.permutations(agents, 2) if s not in PATH5[r]]
        assert len(non_edges) == 20 - 8
        for receiver in agents:
            expected = readable(t, receiver) | {t.inbox(receiver, HARNESS)}
            await taps[receiver].until(expected)
            await taps[receiver].settle()
            assert taps[receiver].topics == expected, receiver
            assert all(payload != b"forbidden" for _, payload in taps[receiver].seen)
        for receiver, sender in non_edges:
            assert t.inbox(receiver, sender) not in taps[receiver].topics


def _request(run_id: str, sender: str, receiver: str) -> Envelope:
    return Envelope(
        run=run_id, iteration=0, sender=sender, receiver=receiver, kind=Kind.REQUEST, payload={}
    )


@pytest.mark.parametrize("broker", BROKERS)
async def test_a_rightless_login_hears_nothing_and_a_read_login_everything_of_a_run(
    broker: str, tmp_path: Path, run_id: str
) -> None:
    """The two vantages of an eavesdropper: ``client`` (observer: no rights) and
    ``broker`` (wiretap: reads all, writes nothing), over one request along every edge."""
    t = Topics(run_id)
    async with locked(broker, run_id, tmp_path) as address:
        logins = {a: address(a) for a in PATH5}
        transport = MqttTransport(run_id, address(OBSERVER), logins=logins)
        async with (
            tap(address(OBSERVER), *EVERYTHING, t.everything) as observer,
            tap(address(WIRETAP), t.everything) as wiretap,
            AsyncExitStack() as stack,
        ):
            endpoints = {
                a: await stack.enter_async_context(transport.endpoint(a, neighbours=n))
                for a, n in PATH5.items()
            }
            for a, n in PATH5.items():
                for other in n:
                    await endpoints[a].send(_request(run_id, a, other))
            for a, n in PATH5.items():
                async with asyncio.timeout(WAIT):
                    got = {(await endpoints[a].receive()).sender for _ in n}
                assert got == set(n)
            every_edge = {t.inbox(r, s) for s, near in PATH5.items() for r in near}
            await wiretap.until(every_edge)
            # the wiretap writes nothing: its publish to an agent's inbox never arrives
            forged = encode(dataclasses.replace(_request(run_id, "a1", "a0"), iteration=7))
            await wiretap.client.publish(t.inbox("a0", "a1"), forged, qos=1, timeout=WAIT)
            async with tap(address(LURKER), "#") as late:  # retained status: not for it
                await observer.settle()
                await late.settle()
                assert observer.seen == []
                assert late.seen == []
            await endpoints["a1"].send(_request(run_id, "a1", "a0"))  # after the forgery
            async with asyncio.timeout(WAIT):
                assert (await endpoints["a0"].receive()).iteration == 0
            await asyncio.sleep(SETTLE)
            assert endpoints["a0"].counters.messages_received == 2  # not the forgery


@pytest.mark.parametrize("who", ["anonymous", "wrong password", "unknown user", "empty password"])
@pytest.mark.parametrize("broker", BROKERS)
async def test_logins_without_valid_credentials_are_refused(
    broker: str, who: str, tmp_path: Path, run_id: str
) -> None:
    async with locked(broker, run_id, tmp_path) as address:
        good = address("a0")
        bad = {
            "anonymous": BrokerAddress(host=good.host, port=good.port),
            "wrong password": BrokerAddress(
                host=good.host, port=good.port, username="a0", password="x" + str(good.password)
            ),
            "unknown user": BrokerAddress(
                host=good.host, port=good.port, username="eve", password=good.password
            ),
            "empty password": BrokerAddress(host=good.host, port=good.port, username="a0"),
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
