"""MqttEndpoint reconnects when its link drops: a real Mosquitto stopped and restarted on
the same port. receive() waits the outage out, send() waits for the link, and only an
outage longer than ``reconnect_timeout`` ends in ConnectionLost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._brokers import Mosquitto, require_mosquitto
from transport import ConnectionLost, Envelope, Kind, MqttTransport, TransportError

WAIT = 10.0
"""Bound on every wait in these tests (a reconnection takes well under a second)."""

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(require_mosquitto(), tmp_path) as mosquitto:
        yield mosquitto


def request_(run: str, k: int, sender: str, receiver: str) -> Envelope:
    return Envelope(
        run=run, iteration=k, sender=sender, receiver=receiver, kind=Kind.REQUEST, payload={}
    )


def leftover_tasks() -> list[str]:
    """Names of the endpoints' background tasks (readers, reconnectors) still alive."""
    return [
        t.get_name()
        for t in asyncio.all_tasks()
        if t.get_name().startswith("hemesh.mqtt") and not t.done()
    ]


@pytest.mark.parametrize("bad", [-1, float("inf"), float("nan"), True, "5"])
def test_reconnect_timeout_is_validated(broker: Mosquitto, bad: object) -> None:
    with pytest.raises(TransportError, match="reconnect_timeout"):
        MqttTransport("r", broker.address, reconnect_timeout=bad)  # type: ignore[arg-type]
    assert MqttTransport("r", broker.address).reconnect_timeout == 60.0


@pytest.mark.asyncio
async def test_exchange_continues_across_a_broker_restart(
    broker: Mosquitto, run_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hemesh.transport")
    transport = MqttTransport(run_id, broker.address, connect_timeout=2, reconnect_timeout=WAIT)
    loop = asyncio.get_running_loop()
    async with (
        transport.endpoint("a", neighbours=["b"]) as a,
        transport.endpoint("b", neighbours=["a"]) as b,
    ):
        waiting = asyncio.create_task(a.receive())  # across the restart
        async with asyncio.timeout(WAIT):
            for k in range(3):
                await a.send(request_(run_id, k, "a", "b"))
                assert (await b.receive()).iteration == k
            started = loop.time()
            await asyncio.to_thread(broker.restart)
            while a.reconnections + b.reconnections < 2:  # noqa: ASYNC110 (no event)
                await asyncio.sleep(0.01)
            recovered = loop.time() - started
            for k in range(3, 6):
                await a.send(request_(run_id, k, "a", "b"))
                assert (await b.receive()).iteration == k
            await b.send(request_(run_id, 6, "b", "a"))
            assert (await waiting).iteration == 6
        assert (a.reconnections, b.reconnections) == (1, 1)
        assert a.lost is None and b.lost is None
    print(f"broker restart to both endpoints reconnected: {recovered:.2f} s")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("lost broker" in m and "reconnecting" in m for m in messages) == 2
    assert sum("reconnected to broker" in m for m in messages) == 2
    assert leftover_tasks() == []


@pytest.mark.asyncio
async def test_send_during_an_outage_waits_for_the_link(broker: Mosquitto, run_id: str) -> None:
    transport = MqttTransport(run_id, broker.address, connect_timeout=2, reconnect_timeout=WAIT)
    async with (
        transport.endpoint("a", neighbours=["b"]) as a,
        transport.endpoint("b", neighbours=["a"]) as b,
    ):
        await asyncio.to_thread(broker.stop)
        async with asyncio.timeout(WAIT):
            while a.lost is None and a._link is not None and not a._link.dropped.is_set():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        sending = asyncio.create_task(a.send(request_(run_id, 0, "a", "b")))
        await asyncio.sleep(0.5)
        assert not sending.done()  # waiting for the link, not failed
        await asyncio.to_thread(broker.restart)
        async with asyncio.timeout(WAIT):
            await sending
            # b resubscribed before or after a published: wait until both are back, resend
            while b.reconnections < 1:  # noqa: ASYNC110 (no event)
                await asyncio.sleep(0.01)
            await a.send(request_(run_id, 1, "a", "b"))
            received = {(await b.receive()).iteration}
            while 1 not in received:
                received.add((await b.receive()).iteration)
        assert a.reconnections == 1
        assert a.counters.messages_sent == 2


@pytest.mark.asyncio
async def test_an_outage_longer_than_the_bound_raises_connection_lost(
    broker: Mosquitto, run_id: str
) -> None:
    bound = 1.0
    transport = MqttTransport(run_id, broker.address, connect_timeout=1, reconnect_timeout=bound)
    loop = asyncio.get_running_loop()
    async with transport.endpoint("a", neighbours=["b"]) as a:
        waiting = asyncio.create_task(a.receive())
        await asyncio.sleep(0)
        started = loop.time()
        await asyncio.to_thread(broker.stop)
        async with asyncio.timeout(WAIT):
            with pytest.raises(ConnectionLost, match="could not reconnect within 1 s"):
                await waiting
        assert bound <= loop.time() - started < bound + 3.0
        with pytest.raises(ConnectionLost):
            await a.send(request_(run_id, 0, "a", "b"))
        assert a.reconnections == 0
        assert a.lost is not None
    assert leftover_tasks() == []


@pytest.mark.asyncio
async def test_closing_during_an_outage_stops_reconnecting(broker: Mosquitto, run_id: str) -> None:
    transport = MqttTransport(run_id, broker.address, connect_timeout=1, reconnect_timeout=WAIT)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(WAIT):
        async with transport.endpoint("a", neighbours=["b"]) as a:
            await asyncio.to_thread(broker.stop)
            while a._reconnector is None:  # noqa: ASYNC110 (no event)
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # a few attempts
            started = loop.time()
        assert loop.time() - started < 2.0
    assert leftover_tasks() == []
    with pytest.raises(TransportError, match="closed"):
        await a.receive()
