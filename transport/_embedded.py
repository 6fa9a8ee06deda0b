"""The zero-install broker: amqtt in a child process on loopback (DESIGN.md, Transport).

The broker runs in its own process (``python -m transport._amqtt_server``) so
that its event loop never competes with the agents' and so that stopping it is
a matter of signalling one PID. amqtt has no real authentication and no
message-size or queue limits: it binds to loopback unless told otherwise, and
anything exposed should use Mosquitto.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Self

from ._errors import BrokerError, TransportError
from ._processes import settle_tasks, stop_processes
from ._values import validate_host, validate_port, validate_seconds
from .mqtt import BrokerAddress

log = logging.getLogger("hemesh.transport.broker")

READY = "READY"
"""First word of the line the child prints to stdout once it listens: ``READY <port>``.

(Defined here, not in ``_amqtt_server``: the package must not import the module
that ``python -m`` is about to run, or runpy warns about a double import.)"""

STOP_TIMEOUT = 5.0
"""Seconds the child gets to exit after SIGTERM before it is killed."""

_TAIL_LINES = 20
_SERVER_MODULE = f"{__package__}._amqtt_server"
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EmbeddedBroker:
    """An amqtt broker in a child process, running for the span of ``async with``.

    ``port=0`` picks a free port; :attr:`address` tells which. Binding to anything
    but a loopback address needs ``allow_remote=True`` (amqtt admits anyone).
    The child also exits when its stdin closes, so it never outlives its parent.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        startup_timeout: float = 10.0,
        allow_remote: bool = False,
    ) -> None:
        try:
            validate_host(host, what="broker host")
            validate_port(port, what="broker port", zero_ok=True)
            startup_timeout = validate_seconds(startup_timeout, what="startup_timeout")
        except TransportError as exc:
            raise BrokerError(str(exc)) from None
        if not allow_remote and not _is_loopback(host):
            raise BrokerError(
                f"refusing to bind the embedded broker to {host!r}: it admits any client "
                "(no authentication, no limits); use a loopback address, or Mosquitto "
                "with a password file and ACL, or pass allow_remote=True"
            )
        # "localhost" may resolve to two addresses, which port 0 would give two ports.
        self._host = "127.0.0.1" if host == "localhost" else host
        self._port = port
        self._startup_timeout = startup_timeout
        self._entered = False
        self._process: asyncio.subprocess.Process | None = None
        self._address: BrokerAddress | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._drains: list[asyncio.Task[None]] = []

    @property
    def address(self) -> BrokerAddress:
        """Where clients connect (known once the broker has started)."""
        if self._address is None:
            raise BrokerError("the embedded broker has not started")
        return self._address

    @property
    def pid(self) -> int:
        """The broker process's id (kept after it has exited)."""
        if self._process is None:
            raise BrokerError("the embedded broker has not started")
        return self._process.pid

    def __repr__(self) -> str:
        where = self._address.url if self._address else f"{self._host}:{self._port}"
        state = "not started" if self._process is None else f"pid {self._process.pid}"
        return f"<EmbeddedBroker {where} {state}>"

    async def __aenter__(self) -> Self:
        if self._entered:
            raise BrokerError("an EmbeddedBroker cannot be entered twice")
        self._entered = True
        env = dict(os.environ)
        # The child must import this very package, wherever it was imported from.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-P",  # no working directory on sys.path: a local "transport" cannot shadow ours
                "-m",
                _SERVER_MODULE,
                "--host",
                self._host,
                "--port",
                str(self._port),
                "--exit-on-stdin-eof",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # a terminal's Ctrl-C goes to the parent, which stops us
            )
        except OSError as exc:
            raise BrokerError(f"cannot start the embedded broker: {exc}") from exc
        try:
            port = await self._wait_ready()
        except BaseException:
            await self._stop()
            raise
        self._address = BrokerAddress(host=self._host, port=port)
        log.info("embedded broker (pid %d) listening on %s", self.pid, self._address.url)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _wait_ready(self) -> int:
        process = self._process
        assert process is not None and process.stdout is not None and process.stderr is not None
        self._drains.append(asyncio.create_task(self._drain(process.stderr), name="broker-stderr"))
        try:
            async with asyncio.timeout(self._startup_timeout):
                while line := (await process.stdout.readline()).decode(errors="replace"):
                    word, _, port = line.strip().partition(" ")
                    if word == READY and port.isdigit():
                        self._drains.append(
                            asyncio.create_task(self._drain(process.stdout), name="broker-stdout")
                        )
                        return int(port)
                    self._output.append(line.rstrip())
                await process.wait()
        except TimeoutError:
            await self._stop()
            raise BrokerError(
                f"embedded broker did not start within {self._startup_timeout:g} s{self._tail()}"
            ) from None
        await self._stop()
        raise BrokerError(
            f"embedded broker exited with code {process.returncode} before it was ready"
            f"{self._tail()}"
        )

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        """Keep the child's pipe from filling up; keep its last lines for error messages."""
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip()
            self._output.append(text)
            log.info("embedded broker: %s", text)

    def _tail(self) -> str:
        return "; its output ends with:\n" + "\n".join(self._output) if self._output else ""

    async def _stop(self) -> None:
        """Stop the child by PID: SIGTERM, wait, SIGKILL; then collect its pipes."""
        process = self._process
        if process is None:
            return
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        if await stop_processes([process], grace=STOP_TIMEOUT):
            log.warning("embedded broker (pid %d) ignored SIGTERM; killed it", process.pid)
        drains, self._drains = self._drains, []
        await settle_tasks(drains, grace=STOP_TIMEOUT)
        if process.returncode not in (0, None):
            log.warning("embedded broker (pid %d) exited with %d", process.pid, process.returncode)
