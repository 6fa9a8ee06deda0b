"""MqttTransport against real brokers: the embedded amqtt one and Mosquitto."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from tests._brokers import Mosquitto, free_port, require_mosquitto
from transport import (
    BrokerAddress,
    ConnectionLost,
    EmbeddedBroker,
    Envelope,
    Kind,
    MqttEndpoint,
    MqttTransport,
    Topics,
    TransportError,
    encode,
)

WAIT = 5.0
"""Bound on every wait for a message in these tests."""


def request_(run: str, k: int, sender: str, receiver: str, **payload: object) -> Envelope:
    return Envelope(
        run=run, iteration=k, sender=sender, receiver=receiver, kind=Kind.REQUEST, payload=payload
    )


@asynccontextmanager
async def plain_client(address: BrokerAddress, name: str) -> AsyncIterator[aiomqtt.Client]:
    """A bare aiomqtt client: an outsider (or eavesdropper) on the same broker."""
    async with aiomqtt.Client(address.host, address.port, identifier=name) as client:
        yield client


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def next_message(client: aiomqtt.Client) -> aiomqtt.Message:
    async with asyncio.timeout(WAIT):
        return await anext(aiter(client.messages))


# --- BrokerAddress ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://localhost", BrokerAddress(host="localhost", port=1883)),
        (
            "mqtts://broker.example.org",
            BrokerAddress(host="broker.example.org", port=8883, tls=True),
        ),
        ("mqtt://10.0.0.5:1999", BrokerAddress(host="10.0.0.5", port=1999)),
        ("mqtt://[::1]:1884", BrokerAddress(host="::1", port=1884)),
        ("mqtt://alice@h:2", BrokerAddress(host="h", port=2, username="alice")),
        (
            "mqtts://alice:s%40cr%3At@h",
            BrokerAddress(host="h", port=8883, username="alice", password="s@cr:t", tls=True),
        ),
        ("mqtt://h:1883/", BrokerAddress(host="h", port=1883)),
    ],
)
def test_broker_url_parses(url: str, expected: BrokerAddress) -> None:
    assert BrokerAddress.parse(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://h:1883",
        "h:1883",
        "mqtt://",
        "mqtt://h:notaport",
        "mqtt://h:0",
        "mqtt://h:70000",
        "mqtt://h/topic",
        "mqtt://h?x=1",
        "mqtt://:secret@h:1883/x",
    ],
)
def test_bad_broker_urls_are_refused(url: str) -> None:
    with pytest.raises(TransportError, match="bad broker URL"):
        BrokerAddress.parse(url)


@pytest.mark.parametrize(
    "url",
    [
        "mqtt://bob:hunter2@h:notaport",
        "mqtt://bob:hunter2@h/path",
        "ftp://bob:hunter2@h",
        "mqtt://bob:hunt/er2@h",
    ],
)
def test_refusals_mask_the_password(url: str) -> None:
    with pytest.raises(TransportError) as info:
        BrokerAddress.parse(url)
    assert "hunter2" not in str(info.value)
    assert "hunt" not in str(info.value)
    assert "bob:***@" in str(info.value)


def test_url_and_repr_hide_the_password() -> None:
    address = BrokerAddress.parse("mqtts://bob:hunter2@broker:8884")
    assert address.password == "hunter2"
    assert address.url == "mqtts://bob:***@broker:8884"
    assert "hunter2" not in repr(address)
    assert BrokerAddress(host="::1", port=1883).url == "mqtt://[::1]:1883"
    assert (
        BrokerAddress.parse(BrokerAddress(host="h", port=7, username="a b").url).username == "a b"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": "", "port": 1883},
        {"host": "a/b", "port": 1883},
        {"host": "h", "port": 0},
        {"host": "h", "port": True},
        {"host": "h", "port": 1883, "password": "p"},
        {"host": "h", "port": 1883, "tls": 1},
    ],
)
def test_bad_addresses_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(TransportError):
        BrokerAddress(**kwargs)  # type: ignore[arg-type]


def test_transport_checks_its_arguments() -> None:
    address = BrokerAddress(host="127.0.0.1", port=1883)
    with pytest.raises(TransportError):
        MqttTransport("bad/run", address)
    with pytest.raises(TransportError):
        MqttTransport("r", address, connect_timeout=0)
    with pytest.raises(TransportError):
        MqttTransport("r", address, keepalive=0)
    with pytest.raises(TransportError):
        MqttTransport("r", "mqtt://127.0.0.1")  # type: ignore[arg-type]
    transport = MqttTransport("r", address)
    assert transport.run == "r"
    assert isinstance(transport.endpoint("a", neighbours=["b"]), MqttEndpoint)


# --- against a broker ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_request_and_reply_at_qos_1(broker: BrokerAddress, run_id: str) -> None:
    transport = MqttTransport(run_id, broker, connect_timeout=WAIT)
    async with (
        transport.endpoint("a", neighbours=["b"]) as a,
        transport.endpoint("b", neighbours=["a"]) as b,
    ):
        async with asyncio.timeout(WAIT):
            for k in range(3):
                await a.send(request_(run_id, k, "a", "b", x=b"\x00" * 512))
                got = await b.receive()
                assert (got.sender, got.iteration, got.payload["x"]) == ("a", k, b"\x00" * 512)
                reply = Envelope(run=run_id, iteration=k, sender="b", receiver="a", kind=Kind.REPLY)
                await b.send(reply)
                assert await a.receive() == reply
        assert a.counters.messages_sent == b.counters.messages_received == 3
        assert a.counters.dropped == b.counters.dropped == 0


@pytest.mark.asyncio
@pytest.mark.mosquitto
async def test_envelopes_are_published_at_qos_1(mosquitto: BrokerAddress, run_id: str) -> None:
    """A QoS 2 subscriber gets them at the publish QoS (the lesser of the two, MQTT 3.8.4).

    Mosquitto only: amqtt 0.12 delivers at the subscription's QoS, whatever the publish's.
    """
    transport = MqttTransport(run_id, mosquitto, connect_timeout=WAIT)
    async with (
        plain_client(mosquitto, f"eavesdropper-{run_id}") as eavesdropper,
        transport.endpoint("a", neighbours=["b"]) as a,
    ):
        await eavesdropper.subscribe(Topics(run_id).inbox_filter("b"), qos=2)
        await a.send(request_(run_id, 0, "a", "b"))
        message = await next_message(eavesdropper)
        assert (str(message.topic), message.qos) == (Topics(run_id).inbox("b", "a"), 1)


@pytest.mark.asyncio
async def test_retained_key_reaches_a_late_subscriber(broker: BrokerAddress, run_id: str) -> None:
    transport = MqttTransport(run_id, broker, connect_timeout=WAIT)
    key = Envelope(
        run=run_id, iteration=0, sender="a", receiver="*", kind=Kind.KEY, payload={"n": b"k" * 256}
    )
    async with transport.endpoint("a", neighbours=["b"]) as a:
        await a.send(key)
    async with transport.endpoint("b", neighbours=["a"]) as b:
        async with asyncio.timeout(WAIT):
            assert await b.receive() == key


@pytest.mark.asyncio
async def test_a_goodbye_is_retained_and_a_request_is_not(
    broker: BrokerAddress, run_id: str
) -> None:
    """An agent restarted after its neighbour left learns it from the retained goodbye."""
    transport = MqttTransport(run_id, broker, connect_timeout=WAIT)
    bye = Envelope(run=run_id, iteration=3, sender="a", receiver="b", kind=Kind.BYE, payload={})
    async with transport.endpoint("a", neighbours=["b"]) as a:
        await a.send(request_(run_id, 2, "a", "b"))
        await a.send(bye)
    async with transport.endpoint("b", neighbours=["a"]) as b:
        async with asyncio.timeout(WAIT):
            assert await b.receive() == bye
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5):
                await b.receive()


@pytest.mark.asyncio
async def test_status_is_online_while_open_and_offline_after(
    broker: BrokerAddress, run_id: str
) -> None:
    status = Topics(run_id).status("a")
    transport = MqttTransport(run_id, broker, connect_timeout=WAIT)
    async with (
        transport.endpoint("a", neighbours=["b"]),
        plain_client(broker, f"watch-{run_id}") as watcher,
    ):
        await watcher.subscribe(status, qos=1)
        assert (await next_message(watcher)).payload == b"online"
    async with plain_client(broker, f"watch2-{run_id}") as watcher:
        await watcher.subscribe(status, qos=1)
        assert (await next_message(watcher)).payload == b"offline"


@pytest.mark.asyncio
async def test_abrupt_disconnect_publishes_the_will_and_fails_receive(
    broker: BrokerAddress, run_id: str
) -> None:
    status = Topics(run_id).status("a")
    transport = MqttTransport(run_id, broker, connect_timeout=WAIT, reconnect_timeout=0)
    async with (
        plain_client(broker, f"watch-{run_id}") as watcher,
        transport.endpoint("a", neighbours=["b"]) as a,
    ):
        await watcher.subscribe(status, qos=1)
        assert (await next_message(watcher)).payload == b"online"
        # the TCP connection dies without an MQTT DISCONNECT, as when a process is killed
        a._socket().shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        message = await next_message(watcher)
        assert (message.payload, message.retain) == (b"offline", False)
        async with asyncio.timeout(WAIT):
            with pytest.raises(ConnectionLost):
                await a.receive()
    async with plain_client(broker, f"late-{run_id}") as late:
        await late.subscribe(status, qos=1)
        message = await next_message(late)
        assert (message.payload, message.retain) == (b"offline", True)


@pytest.mark.asyncio
async def test_garbage_is_dropped_and_the_next_message_arrives(
    broker: BrokerAddress, run_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    topics = Topics(run_id)
    transport = MqttTransport(run_id, broker, connect_timeout=WAIT)
    caplog.set_level(logging.WARNING, logger="hemesh.transport")
    async with transport.endpoint("b", neighbours=["a"]) as b:
        async with plain_client(broker, f"intruder-{run_id}") as intruder:
            await intruder.publish(topics.inbox("b", "a"), b"\xc1 not msgpack", qos=1)
            forged = encode(request_(run_id, 0, "c", "b"))  # valid, but on a's edge
            await intruder.publish(topics.inbox("b", "a"), forged, qos=1)
            good = request_(run_id, 1, "a", "b", ok=True)
            await intruder.publish(topics.inbox("b", "a"), encode(good), qos=1)
        async with asyncio.timeout(WAIT):
            assert await b.receive() == good
        assert b.counters.dropped == 2
        assert b.counters.messages_received == 1
    dropped = [r for r in caplog.records if "dropped a message" in r.getMessage()]
    assert len(dropped) == 2
    assert "not a msgpack envelope" in dropped[0].getMessage()


@pytest.mark.asyncio
async def test_tcp_nodelay_is_set_on_the_client_socket(broker: BrokerAddress, run_id: str) -> None:
    transport = MqttTransport(run_id, broker, connect_timeout=WAIT)
    async with transport.endpoint("a", neighbours=["b"]) as a:
        sock = a._socket()
        assert isinstance(sock, socket.socket)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@pytest.mark.asyncio
async def test_endpoint_refuses_reentry_and_use_when_closed(
    broker: BrokerAddress, run_id: str
) -> None:
    endpoint = MqttTransport(run_id, broker, connect_timeout=WAIT).endpoint("a", neighbours=["b"])
    with pytest.raises(TransportError, match="not open"):
        await endpoint.receive()
    async with endpoint:
        with pytest.raises(TransportError, match="twice"):
            await endpoint.__aenter__()
    with pytest.raises(TransportError, match="closed"):
        await endpoint.receive()
    with pytest.raises(TransportError, match="not open"):
        await endpoint.send(request_(run_id, 0, "a", "b"))


@pytest.mark.asyncio
async def test_unreachable_broker_raises_connection_lost_quickly(run_id: str) -> None:
    address = BrokerAddress(host="127.0.0.1", port=free_port())
    endpoint = MqttTransport(run_id, address, connect_timeout=2).endpoint("a", neighbours=[])
    async with asyncio.timeout(WAIT):
        with pytest.raises(
            ConnectionLost, match=r"cannot reach broker mqtt://127\.0\.0\.1"
        ) as info:
            await endpoint.__aenter__()
    assert isinstance(info.value.__cause__, aiomqtt.MqttError)


@pytest.mark.asyncio
async def test_connect_timeout_bounds_an_unanswered_connect(run_id: str) -> None:
    """A listener that accepts TCP but never answers CONNECT costs one timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        address = BrokerAddress(host="127.0.0.1", port=silent.getsockname()[1])
        endpoint = MqttTransport(run_id, address, connect_timeout=0.3).endpoint("a", neighbours=[])
        fds = open_fds()
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with asyncio.timeout(WAIT):
            with pytest.raises(ConnectionLost, match="cannot reach broker"):
                await endpoint.__aenter__()
        assert 0.2 < loop.time() - started < 2.0
        async with asyncio.timeout(WAIT):  # the client's socket is closed, not leaked
            while open_fds() > fds:  # noqa: ASYNC110 (no event to wait on)
                await asyncio.sleep(0.01)


