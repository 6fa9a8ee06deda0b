"""The embedded amqtt broker: its child process, its port, its refusals."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys

import pytest

from tests._brokers import free_port
from transport import BrokerAddress, BrokerError, EmbeddedBroker

WAIT = 10.0


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def accepts_connections(address: BrokerAddress) -> bool:
    try:
        _, writer = await asyncio.open_connection(address.host, address.port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True


@pytest.mark.asyncio
async def test_port_0_picks_a_free_port_and_the_process_is_gone_after_exit() -> None:
    async with EmbeddedBroker() as broker:
        pid = broker.pid
        address = broker.address
        assert address.host == "127.0.0.1"
        assert address.port != 0
        assert process_exists(pid)
        assert await accepts_connections(address)
    assert not process_exists(pid)
    assert not await accepts_connections(address)
    assert broker.pid == pid  # still known afterwards


@pytest.mark.asyncio
async def test_a_given_port_is_used() -> None:
    port = free_port()
    async with EmbeddedBroker(port=port) as broker:
        assert broker.address == BrokerAddress(host="127.0.0.1", port=port)


@pytest.mark.asyncio
async def test_localhost_means_the_ipv4_loopback() -> None:
    async with EmbeddedBroker("localhost") as broker:
        assert broker.address.host == "127.0.0.1"
        assert await accepts_connections(broker.address)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "example.org", "10.0.0.1"])
def test_remote_binding_is_refused(host: str) -> None:
    with pytest.raises(BrokerError, match="refusing to bind"):
        EmbeddedBroker(host)
    EmbeddedBroker(host, allow_remote=True)  # constructing starts nothing


@pytest.mark.parametrize(
    "kwargs",
    [{"port": -1}, {"port": 65536}, {"port": True}, {"startup_timeout": 0}, {"host": ""}],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(BrokerError):
        EmbeddedBroker(**kwargs)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_port_in_use_raises_broker_error_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the child in development mode with warnings as errors: its failure path must be clean
    monkeypatch.setenv("PYTHONDEVMODE", "1")
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        broker = EmbeddedBroker(port=taken.getsockname()[1])
        async with asyncio.timeout(WAIT):
            with pytest.raises(BrokerError, match="exited with code 1") as info:
                await broker.__aenter__()
    assert "address already in use" in str(info.value).lower()
    assert not process_exists(broker.pid)


@pytest.mark.asyncio
async def test_startup_timeout_raises_broker_error_and_stops_the_child() -> None:
    broker = EmbeddedBroker(startup_timeout=0.001)
    with pytest.raises(BrokerError, match="did not start within"):
        await broker.__aenter__()
    assert not process_exists(broker.pid)


@pytest.mark.asyncio
async def test_reentry_is_refused_and_unstarted_broker_has_no_address() -> None:
    broker = EmbeddedBroker()
    with pytest.raises(BrokerError, match="not started"):
        _ = broker.address
    with pytest.raises(BrokerError, match="not started"):
        _ = broker.pid
    async with broker:
        with pytest.raises(BrokerError, match="twice"):
            await broker.__aenter__()
    with pytest.raises(BrokerError, match="twice"):
        await broker.__aenter__()


def start_server_module() -> tuple[subprocess.Popen[str], int]:
    """The broker process on its own, in development mode with warnings as errors."""
    process = subprocess.Popen(
        [sys.executable, "-m", "transport.embedded._server", "--port", "0", "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONDEVMODE": "1", "PYTHONWARNINGS": "error"},
    )
    assert process.stdout is not None
    word, port = process.stdout.readline().split()
    assert word == "READY"
    return process, int(port)


def test_server_shuts_down_cleanly_on_sigterm() -> None:
    process, port = start_server_module()
    # a client that never sends CONNECT: amqtt alone would leak its socket
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT):
        pass
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "ResourceWarning" not in stderr


def test_server_exits_when_its_stdin_closes() -> None:
    """So a broker never outlives a parent that died without stopping it."""
    process, _ = start_server_module()
    _, stderr = process.communicate(timeout=WAIT)  # closes stdin
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_broker_config_has_one_listener_and_only_anonymous_auth() -> None:
    from transport.embedded._server import _broker_config

    config = _broker_config("127.0.0.1", 0)  # no DeprecationWarning (warnings are errors)
    assert list(config.listeners) == ["default"]
    assert list(config.plugins) == ["amqtt.plugins.authentication.AnonymousAuthPlugin"]
