"""MqttTap against real brokers (the embedded amqtt one and Mosquitto): what an observer
receives, and how it fails."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests._brokers import free_port, require_mosquitto
from transport import (
    BrokerAddress,
    BrokerError,
    BrokerRights,
    ConnectionLost,
    EmbeddedBroker,
    Envelope,
    Kind,
    ManagedMosquitto,
    MosquittoSetup,
    MqttTap,
    MqttTransport,
    Topics,
    TransportError,
    encode,
)

WAIT = 5.0
"""Bound on every wait in these tests."""


PAIR = {"a": ["b"], "b": ["a"]}
WATCHER = "watcher"
BLIND = "blind"


def request_(run: str, k: int, sender: str, receiver: str) -> Envelope:
    return Envelope(
        run=run, iteration=k, sender=sender, receiver=receiver, kind=Kind.REQUEST, payload={"k": k}
    )


async def heard_until(tap: MqttTap, topic: str) -> list[tuple[str, bytes]]:
    """What ``tap`` yields up to and including the first message on ``topic`` (bounded)."""
    heard = []
    async with asyncio.timeout(WAIT):
        async for message in tap:
            heard.append(message)
            if message[0] == topic:
                return heard
    raise AssertionError(f"the tap ended before {topic}")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@asynccontextmanager
async def locked_down(
    tmp_path: Path, run: str, *, tls: bool = False
) -> AsyncIterator[ManagedMosquitto]:
    setup = MosquittoSetup(
        runs=(run,),
        neighbours=PAIR,
        users={WATCHER: BrokerRights.ALL, BLIND: BrokerRights.NONE},
        tls=tls,
    )
    async with ManagedMosquitto(setup, tmp_path / "broker", binary=require_mosquitto()) as b:
        yield b


@pytest.mark.asyncio
async def test_tap_yields_topic_and_bytes_of_what_the_run_publishes(
    broker: BrokerAddress, run_id: str
) -> None:
    t = Topics(run_id)
    sent = request_(run_id, 3, "a", "b")
    transport = MqttTransport(run_id, broker, connect_timeout=WAIT)
    async with MqttTap(broker, t.everything, identifier=f"tap-{run_id}") as tap:
        assert tap.topic_filter == t.everything
        async with transport.endpoint("a", neighbours=["b"]) as a:
            await a.send(sent)
            heard = await heard_until(tap, t.inbox("b", "a"))
    assert (t.status("a"), b"online") in heard
    assert heard[-1] == (t.inbox("b", "a"), encode(sent))
    assert all(isinstance(data, bytes) for _, data in heard)


@pytest.mark.asyncio
async def test_tap_hears_only_its_filter(broker: BrokerAddress, run_id: str) -> None:
    t = Topics(run_id)
    transport = MqttTransport(run_id, broker, connect_timeout=WAIT)
    async with (
        MqttTap(broker, t.inbox_filter("b"), identifier=f"tap-{run_id}") as tap,
        transport.endpoint("a", neighbours=["b"]) as a,
    ):
        await a.send(request_(run_id, 0, "a", "b"))
        heard = await heard_until(tap, t.inbox("b", "a"))
    assert [topic for topic, _ in heard] == [t.inbox("b", "a")]  # no status, no key


@pytest.mark.asyncio
async def test_closing_the_tap_ends_its_iteration(broker: BrokerAddress, run_id: str) -> None:
    tap = MqttTap(broker, Topics(run_id).everything, identifier=f"tap-{run_id}")
    async with tap:
        reader = asyncio.create_task(anext(aiter(tap), None))
        await asyncio.sleep(0.05)
        assert not reader.done()
    async with asyncio.timeout(WAIT):
        assert await reader is None  # ended, not failed


@pytest.mark.asyncio
async def test_tap_refuses_reentry_and_iteration_when_not_open(
    broker: BrokerAddress, run_id: str
) -> None:
    tap = MqttTap(broker, "#", identifier=f"tap-{run_id}")
    with pytest.raises(TransportError, match="not open"):
        await anext(aiter(tap))
    async with tap:
        with pytest.raises(TransportError, match="twice"):
            await tap.__aenter__()
    with pytest.raises(TransportError, match="not open"):
        await anext(aiter(tap))


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"topic_filter": ""}, "topic_filter"),
        ({"identifier": ""}, "identifier"),
        ({"password": "p"}, "needs a username"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"address": "mqtt://h"}, "BrokerAddress"),
    ],
)
def test_tap_arguments_are_checked_naming_the_value(kwargs: dict[str, object], word: str) -> None:
    arguments: dict[str, object] = {
        "address": BrokerAddress(host="127.0.0.1", port=1883),
        "topic_filter": "#",
        "identifier": "tap",
    }
    arguments.update(kwargs)
    with pytest.raises(TransportError, match=word):
        MqttTap(**arguments)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_unreachable_broker_is_connection_lost_and_leaks_nothing(run_id: str) -> None:
    address = BrokerAddress(host="127.0.0.1", port=free_port())
    fds = open_fds()
    async with asyncio.timeout(WAIT):
        with pytest.raises(
            ConnectionLost, match=r"tap on '#': cannot reach broker mqtt://"
        ) as info:
            async with MqttTap(address, "#", identifier=f"tap-{run_id}", timeout=2):
                pass
    assert info.value.__cause__ is not None
    async with asyncio.timeout(WAIT):
        while open_fds() > fds:  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_a_silent_listener_costs_one_timeout(run_id: str) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = BrokerAddress(host="127.0.0.1", port=silent.getsockname()[1])
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with asyncio.timeout(WAIT):
            with pytest.raises(ConnectionLost, match="cannot reach broker"):
                async with MqttTap(address, "#", identifier=f"tap-{run_id}", timeout=0.3):
                    pass
        assert 0.2 < loop.time() - started < 2.0


@pytest.mark.asyncio
async def test_a_dying_broker_ends_the_iteration_with_connection_lost(run_id: str) -> None:
    embedded = EmbeddedBroker()
    async with embedded, MqttTap(embedded.address, "#", identifier=f"tap-{run_id}") as tap:
        reader = asyncio.ensure_future(anext(aiter(tap)))
        await asyncio.sleep(0.05)
        os.kill(embedded.pid, signal.SIGKILL)
        async with asyncio.timeout(WAIT):
            with pytest.raises(ConnectionLost, match="tap on '#' lost broker"):
                await reader


# --- a locked-down Mosquitto: logins, rights, TLS ---------------------------------------


@pytest.mark.mosquitto
@pytest.mark.asyncio
async def test_refused_login_is_a_broker_error(tmp_path: Path, run_id: str) -> None:
    async with locked_down(tmp_path, run_id) as b:
        good = b.address(WATCHER)
        with pytest.raises(BrokerError, match=re.escape(f"tap on '#': broker {good.url} refused")):
            async with MqttTap(
                good, "#", identifier="t", username=WATCHER, password="x" + str(good.password)
            ):
                pass
        async with MqttTap(good, "#", identifier="t"):  # the right login gets in
            pass


@pytest.mark.mosquitto
@pytest.mark.asyncio
async def test_username_and_password_replace_the_addresss_login(
    tmp_path: Path, run_id: str
) -> None:
    t = Topics(run_id)
    async with locked_down(tmp_path, run_id) as b:
        blind = b.address(BLIND)
        watcher = b.address(WATCHER)
        tap = MqttTap(
            blind, t.everything, identifier="t", username=WATCHER, password=watcher.password
        )
        assert tap.address == watcher
        transport = MqttTransport(run_id, watcher, logins={a: b.address(a) for a in PAIR})
        async with tap, transport.endpoint("a", neighbours=["b"]) as a:
            await a.send(request_(run_id, 0, "a", "b"))
            heard = await heard_until(tap, t.inbox("b", "a"))
        assert heard[-1] == (t.inbox("b", "a"), encode(request_(run_id, 0, "a", "b")))


@pytest.mark.mosquitto
@pytest.mark.asyncio
async def test_tls_tap_trusts_the_addresss_ca_file(tmp_path: Path, run_id: str) -> None:
    t = Topics(run_id)
    async with locked_down(tmp_path, run_id, tls=True) as b:
        watcher = b.address(WATCHER)
        assert watcher.tls and watcher.ca_file is not None
        transport = MqttTransport(run_id, watcher, logins={a: b.address(a) for a in PAIR})
        async with (
            MqttTap(watcher, t.everything, identifier="t") as tap,
            transport.endpoint("a", neighbours=["b"]) as a,
        ):
            await a.send(request_(run_id, 0, "a", "b"))
            heard = await heard_until(tap, t.inbox("b", "a"))
        assert heard[-1][0] == t.inbox("b", "a")