# --- the broker goes away -----------------------------------------------------------------


async def start_broker(
    kind: str, stack: AsyncExitStack, tmp_path: Path
) -> tuple[BrokerAddress, int]:
    """Start a broker of ``kind`` on ``stack``; its address and process id."""
    if kind == "amqtt":
        embedded = await stack.enter_async_context(EmbeddedBroker())
        return embedded.address, embedded.pid
    mosquitto = stack.enter_context(Mosquitto(require_mosquitto(), tmp_path))
    return mosquitto.address, mosquitto.pid


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["amqtt", pytest.param("mosquitto", marks=pytest.mark.mosquitto)])
async def test_receive_raises_connection_lost_when_the_broker_dies(
    kind: str, tmp_path: Path, run_id: str
) -> None:
    async with AsyncExitStack() as stack:
        address, pid = await start_broker(kind, stack, tmp_path)
        transport = MqttTransport(run_id, address, connect_timeout=WAIT, reconnect_timeout=0)
        async with (
            transport.endpoint("a", neighbours=["b"]) as a,
            transport.endpoint("b", neighbours=["a"]) as b,
        ):
            waiting = asyncio.create_task(a.receive())
            for k in range(2):
                await a.send(request_(run_id, k, "a", "b"))
            async with asyncio.timeout(WAIT):
                while b.counters.messages_received < 2:  # noqa: ASYNC110 (no event to wait on)
                    await asyncio.sleep(0.005)
            os.kill(pid, signal.SIGKILL)
            async with asyncio.timeout(WAIT):
                with pytest.raises(ConnectionLost, match="lost broker"):
                    await waiting
                # what arrived before the loss is still handed out, then the loss
                assert [(await b.receive()).iteration for _ in range(2)] == [0, 1]
                with pytest.raises(ConnectionLost):
                    await b.receive()
            with pytest.raises(ConnectionLost):
                await a.receive()
            with pytest.raises(ConnectionLost):
                await a.send(request_(run_id, 2, "a", "b"))
            assert a.lost is not None
