"""Mosquitto as a managed child process: :class:`ManagedMosquitto`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Self

from .._errors import BrokerError, TransportError
from .._processes import stop_processes
from .._values import validate_seconds
from ..mqtt import BrokerAddress
from ._files import LOG, MosquittoFiles
from ._setup import MosquittoSetup

OUTPUT = "mosquitto.out"
"""What mosquitto prints before its log file is open (bad config, port in use)."""

STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
PORT_ATTEMPTS = 3
"""Tries with a fresh free port when ``port = 0`` and another process took the last one."""


BINARY_ENV = "HEMESH_MOSQUITTO"
"""Names the mosquitto binary to run, instead of looking for it."""


def find_mosquitto() -> str | None:
    """The mosquitto binary: ``$HEMESH_MOSQUITTO`` if set (None if that is not an
    executable file), else on PATH, else in the sbin directories PATH often lacks."""
    named = os.environ.get(BINARY_ENV)
    if named is not None:
        return named if os.path.isfile(named) and os.access(named, os.X_OK) else None
    found = shutil.which("mosquitto")
    if found is not None:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _die_with_parent() -> None:  # pragma: no cover  (runs in the child, before exec)
    """Linux: let the kernel stop mosquitto if we die without stopping it ourselves."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ManagedMosquitto:
    """Mosquitto as a child process for ``setup``, files in ``directory``.

    ``async with`` writes the files, starts ``mosquitto -c``, waits (bounded by
    ``startup_timeout``) until mosquitto logs that it is running and the port accepts
    connections (with ``port = 0``, up to :data:`PORT_ATTEMPTS` free ports, the same
    passwords each time), and on exit stops the process by its PID (SIGTERM, then
    SIGKILL). Constructing does nothing; re-entry is refused.

    ``secrets_on_disk = False`` keeps the passwords in this process's memory only
    (:meth:`address`): no ``credentials.json`` is written, and the password file (the
    hashes) is removed as soon as mosquitto listens, having read it at start. So even
    a SIGKILL of this process leaves no secret behind. The caveat: mosquitto rereads
    its password file on SIGHUP, and would then refuse every login.
    """

    def __init__(
        self,
        setup: MosquittoSetup,
        directory: Path,
        *,
        binary: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
        secrets_on_disk: bool = True,
    ) -> None:
        if not isinstance(setup, MosquittoSetup):
            raise TransportError(f"setup must be a MosquittoSetup, got {type(setup).__name__}")
        self._setup = setup
        self._directory = Path(directory)
        self._binary = binary
        self._startup_timeout = validate_seconds(startup_timeout, what="startup_timeout")
        self._secrets_on_disk = bool(secrets_on_disk)
        self._process: asyncio.subprocess.Process | None = None
        self._files: MosquittoFiles | None = None
        self._entered = False

    @property
    def setup(self) -> MosquittoSetup:
        """The setup as running (with the port actually chosen when it asked for 0)."""
        return self._setup

    @property
    def files(self) -> MosquittoFiles:
        if self._files is None:
            raise BrokerError("the broker is not started")
        return self._files

    @property
    def pid(self) -> int:
        if self._process is None:
            raise BrokerError("the broker is not started")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def address(self, account: str) -> BrokerAddress:
        """Where ``account`` (an agent or an extra user) logs in, password included."""
        return self._setup.address(account, self.files)

    @property
    def addresses(self) -> dict[str, BrokerAddress]:
        """Every account's address, agents first."""
        return {a: self.address(a) for a in self._setup.accounts}

    async def __aenter__(self) -> Self:
        if self._entered:
            raise BrokerError("a ManagedMosquitto cannot be entered twice")
        self._entered = True
        binary = self._binary or find_mosquitto()
        if binary is None:
            raise BrokerError(
                f"mosquitto not found (${BINARY_ENV}, PATH, /usr/sbin; install the mosquitto "
                "package)"
            )
        requested = self._setup
        attempts = PORT_ATTEMPTS if requested.port == 0 else 1
        passwords: Mapping[str, str] | None = None
        try:
            for attempt in range(attempts):
                setup = requested
                if requested.port == 0:
                    setup = replace(requested, port=_free_port(requested.connect_host))
                self._setup = setup
                self._files = setup.write(
                    self._directory, passwords=passwords, credentials=self._secrets_on_disk
                )
                passwords = self._files.passwords  # the same logins on every attempt
                if await self._start(binary, setup, last=attempt == attempts - 1):
                    if not self._secrets_on_disk:  # read at start; kept in memory only
                        self._forget_password_file()
                    return self
        except BaseException:  # cancelled (Ctrl-C) while starting, too: leave nothing behind
            await self.stop()
            if not self._secrets_on_disk:
                with contextlib.suppress(BrokerError):
                    self._forget_password_file()
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def returncode(self) -> int | None:
        """None while mosquitto runs (or before it starts); then its exit code, negative
        for the signal that killed it (``-9``: SIGKILL)."""
        return None if self._process is None else self._process.returncode

    async def wait_exited(self) -> int:
        """Wait until mosquitto exits, for whatever reason (a foreground broker, or a
        watcher's wait: no bound); its :attr:`returncode`."""
        if self._process is None:
            raise BrokerError("the broker is not started")
        return await self._process.wait()

    async def wait(self) -> int:
        """:meth:`wait_exited` (the name ``hemesh broker`` has always used)."""
        return await self.wait_exited()

    async def stop(self) -> None:
        """Stop the process by its PID: SIGTERM, a bounded wait, then SIGKILL."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        await stop_processes([process], grace=STOP_TIMEOUT)

    def _forget_password_file(self) -> None:
        if self._files is None:
            return
        try:
            self._files.password_file.unlink(missing_ok=True)
        except OSError as exc:
            raise BrokerError(f"cannot remove the password file: {exc}") from exc

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of what mosquitto printed and logged."""
        text = []
        for name in (OUTPUT, LOG):
            with contextlib.suppress(OSError):
                text += (self._directory / name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:]) or "(mosquitto wrote nothing)"

    async def _start(self, binary: str, setup: MosquittoSetup, *, last: bool) -> bool:
        files = self.files
        try:
            logged = files.log_file.stat().st_size if files.log_file.exists() else 0
        except OSError:
            logged = 0
        try:
            with (self._directory / OUTPUT).open("ab") as output:
                self._process = await asyncio.create_subprocess_exec(
                    binary,
                    "-c",
                    str(files.config),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    start_new_session=True,  # Ctrl-C reaches us; we stop it by PID
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )
        except OSError as exc:
            raise BrokerError(f"cannot start {binary}: {exc}") from exc
        process = self._process
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if process.returncode is not None:
                if last:
                    raise BrokerError(
                        f"mosquitto exited with code {process.returncode} on port {setup.port}:\n"
                        f"{self.log_tail()}"
                    )
                return False
            # Another process on the port would accept too: wait for our own "running".
            if _running(files.log_file, logged) and await _accepts(setup.connect_host, setup.port):
                return True
            await asyncio.sleep(0.02)
        await self.stop()
        raise BrokerError(
            f"mosquitto did not listen on {setup.connect_host}:{setup.port} within "
            f"{self._startup_timeout} s:\n{self.log_tail()}"
        )


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _running(log: Path, offset: int) -> bool:
    """Whether mosquitto has logged, past ``offset``, that it is up."""
    try:
        with log.open("rb") as f:
            f.seek(offset)
            return any(line.rstrip().endswith(b" running") for line in f)
    except OSError:
        return False


async def _accepts(host: str, port: int) -> bool:
    try:
        async with asyncio.timeout(0.5):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
