"""The embedded broker with a setup, against its real child process: what is DELIVERED.

What only this broker has; the ACL matrix, the vantages and the refused logins are
checked on both brokers at once in test_broker_acl.py. As for Mosquitto, a
denied publish is acknowledged and dropped, a subscription is accepted and delivers
only what the login may read, so no test here reads a PUBACK or SUBACK code.
amqtt acknowledges a PUBLISH before it routes it, so negative checks wait for a
message on an allowed path published after the forbidden ones (by the same sender
where the ACL lets one reach the subscriber), then give the broker a moment more.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest
from aiomqtt import Will
from aiomqtt.exceptions import MqttConnectError

from tests._brokers import free_port
from tests.transport._acl import (
    EVERYTHING,
    HARNESS,
    LURKER,
    OBSERVER,
    PATH5,
    WAIT,
    lockdown,
    tap,
)
from transport import (
    BrokerAddress,
    BrokerError,
    BrokerRights,
    EmbeddedBroker,
    Envelope,
    Kind,
    MosquittoSetup,
    MqttTransport,
    Topics,
)

pytestmark = pytest.mark.asyncio


@asynccontextmanager
async def broker(run: str, **kwargs: object) -> AsyncIterator[EmbeddedBroker]:
    async with EmbeddedBroker(setup=lockdown(run), **kwargs) as b:  # type: ignore[arg-type]
        yield b


async def test_an_agent_subscribed_to_everything_gets_only_what_it_may_read(
    run_id: str,
) -> None:
    """The harness (rights ``all``) writes every topic of the run; a2, subscribed to
    every wildcard, receives its own inbox (whoever wrote it: here the harness) and
    its neighbours' keys and status, nothing else: not a1's inbox, not a0's key, not
    a4's status."""
    t = Topics(run_id)
    agents = list(PATH5)
    async with (
        broker(run_id) as b,
        tap(b.address_for("a2"), *EVERYTHING, t.everything) as a2,
        tap(b.address_for(HARNESS)) as harness,
    ):
        every = {t.inbox(r, s) for r, s in itertools.permutations(agents, 2)}
        every |= {t.key(a) for a in agents} | {t.status(a) for a in agents}
        for topic in sorted(every):
            await harness.client.publish(topic, b"x", qos=1, timeout=WAIT)
        barrier = t.inbox("a2", HARNESS)  # the same sender, last: all else is routed
        await harness.client.publish(barrier, b"end", qos=1, timeout=WAIT)
        inbox = {t.inbox("a2", s) for s in agents if s != "a2"} | {barrier}
        near = PATH5["a2"]
        expected = inbox | {t.key(n) for n in near} | {t.status(n) for n in near}
        await a2.until(expected)
        await a2.settle()
        assert a2.topics == expected


async def test_retained_messages_replay_only_what_the_subscriber_may_read(run_id: str) -> None:
    """Every agent's key and status retained (and forbidden retained writes tried); a
    late subscriber to ``#`` gets its neighbours' retained topics only, an observer none."""
    t = Topics(run_id)
    async with broker(run_id) as b:
        for agent in PATH5:
            async with tap(b.address_for(agent)) as writer:
                for topic in sorted({t.key(a) for a in PATH5} | {t.status(a) for a in PATH5}):
                    mine = topic in (t.key(agent), t.status(agent))
                    body = agent.encode() if mine else b"forbidden"
                    await writer.client.publish(topic, body, qos=1, retain=True, timeout=WAIT)
        async with tap(b.address_for("a2"), "#") as late:
            expected = {t.key(n) for n in PATH5["a2"]} | {t.status(n) for n in PATH5["a2"]}
            await late.until(expected)
            await late.settle()  # retained replay is one burst at subscription
            assert late.topics == expected
            assert all(body in (b"a1", b"a3") for _, body in late.seen)
        async with tap(b.address_for(OBSERVER), *EVERYTHING) as observer:
            await observer.settle()
            assert observer.seen == []
        async with tap(b.address_for(HARNESS), "#") as harness:  # the positive control
            everyone = {t.key(a) for a in PATH5} | {t.status(a) for a in PATH5}
            await harness.until(everyone)
            assert all(body != b"forbidden" for _, body in harness.seen)


async def test_reusing_another_agents_client_id_receives_nothing_of_it(run_id: str) -> None:
    t = Topics(run_id)
    async with (
        broker(run_id) as b,
        tap(b.address_for("a0"), t.inbox_filter("a0"), identifier=f"hemesh.{run_id}.a0") as victim,
        tap(b.address_for("a1")) as neighbour,
    ):
        good = b.address_for("a0")
        wrong = BrokerAddress(host=good.host, port=good.port, username="a0", password="x")
        for identifier in ("a0", f"hemesh.{run_id}.a0"):
            # Refused logins with a0's client id must not touch a0's session either.
            with pytest.raises(MqttConnectError):
                async with tap(wrong, "#", identifier=identifier):
                    pass
            # a3 logs in with its own password but a0's client id (both the bare id and
            # the one MqttEndpoint uses), subscribed to a0's inbox.
            async with tap(
                b.address_for("a3"), t.inbox_filter("a0"), "#", identifier=identifier
            ) as impostor:
                body = identifier.encode()
                await neighbour.client.publish(t.inbox("a0", "a1"), body, qos=1, timeout=WAIT)
                await victim.until({t.inbox("a0", "a1")})
                assert victim.seen[-1] == (t.inbox("a0", "a1"), body)  # still connected
                await impostor.settle()  # a1's message reached a0: it was routed
                assert impostor.seen == []
                victim.seen.clear()


