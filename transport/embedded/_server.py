"""The embedded broker's own process: amqtt on one TCP listener (see :class:`EmbeddedBroker`).

Run as ``python -m transport.embedded._server --host 127.0.0.1 --port 0``. Once the
listener is up it prints one line, ``READY <port>``, to stdout, then serves
until SIGTERM or SIGINT (or, with ``--exit-on-stdin-eof``, until its stdin
closes, so that it never outlives the process that started it) and shuts the
broker down.

With ``--access-on-stdin`` the first line on stdin is the :class:`Access` document
(logins, passwords, ACL) as JSON: it is read before the listener opens, kept in
memory only, and never on the command line or in a file. Every connection is then
admitted by login and every message checked against the ACL (see :mod:`._amqtt`).
``--max-packet-bytes`` bounds every packet (a client sending more is dropped).
Without either, amqtt admits anyone and bounds nothing: keep it on loopback.

The listening socket is ours (``asyncio.start_server``) and connections are
handed to amqtt through its external-listener API, so the real port is known
when ``--port 0`` asks for any free one, and so that a connection is checked
before amqtt sees it.
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
from typing import TYPE_CHECKING

from .._errors import BrokerError
from ._access import MAX_ACCESS_BYTES, Access
from ._broker import READY

if TYPE_CHECKING:
    from amqtt.contexts import BrokerConfig

# amqtt is imported where it is used, so that importing this module (to test it)
# does not load a broker.

SHUTDOWN_TIMEOUT = 5.0
"""Seconds the broker gets to close its sessions before the process just exits."""
ACCESS_TIMEOUT = 10.0
"""Seconds the parent gets to write the access document after starting us."""

EXIT_USAGE = 2
"""Exit code when the access document is missing or bad (nothing was served)."""

_LISTENER = "default"
_ANONYMOUS = "amqtt.plugins.authentication.AnonymousAuthPlugin"

log = logging.getLogger("hemesh.transport.embedded.server")


def _broker_config(host: str, port: int, access: Access | None = None) -> BrokerConfig:
    """One external listener (the socket is ours), no $SYS plugin; anonymous clients
    without ``access``, else our login check (:class:`~._amqtt.AccessPlugin`) alone."""
    from amqtt.contexts import BrokerConfig, ListenerConfig, ListenerType

    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if access is None:
        plugins: dict[str, dict[str, object]] = {_ANONYMOUS: {"allow_anonymous": True}}
    else:
        from ._amqtt import PLUGIN

        plugins = {PLUGIN: {"access": access}}
    return BrokerConfig(
        listeners={_LISTENER: ListenerConfig(type=ListenerType.EXTERNAL, bind=bind)},
        plugins=plugins,
    )


async def _serve(
    host: str,
    port: int,
    *,
    exit_on_stdin_eof: bool,
    access_on_stdin: bool,
    max_packet_bytes: int | None,
) -> int:
    """Run the broker until told to stop; the process's exit code."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    stdin: asyncio.BaseTransport | None = None
    first_line: asyncio.Future[bytes] | None = loop.create_future() if access_on_stdin else None
    if exit_on_stdin_eof or access_on_stdin:
        if _is_pipe(sys.stdin.fileno()):
            # Read by the loop itself: a thread blocked on stdin can abort the
            # interpreter at exit ("could not acquire lock for <stdin>").
            on_eof = stop.set if exit_on_stdin_eof else _ignore
            stdin, _ = await loop.connect_read_pipe(
                lambda: _StdinWatch(on_eof, first_line), sys.stdin
            )
        elif access_on_stdin:
            print("--access-on-stdin needs stdin to be a pipe", file=sys.stderr, flush=True)
            return EXIT_USAGE
        else:  # a file or terminal never signals the parent's exit (and libuv aborts on /dev/null)
            log.warning("stdin is not a pipe: --exit-on-stdin-eof ignored")
    try:
        access = None
        if first_line is not None:
            try:
                async with asyncio.timeout(ACCESS_TIMEOUT):
                    access = Access.from_json(await first_line)
            except (TimeoutError, BrokerError) as exc:
                problem = str(exc) or f"none within {ACCESS_TIMEOUT:g} s"
                print(f"no access document on stdin: {problem}", file=sys.stderr, flush=True)
                return EXIT_USAGE
        return await _run_broker(host, port, stop, access, max_packet_bytes)
    finally:
        if stdin is not None:
            stdin.close()  # left open, it hangs the interpreter's exit


async def _run_broker(
    host: str, port: int, stop: asyncio.Event, access: Access | None, limit: int | None
) -> int:
    from amqtt.adapters import StreamReaderAdapter, StreamWriterAdapter

    from ._amqtt import FramedReader, LockedBroker, admit

    broker = LockedBroker(_broker_config(host, port, access), access)  # in a running loop

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if access is None and limit is None:  # as amqtt alone would serve it
                await broker.external_connected(
                    StreamReaderAdapter(reader), StreamWriterAdapter(writer), _LISTENER
                )
                return
            first = await admit(reader, writer, access, limit)
            if first is not None:
                await broker.external_connected(
                    FramedReader(reader, writer, limit, first),
                    StreamWriterAdapter(writer),
                    _LISTENER,
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


def _ignore() -> None:
    """What stdin's end means without ``--exit-on-stdin-eof``: nothing."""


class _StdinWatch(asyncio.Protocol):
    """Calls ``on_eof`` once stdin closes (the parent exited or let go of us), and
    hands the first line to ``first_line`` if one is awaited; later data is ignored."""

    def __init__(
        self, on_eof: Callable[[], object], first_line: asyncio.Future[bytes] | None
    ) -> None:
        self._on_eof = on_eof
        self._first_line = first_line
        self._buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        waiting = self._first_line
        if waiting is None or waiting.done():
            return
        self._buffer += data
        line, newline, _ = self._buffer.partition(b"\n")
        if newline:
            waiting.set_result(bytes(line))
            self._buffer.clear()
        elif len(self._buffer) > MAX_ACCESS_BYTES:
            waiting.set_exception(BrokerError(f"first line longer than {MAX_ACCESS_BYTES} bytes"))
            self._buffer.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._first_line is not None and not self._first_line.done():
            self._first_line.set_exception(BrokerError("stdin closed before a whole line"))
        self._on_eof()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transport.embedded._server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    parser.add_argument(
        "--access-on-stdin",
        action="store_true",
        help="read logins and ACL as one JSON line from stdin (never from the command line)",
    )
    parser.add_argument("--max-packet-bytes", type=int, default=None)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    if args.max_packet_bytes is not None and args.max_packet_bytes < 2:
        parser.error("--max-packet-bytes must be at least 2")
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
    serve = _serve(
        args.host,
        args.port,
        exit_on_stdin_eof=args.exit_on_stdin_eof,
        access_on_stdin=args.access_on_stdin,
        max_packet_bytes=args.max_packet_bytes,
    )
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(serve)


if __name__ == "__main__":
    sys.exit(main())
