"""The zero-install broker: amqtt in a child process on loopback (DESIGN.md, Transport).

The broker runs in its own process (``python -m transport.embedded._server``) so
that its event loop never competes with the agents' and so that stopping it is
a matter of signalling one PID.

Without a setup it is amqtt as it comes: anyone who can reach the port may log in
(with any name or none), publish to any topic, subscribe to ``#``, and take over
another client's session by reusing its client id; nothing bounds a packet or a
queue. Hence loopback only, unless the caller insists.

With a :class:`~transport.mosquitto.MosquittoSetup` it is locked down like the
generated Mosquitto, over the same ACL text (see :class:`EmbeddedBroker`).
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Self

from .._errors import BrokerError, TransportError
from .._processes import settle_tasks, stop_processes
from .._values import validate_host, validate_port, validate_seconds
from ..mosquitto import MosquittoSetup
from ..mqtt import BrokerAddress
from ._access import Access, fresh_passwords
from ._framing import MAX_PACKET_BYTES

log = logging.getLogger("hemesh.transport.broker")

READY = "READY"
"""First word of the line the child prints to stdout once it listens: ``READY <port>``.

(Defined here, not in ``_server``: the package must not import the module
that ``python -m`` is about to run, or runpy warns about a double import.)"""

STOP_TIMEOUT = 5.0
"""Seconds the child gets to exit after SIGTERM before it is killed."""

_TAIL_LINES = 20
_SERVER_MODULE = f"{__package__}._server"
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)


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
    but a loopback address needs ``allow_remote=True``. The child also exits when
    its stdin closes, so it never outlives its parent.

    **Without** ``setup`` (the default) amqtt admits anyone and checks nothing, as
    it always has here: :attr:`address` is where clients connect, no login needed.

    **With** ``setup`` (a :class:`MosquittoSetup`: runs, each agent's neighbours,
    extra users with :class:`BrokerRights`; the broker listens on its ``host`` and
    ``port``, so ``host`` and ``port`` must not be given here too) the child enforces
    what the generated Mosquitto enforces:

    - only the setup's logins get in, each with a fresh 256-bit password from
      :mod:`secrets`; anonymous clients, unknown users and wrong passwords get
      CONNACK 5 (not authorised), and so does a will topic the login may not write;
    - the ACL of :meth:`MosquittoSetup.acl`, read from that very text: agent ``aI``
      may write only ``hemesh/<run>/inbox/<neighbour>/aI``, ``hemesh/<run>/keys/aI``
      and ``hemesh/<run>/status/aI``, and receives only its own inbox and its
      neighbours' key and status topics, whatever it subscribes to (``#``
      included, retained messages included); a denied publish is acknowledged and
      dropped (as Mosquitto does), a subscription is accepted and delivers only what
      the login may read; an extra user with ``none`` rights (an observer) receives
      nothing;
    - sessions are keyed by login (the client id is replaced by the login, as
      Mosquitto's ``use_username_as_clientid``): a client sending another agent's
      client id gets a session of its own, and neither reads nor disconnects the
      other's;
    - every packet is at most ``max_packet_bytes`` (default
      :data:`MAX_PACKET_BYTES`, the largest envelope plus 4 KiB, as for Mosquitto);
      a client sending a larger one is disconnected;
    - a connection that sends no CONNECT within 10 s is closed.

    The passwords are drawn by this process when the broker starts and kept in
    memory: the child reads them (with the ACL) as one JSON line from its stdin
    pipe; they are never on a command line or in a file, so a SIGKILL leaves
    nothing on disk. :meth:`address_for` (or :attr:`addresses`) gives each login's
    :class:`BrokerAddress` with its password.

    What it still does not protect: there is **no TLS** (passwords and messages
    cross the socket in the clear: loopback only, or use Mosquitto with ``tls``);
    there is no bound on a client's queue (amqtt 0.12 keeps one unbounded queue
    per session and one task per pending delivery, and cannot be told otherwise
    without rewriting its broadcast loop: a flooding login costs the broker
    memory; ``setup.max_queued_messages`` is not applied); ``setup.tls`` is refused
    and ``setup.run_as`` is ignored. The ACL limits who may write where; it does not
    say that a message is genuine (that is the envelope's MAC, DESIGN.md Integrity).
    """

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        setup: MosquittoSetup | None = None,
        startup_timeout: float = 10.0,
        allow_remote: bool = False,
        max_packet_bytes: int | None = None,
    ) -> None:
        if setup is not None:
            if not isinstance(setup, MosquittoSetup):
                raise BrokerError(f"setup must be a MosquittoSetup, got {type(setup).__name__}")
            if host is not None or port is not None:
                raise BrokerError("with a setup, the broker listens on the setup's host and port")
            if setup.tls:
                raise BrokerError(
                    "the embedded broker has no TLS: use ManagedMosquitto for a TLS listener"
                )
            host, port = setup.host, setup.port
        host = "127.0.0.1" if host is None else host
        port = 0 if port is None else port
        try:
            validate_host(host, what="broker host")
            validate_port(port, what="broker port", zero_ok=True)
            startup_timeout = validate_seconds(startup_timeout, what="startup_timeout")
        except TransportError as exc:
            raise BrokerError(str(exc)) from None
        if max_packet_bytes is None and setup is not None:
            max_packet_bytes = MAX_PACKET_BYTES
        if max_packet_bytes is not None and (
            type(max_packet_bytes) is not int or max_packet_bytes < 2
        ):
            raise BrokerError(f"max_packet_bytes must be an int >= 2, got {max_packet_bytes!r}")
        if not allow_remote and not _is_loopback(host):
            what = (
                "has no TLS (passwords would cross the network in the clear)"
                if setup is not None
                else "admits any client (no authentication, no limits)"
            )
            raise BrokerError(
                f"refusing to bind the embedded broker to {host!r}: it {what}; use a "
                "loopback address, or Mosquitto with a password file, ACL and TLS, or pass "
                "allow_remote=True"
            )
        # "localhost" may resolve to two addresses, which port 0 would give two ports.
        self._host = "127.0.0.1" if host == "localhost" else host
        self._port = port
        self._setup = setup
        self._max_packet_bytes = max_packet_bytes
        self._startup_timeout = startup_timeout
        self._entered = False
        self._access: Access | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._address: BrokerAddress | None = None
        self._output: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._drains: list[asyncio.Task[None]] = []

    @property
    def address(self) -> BrokerAddress:
        """Where clients connect (known once the broker has started). Without a setup
        no login is needed; with one, use :meth:`address_for` (this address carries
        no credentials, so asking for it is refused)."""
        if self._address is None:
            raise BrokerError("the embedded broker has not started")
        if self._access is not None:
            raise BrokerError(
                "this embedded broker has logins: use address_for(login) or addresses"
            )
        return self._address

    def address_for(self, login: str) -> BrokerAddress:
        """Where ``login`` (an agent or an extra user of the setup) connects, with its
        password (as :meth:`ManagedMosquitto.address` gives it)."""
        if self._address is None:
            raise BrokerError("the embedded broker has not started")
        if self._access is None:
            raise BrokerError("this embedded broker has no logins (it was given no setup)")
        password = self._access.passwords.get(login)
        if password is None:
            raise BrokerError(f"no login {login!r} on this broker")
        return replace(self._address, username=login, password=password)

    @property
    def addresses(self) -> dict[str, BrokerAddress]:
        """Every login's address, agents first (empty without a setup)."""
        if self._address is None:
            raise BrokerError("the embedded broker has not started")
        logins = self._access.logins if self._access is not None else ()
        return {login: self.address_for(login) for login in logins}

    @property
    def setup(self) -> MosquittoSetup | None:
        """The setup as running (with the port actually chosen when it asked for 0)."""
        if self._setup is None or self._address is None:
            return self._setup
        return replace(self._setup, port=self._address.port)

    @property
    def max_packet_bytes(self) -> int | None:
        """The bound on one MQTT packet (``None``: unbounded, amqtt's own behaviour)."""
        return self._max_packet_bytes

    @property
    def pid(self) -> int:
        """The broker process's id (kept after it has exited)."""
        if self._process is None:
            raise BrokerError("the embedded broker has not started")
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        """None while the broker process runs (or before it starts); then its exit code,
        negative for the signal that killed it (``-9``: SIGKILL)."""
        return None if self._process is None else self._process.returncode

    async def wait_exited(self) -> int:
        """Wait until the broker process exits, for whatever reason (stopped, crashed,
        killed by someone else): its :attr:`returncode`. No bound: a watcher's wait,
        cancelled when the watcher no longer cares."""
        if self._process is None:
            raise BrokerError("the embedded broker has not started")
        return await self._process.wait()

    def __repr__(self) -> str:
        where = self._address.url if self._address else f"{self._host}:{self._port}"
        state = "not started" if self._process is None else f"pid {self._process.pid}"
        locked = " locked" if self._setup is not None else ""
        return f"<EmbeddedBroker{locked} {where} {state}>"

    async def __aenter__(self) -> Self:
        if self._entered:
            raise BrokerError("an EmbeddedBroker cannot be entered twice")
        self._entered = True
        if self._setup is not None:
            try:
                self._access = Access.from_setup(self._setup, fresh_passwords(self._setup.accounts))
            except TransportError as exc:
                raise BrokerError(f"cannot lock the embedded broker down: {exc}") from exc
        env = dict(os.environ)
        # The child must import this very package, wherever it was imported from.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
        options = ["--exit-on-stdin-eof"]
        if self._access is not None:
            options.append("--access-on-stdin")
        if self._max_packet_bytes is not None:
            options += ["--max-packet-bytes", str(self._max_packet_bytes)]
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
                *options,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # a terminal's Ctrl-C goes to the parent, which stops us
            )
        except OSError as exc:
            raise BrokerError(f"cannot start the embedded broker: {exc}") from exc
        try:
            if self._access is not None:
                await self._send_access(self._access)
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

    async def _send_access(self, access: Access) -> None:
        """The logins and ACL, as one line on the child's stdin (which stays open)."""
        process = self._process
        assert process is not None and process.stdin is not None
        process.stdin.write(access.to_json())
        try:
            async with asyncio.timeout(self._startup_timeout):
                await process.stdin.drain()
        except (TimeoutError, OSError) as exc:
            raise BrokerError(
                f"cannot hand the logins to the embedded broker: {str(exc) or 'timed out'}"
            ) from None

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