async def test_a_will_on_a_topic_the_login_may_not_write_is_refused(run_id: str) -> None:
    t = Topics(run_id)
    async with broker(run_id) as b:
        forged = Will(topic=t.inbox("a1", "a0"), payload=b"forged", qos=1)
        with pytest.raises(MqttConnectError):
            async with tap(b.address_for("a3"), will=forged):
                pass
        own = Will(topic=t.status("a3"), payload=b"offline", qos=1, retain=True)
        async with tap(b.address_for("a3"), will=own):  # the positive control
            pass


async def test_a_packet_over_the_bound_is_never_delivered_and_drops_its_sender(
    run_id: str,
) -> None:
    t = Topics(run_id)
    async with broker(run_id, max_packet_bytes=4096) as b:
        assert b.max_packet_bytes == 4096
        async with (
            tap(b.address_for("a1"), t.inbox_filter("a1")) as a1,
            tap(b.address_for("a0")) as a0,
        ):
            await a0.client.publish(t.inbox("a1", "a0"), b"s" * 3000, qos=1, timeout=WAIT)
            await a1.until({t.inbox("a1", "a0")})  # the positive control
            a1.seen.clear()
            with pytest.raises(aiomqtt.MqttError):  # dropped: no PUBACK ever comes
                await a0.client.publish(t.inbox("a1", "a0"), b"L" * 5000, qos=1, timeout=1.0)
            with pytest.raises(aiomqtt.MqttError):  # and a0 was disconnected
                await a0.client.publish(t.inbox("a1", "a0"), b"after", qos=1, timeout=1.0)
            async with tap(b.address_for("a2")) as a2:  # a1 still served: a barrier
                await a2.client.publish(t.inbox("a1", "a2"), b"end", qos=1, timeout=WAIT)
                await a1.until({t.inbox("a1", "a2")})
            assert all(len(body) < 4096 for _, body in a1.seen)


def files_under(root: Path) -> Iterator[Path]:
    """Every regular file below ``root``; os.walk skips folders that vanish while it walks
    (other test sessions clean their temporary folders up meanwhile)."""
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            try:
                if path.is_file() and not path.is_symlink():
                    yield path
            except OSError:
                continue


