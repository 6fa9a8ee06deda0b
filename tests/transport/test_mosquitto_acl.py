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
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from tests._brokers import require_mosquitto
from tests.transport._acl import (
    OBSERVER,
    PATH5,
    WAIT,
    lockdown,
    tap,
)
from transport import (
    BrokerAddress,
    BrokerError,
    Envelope,
    Kind,
    ManagedMosquitto,
    MosquittoSetup,
    MqttTransport,
    Topics,
)

pytestmark = [pytest.mark.mosquitto, pytest.mark.asyncio]


@asynccontextmanager
async def broker(
    tmp_path: Path,
    run: str,
    neighbours: Mapping[str, list[str]] = PATH5,
    *,
    tls: bool = False,
) -> AsyncIterator[ManagedMosquitto]:
    setup = lockdown(run, neighbours, tls=tls)
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
