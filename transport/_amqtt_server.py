"""The embedded broker's own process: amqtt on one TCP listener (see :class:`EmbeddedBroker`).

Run as ``python -m transport._amqtt_server --host 127.0.0.1 --port 0``. Once the
listener is up it prints one line, ``READY <port>``, to stdout, then serves
until SIGTERM or SIGINT (or, with ``--exit-on-stdin-eof``, until its stdin
closes, so that it never outlives the process that started it) and shuts the
broker down.

The listening socket is ours (``asyncio.start_server``) and connections are
handed to amqtt through its external-listener API, so the real port is known
when ``--port 0`` asks for any free one. amqtt has no real authentication and
no message-size or queue limits (DESIGN.md, facts): keep it on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import stat
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from amqtt.contexts import BrokerConfig

from ._embedded import READY

# amqtt is imported where it is used, so that importing this module (to test it)
# does not load a broker.

SHUTDOWN_TIMEOUT = 5.0
"""Seconds the broker gets to close its sessions before the process just exits."""

_LISTENER = "default"
_ANONYMOUS = "amqtt.plugins.authentication.AnonymousAuthPlugin"

log = logging.getLogger("hemesh.transport.amqtt_server")


def _broker_config(host: str, port: int) -> BrokerConfig:
    """One external listener (the socket is ours), anonymous clients, no $SYS plugin."""
    from amqtt.contexts import BrokerConfig, ListenerConfig, ListenerType

    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return BrokerConfig(
        listeners={_LISTENER: ListenerConfig(type=ListenerType.EXTERNAL, bind=bind)},
        plugins={_ANONYMOUS: {"allow_anonymous": True}},
    )


async def _serve(host: str, port: int, *, exit_on_stdin_eof: bool) -> int:
    """Run the broker until told to stop; the process's exit code."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stdin: asyncio.BaseTransport | None = None
    if exit_on_stdin_eof:
        if _is_pipe(sys.stdin.fileno()):
            # Read by the loop itself: a thread blocked on stdin can abort the
            # interpreter at exit ("could not acquire lock for <stdin>").
            stdin, _ = await loop.connect_read_pipe(lambda: _StdinWatch(stop.set), sys.stdin)
        else:  # a file or terminal never signals the parent's exit (and libuv aborts on /dev/null)
            log.warning("stdin is not a pipe: --exit-on-stdin-eof ignored")
    try:
        return await _run_broker(host, port, stop)
    finally:
        if stdin is not None:
            stdin.close()  # left open, it hangs the interpreter's exit


async def _run_broker(host: str, port: int, stop: asyncio.Event) -> int:
    from amqtt.adapters import StreamReaderAdapter, StreamWriterAdapter
    from amqtt.broker import Broker

    class _Broker(Broker):  # type: ignore[misc]
        """amqtt 0.12.1 with retained-message delivery on connect fixed.

        On every CONNECT, amqtt walks the filters of *all* clients and sends the new
        client the retained messages matching each, whether it subscribed to them or
        not (another run's public keys reach an agent), and the walk awaits inside a
        dict iteration that other clients' subscriptions change ("dictionary changed
        size during iteration" kills the connection). Only the session's own filters
        are replayed here, without yielding for the others.
        """

        async def _publish_retained_messages_for_subscription(
            self, subscription: tuple[str, int], session: Any
        ) -> None:
            holders = self._subscriptions.get(subscription[0], ())
            if any(held.client_id == session.client_id for held, _ in holders):
                await super()._publish_retained_messages_for_subscription(subscription, session)

    broker = _Broker(_broker_config(host, port))  # amqtt wants a running loop here

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await broker.external_connected(
                StreamReaderAdapter(reader), StreamWriterAdapter(writer), _LISTENER
            )
        finally:
            # amqtt leaves the socket open when a client never sends CONNECT.
            writer.close()

    await broker.start()
    try:
        try:
            server = await asyncio.start_server(connected, host, port, reuse_address=True)
        except OSError as exc:
            print(f"cannot listen on {host}:{port}: {exc}", file=sys.stderr, flush=True)
            return 1
        try:
            bound = server.sockets[0].getsockname()[1]
            print(f"{READY} {bound}", flush=True)
            await stop.wait()
        finally:
            server.close()
        return 0
    finally:
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                await broker.shutdown()
        except TimeoutError:
            log.warning("broker did not shut down within %.1f s", SHUTDOWN_TIMEOUT)


def _is_pipe(fd: int) -> bool:
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class _StdinWatch(asyncio.Protocol):
    """Calls ``on_eof`` once stdin closes (the parent exited or let go of us)."""

    def __init__(self, on_eof: Callable[[], object]) -> None:
        self._on_eof = on_eof

    def data_received(self, data: bytes) -> None:
        """Whatever the parent writes is ignored; only the end of the stream counts."""

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_eof()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transport._amqtt_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop
    except ImportError:  # uvloop is a dependency everywhere but Windows
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(_serve(args.host, args.port, exit_on_stdin_eof=args.exit_on_stdin_eof))


if __name__ == "__main__":
    sys.exit(main())
