"""Brokers as child processes tell when they exit; a ManagedMosquitto can keep its
secrets in memory only, and keeps admitting the right logins (and only those) once its
password file is gone."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from tests._brokers import require_mosquitto
from transport import (
    BrokerAddress,
    BrokerError,
    EmbeddedBroker,
    Envelope,
    Kind,
    ManagedMosquitto,
    MosquittoSetup,
    MqttTransport,
    TransportError,
)

pytestmark = pytest.mark.asyncio

WAIT = 10.0
PAIR = {"a0": ["a1"], "a1": ["a0"]}


def _running(broker: EmbeddedBroker | ManagedMosquitto) -> bool:
    """No exit code yet (a call, so that mypy does not narrow ``returncode`` for good)."""
    return broker.returncode is None


async def test_the_embedded_broker_tells_that_it_was_killed() -> None:
    broker = EmbeddedBroker()
    assert _running(broker)
    with pytest.raises(BrokerError, match="not started"):
        await broker.wait_exited()
    async with broker:
        assert _running(broker)
        waiting = asyncio.ensure_future(broker.wait_exited())
        await asyncio.sleep(0.1)
        assert not waiting.done()  # it waits while the broker runs
        os.kill(broker.pid, signal.SIGKILL)
        async with asyncio.timeout(WAIT):
            assert await waiting == -signal.SIGKILL
        assert broker.returncode == -signal.SIGKILL
    assert broker.returncode == -signal.SIGKILL  # leaving it stops nothing more


@pytest.mark.mosquitto
async def test_a_managed_mosquitto_tells_that_it_was_killed(tmp_path: Path) -> None:
    setup = MosquittoSetup(runs=("r1",), neighbours=PAIR)
    async with ManagedMosquitto(setup, tmp_path / "b", binary=require_mosquitto()) as broker:
        assert _running(broker)
        os.kill(broker.pid, signal.SIGKILL)
        async with asyncio.timeout(WAIT):
            assert await broker.wait_exited() == -signal.SIGKILL
        assert broker.returncode == -signal.SIGKILL
        assert not broker.running


@pytest.mark.mosquitto
async def test_by_default_the_secrets_are_written_for_the_operator(tmp_path: Path) -> None:
    setup = MosquittoSetup(runs=("r1",), neighbours=PAIR)
    async with ManagedMosquitto(setup, tmp_path / "b", binary=require_mosquitto()) as broker:
        assert broker.files.credentials_file.is_file()
        assert broker.files.password_file.is_file()


@pytest.mark.mosquitto
async def test_secrets_in_memory_only_and_logins_still_work_without_the_password_file(
    tmp_path: Path,
) -> None:
    """Mosquitto reads its password file at start: once it listens the file is removed,
    and the right password still gets in while a wrong one is still refused."""
    setup = MosquittoSetup(runs=("r1",), neighbours=PAIR)
    directory = tmp_path / "b"
    async with ManagedMosquitto(
        setup, directory, binary=require_mosquitto(), secrets_on_disk=False
    ) as broker:
        files = broker.files
        assert not files.password_file.exists()
        assert not files.credentials_file.exists()
        left = {p.name: p.read_text(errors="replace") for p in directory.iterdir()}
        for name, text in left.items():
            for account, password in files.passwords.items():
                assert password not in text, f"{account}'s password is in {name}"
            assert "$7$" not in text, f"a password hash is in {name}"
        transport = MqttTransport("r1", broker.address("a0"), logins=broker.addresses)
        async with (
            transport.endpoint("a0", neighbours=["a1"]) as a0,
            transport.endpoint("a1", neighbours=["a0"]) as a1,
        ):
            sent = Envelope(
                run="r1", iteration=1, sender="a0", receiver="a1", kind=Kind.REQUEST, payload={}
            )
            await a0.send(sent)
            async with asyncio.timeout(WAIT):
                assert await a1.receive() == sent
        good = broker.address("a0")
        wrong = BrokerAddress(
            host=good.host, port=good.port, username="a0", password="x" + str(good.password)
        )
        with pytest.raises(TransportError, match="refused"):
            async with MqttTransport("r1", wrong).endpoint("a0", neighbours=["a1"]):
                pass