def dead(pid: int) -> bool:
    """Whether ``pid`` is gone or a zombie (killed, not yet reaped)."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # reaped before or while reading
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def containing(roots: list[Path], secrets_: list[bytes]) -> list[Path]:
    found = []
    for root in roots:
        for path in files_under(root):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if any(s in data for s in secrets_):
                found.append(path)
    return found


async def test_no_password_is_on_disk_on_the_command_line_or_in_the_environment(
    run_id: str,
) -> None:
    async with broker(run_id) as b:
        passwords = [str(a.password).encode() for a in b.addresses.values()]
        assert len(passwords) == len(PATH5) + 3
        assert len(set(passwords)) == len(passwords)
        assert all(len(p) >= 43 for p in passwords)  # 256 bits, base64url
        async with tap(b.address_for("a0")):  # the child has read and used them
            pass
        proc = Path("/proc") / str(b.pid)
        seen_by_others = [(proc / "cmdline").read_bytes(), (proc / "environ").read_bytes()]
        assert not [p for p in passwords if any(p in text for text in seen_by_others)]
        roots = [Path(tempfile.gettempdir()), Path.cwd()]
        assert containing(roots, passwords) == []
        os.kill(b.pid, signal.SIGKILL)  # nothing to clean up either
        async with asyncio.timeout(WAIT):  # the control: the child is dead, not still running
            while not dead(b.pid):  # noqa: ASYNC110 (no event to wait on)
                await asyncio.sleep(0.01)
        assert containing(roots, passwords) == []
        assert "password" not in repr(b).lower()


async def test_addresses_and_refusals_of_a_locked_broker(run_id: str) -> None:
    setup = lockdown(run_id)
    with pytest.raises(BrokerError, match="setup's host and port"):
        EmbeddedBroker(port=1883, setup=setup)
    with pytest.raises(BrokerError, match="no TLS"):
        EmbeddedBroker(setup=MosquittoSetup(runs=(run_id,), neighbours={"a0": []}, tls=True))
    with pytest.raises(BrokerError, match="refusing to bind"):
        EmbeddedBroker(setup=MosquittoSetup(runs=(run_id,), neighbours={"a0": []}, host="::"))
    with pytest.raises(BrokerError, match="max_packet_bytes"):
        EmbeddedBroker(setup=setup, max_packet_bytes=0)
    locked = EmbeddedBroker(setup=setup)
    with pytest.raises(BrokerError, match="not started"):
        locked.address_for("a0")
    async with locked:
        assert locked.max_packet_bytes == 16 * 1024 * 1024 + 4096
        assert list(locked.addresses) == [*PATH5, HARNESS, OBSERVER, LURKER]
        a0 = locked.address_for("a0")
        assert (a0.host, a0.username) == ("127.0.0.1", "a0")
        assert locked.setup is not None
        assert locked.setup.port == a0.port != 0
        with pytest.raises(BrokerError, match="address_for"):
            _ = locked.address
        with pytest.raises(BrokerError, match="no login 'eve'"):
            locked.address_for("eve")
    async with EmbeddedBroker() as open_broker:
        assert open_broker.addresses == {}
        assert open_broker.setup is None
        assert open_broker.max_packet_bytes is None
        with pytest.raises(BrokerError, match="no logins"):
            open_broker.address_for("a0")


async def test_many_agents_with_their_own_logins_connecting_at_once_get_their_keys(
    run_id: str,
) -> None:
    """Waves of 12 agents connecting, subscribing, publishing retained keys and leaving
    together: every delivery and retained replay is checked while subscriptions
    change (the check must not yield inside amqtt's walk over its subscriptions)."""
    ids = [f"a{i}" for i in range(12)]
    ring = {me: [ids[(i - 1) % 12], ids[(i + 1) % 12]] for i, me in enumerate(ids)}
    setup = MosquittoSetup(runs=(run_id,), neighbours=ring, users={OBSERVER: BrokerRights.NONE})
    async with EmbeddedBroker(setup=setup) as b:
        transport = MqttTransport(
            run_id, b.address_for(OBSERVER), logins={a: b.address_for(a) for a in ids}
        )

        async def agent(me: str) -> int:
            async with transport.endpoint(me, neighbours=ring[me]) as endpoint:
                key = Envelope(run=run_id, iteration=0, sender=me, receiver="*", kind=Kind.KEY)
                await endpoint.send(key)
                senders: set[str] = set()
                async with asyncio.timeout(WAIT):
                    while senders != set(ring[me]):
                        senders.add((await endpoint.receive()).sender)
                await asyncio.sleep(0.5)  # stay until the others have their keys
                return endpoint.counters.dropped

        for _ in range(3):
            assert await asyncio.gather(*(agent(a) for a in ids)) == [0] * 12


async def test_no_delivery_is_lost_while_other_clients_subscribe(run_id: str) -> None:
    """The ACL check runs for every subscriber of every message while amqtt walks its
    subscriptions dict; a check that yields there (as amqtt's plugin manager does) lets
    a concurrent SUBSCRIBE change the dict and loses the rest of that walk's deliveries."""
    t = Topics(run_id)
    count = 2000
    async with (
        broker(run_id) as b,
        tap(b.address_for("a1"), t.everything) as churn,  # walked first: its check yields
        tap(b.address_for("a2"), t.inbox_filter("a2")) as receiver,  # walked after it
        tap(b.address_for("a3")) as sender,
    ):

        async def publish() -> None:
            for _ in range(count):
                await sender.client.publish(t.inbox("a2", "a3"), b"m", qos=0, timeout=WAIT)

        async def subscribe() -> None:
            for i in range(300):
                await churn.client.subscribe(f"{t.prefix}/churn/{i}", qos=0, timeout=WAIT)

        await asyncio.gather(publish(), subscribe())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WAIT):
                while len(receiver.seen) < count:
                    await receiver._take()
        assert len(receiver.seen) == count


async def test_an_open_broker_can_be_given_a_packet_bound_and_a_locked_one_a_port(
    run_id: str,
) -> None:
    t = Topics(run_id)
    async with (
        EmbeddedBroker(max_packet_bytes=4096) as b,  # anonymous, as without a bound
        tap(b.address, t.everything) as receiver,
        tap(b.address) as sender,
    ):
        await sender.client.publish(t.inbox("a1", "a0"), b"s" * 3000, qos=1, timeout=WAIT)
        await receiver.until({t.inbox("a1", "a0")})
        with pytest.raises(aiomqtt.MqttError):
            await sender.client.publish(t.key("a0"), b"L" * 5000, qos=1, timeout=1.0)
        await receiver.settle()
        assert t.key("a0") not in receiver.topics
    port = free_port()
    setup = MosquittoSetup(runs=(run_id,), neighbours={"a0": []}, port=port)
    async with EmbeddedBroker(setup=setup) as b:
        assert b.address_for("a0").port == port
        async with tap(b.address_for("a0")):
            pass
