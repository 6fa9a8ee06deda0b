"""A locked-down Mosquitto for one run (DESIGN.md, Transport): per-agent logins and an ACL.

:class:`MosquittoSetup` turns plain data (run ids, each agent's neighbours, extra
accounts, where to listen) into a ``mosquitto.conf``, a password file and an ACL file;
:class:`ManagedMosquitto` writes them and runs ``mosquitto`` as a child process,
stopped by PID on exit. Each agent may write only

    hemesh/<run>/inbox/<neighbour>/<itself>   for each neighbour
    hemesh/<run>/keys/<itself>                its retained public key
    hemesh/<run>/status/<itself>              its online/offline status (will message)

and read only its own inbox and its neighbours' key and status topics. Anonymous
clients are refused, and the username doubles as the client id
(``use_username_as_clientid``), so a client cannot take over another's session.
Mosquitto acknowledges and silently drops what the ACL denies: check delivery, not
return codes.

Passwords are 256 random bits from :mod:`secrets`; the password file holds their
PBKDF2-SHA512 hashes in Mosquitto's ``$7$`` format and ``credentials.json`` (mode
0600) holds them in the clear for the operator to hand out.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ipaddress
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path, PurePath
from types import TracebackType
from typing import Self
from urllib.parse import quote

from ._envelope import MAX_ENVELOPE_BYTES, validate_id
from ._errors import BrokerError, TransportError
from ._mqtt import BrokerAddress
from ._processes import stop_processes
from ._topics import Topics

CONFIG = "mosquitto.conf"
PASSWORDS = "passwd"
ACL = "acl"
CREDENTIALS = "credentials.json"
LOG = "mosquitto.log"
CA_CERT = "ca.crt"
SERVER_CERT = "server.crt"
SERVER_KEY = "server.key"
OUTPUT = "mosquitto.out"
"""What mosquitto prints before its log file is open (bad config, port in use)."""

HASH_ITERATIONS = 101
"""PBKDF2 rounds of ``mosquitto_passwd`` 2.0 (the passwords are 256 random bits, so
more rounds would only cost the broker time at each connect)."""
SALT_BYTES = 12
PASSWORD_BYTES = 32

MAX_QUEUED_MESSAGES = 100_000
"""Per client; Mosquitto's default (1000) drops QoS 1 messages of a busy agent."""
MAX_PACKET_BYTES = MAX_ENVELOPE_BYTES + 4096
"""The largest envelope plus room for the topic and the MQTT header."""

STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
PORT_ATTEMPTS = 3
"""Tries with a fresh free port when ``port = 0`` and another process took the last one."""

_WILDCARD_HOSTS = ("0.0.0.0", "::")


class BrokerRights(StrEnum):
    """What an extra (non-agent) account may do on the run's topics."""

    NONE = "none"
    """Log in, nothing else: an observer that must receive nothing."""
    STATUS = "status"
    """Read every agent's status topic (a supervisor watching who is online)."""
    ALL = "all"
    """Read and write everything of the run (an operator or test harness; it sees the
    ciphertexts, so it is as trusted as the broker itself)."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``password`` hashed as ``mosquitto_passwd`` 2.0 does: ``$7$101$<salt>$<hash>``,
    PBKDF2-HMAC-SHA512 with a 12-byte random salt, both base64 with padding."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, HASH_ITERATIONS)
    b64 = base64.b64encode
    return f"$7${HASH_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


@dataclass(frozen=True, kw_only=True, slots=True)
class MosquittoFiles:
    """What :meth:`MosquittoSetup.write` put in its directory, and the passwords."""

    directory: Path
    config: Path
    password_file: Path
    acl_file: Path
    credentials_file: Path
    log_file: Path
    ca_file: Path | None
    """The CA that signed the server certificate (TLS only)."""
    passwords: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class MosquittoSetup:
    """The broker of one or more runs: who may log in and what each may read and write.

    ``neighbours`` maps each agent id to its neighbours' ids (an undirected graph:
    the relation must be symmetric); ``users`` adds accounts that are not agents.
    ``port = 0`` lets :class:`ManagedMosquitto` pick a free one. ``host`` is the
    address the listener binds: loopback unless the caller asks for more.
    """

    runs: Sequence[str]
    neighbours: Mapping[str, Collection[str]]
    users: Mapping[str, BrokerRights] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0
    tls: bool = False
    max_queued_messages: int = MAX_QUEUED_MESSAGES
    run_as: str | None = None
    """mosquitto's ``user`` option: whom it runs as when started as root. Default: the
    user writing the config, so the broker can read files in that user's private
    directories (as root that means it stays root: deploy as an unprivileged user, or
    name one here that can read the files)."""

    def __post_init__(self) -> None:
        runs = (self.runs,) if isinstance(self.runs, str) else tuple(self.runs)
        if not runs:
            raise TransportError("a Mosquitto setup needs at least one run id")
        for run in runs:
            validate_id(run, what="run id")
        if not isinstance(self.neighbours, Mapping) or not self.neighbours:
            raise TransportError("neighbours must map at least one agent id to its neighbours")
        graph: dict[str, tuple[str, ...]] = {}
        for agent, near in self.neighbours.items():
            validate_id(agent)
            if isinstance(near, str):
                raise TransportError(f"neighbours of {agent!r} must be a collection of ids")
            graph[agent] = tuple(sorted({validate_id(n, what="neighbour id") for n in near}))
        for agent, near in graph.items():
            for other in near:
                if other == agent:
                    raise TransportError(f"agent {agent!r} lists itself as a neighbour")
                if other not in graph:
                    raise TransportError(f"agent {agent!r} has neighbour {other!r}, not an agent")
                if agent not in graph[other]:
                    raise TransportError(
                        f"neighbours are not symmetric: {agent!r} lists {other!r}, "
                        "not the other way round"
                    )
        users: dict[str, BrokerRights] = {}
        for user, rights in self.users.items():
            validate_id(user, what="user name")
            if user in graph:
                raise TransportError(f"user name {user!r} is also an agent id")
            try:
                users[user] = BrokerRights(rights)
            except ValueError:
                choices = ", ".join(r.value for r in BrokerRights)
                raise TransportError(
                    f"rights of user {user!r} must be one of {choices}, got {rights!r}"
                ) from None
        if not isinstance(self.host, str) or not self.host or any(c in self.host for c in " \n/@"):
            raise TransportError(f"bind host must be a host name or address, got {self.host!r}")
        if type(self.port) is not int or not 0 <= self.port < 65536:
            raise TransportError(f"port must be an int in [0, 65535], got {self.port!r}")
        if not isinstance(self.tls, bool):
            raise TransportError(f"tls must be a bool, got {self.tls!r}")
        if type(self.max_queued_messages) is not int or self.max_queued_messages < 1:
            raise TransportError(
                f"max_queued_messages must be a positive int, got {self.max_queued_messages!r}"
            )
        if self.run_as is None:
            object.__setattr__(self, "run_as", pwd.getpwuid(os.geteuid()).pw_name)
        if (
            not isinstance(self.run_as, str)
            or not self.run_as
            or any(c.isspace() for c in self.run_as)
        ):
            raise TransportError(f"run_as must be a user name, got {self.run_as!r}")
        object.__setattr__(self, "runs", runs)
        object.__setattr__(self, "neighbours", graph)
        object.__setattr__(self, "users", users)

    @property
    def accounts(self) -> tuple[str, ...]:
        """Every login: the agents, then the extra users."""
        return (*self.neighbours, *self.users)

    @property
    def connect_host(self) -> str:
        """Where a client on this machine reaches the listener."""
        if self.host in _WILDCARD_HOSTS:
            return "::1" if self.host == "::" else "127.0.0.1"
        return self.host

    @property
    def advertised_host(self) -> str:
        """The host other machines are told (this machine's name for a wildcard bind)."""
        return socket.gethostname() if self.host in _WILDCARD_HOSTS else self.host

    def acl(self) -> str:
        """The ACL file: explicit topics per user, nothing by pattern, nothing anonymous."""
        lines = ["# Written by hemesh: what each login may read and write.", ""]
        for agent, near in self.neighbours.items():
            lines.append(f"user {agent}")
            for run in self.runs:
                t = Topics(run)
                lines += [f"topic write {t.inbox(n, agent)}" for n in near]
                lines.append(f"topic write {t.key(agent)}")
                lines.append(f"topic write {t.status(agent)}")
                lines.append(f"topic read {t.inbox_filter(agent)}")
                lines += [f"topic read {t.key(n)}" for n in near]
                lines += [f"topic read {t.status(n)}" for n in near]
            lines.append("")
        for user, rights in self.users.items():
            lines.append(f"user {user}")
            for run in self.runs:
                t = Topics(run)
                if rights is BrokerRights.STATUS:
                    lines.append(f"topic read {t.prefix}/status/+")
                elif rights is BrokerRights.ALL:
                    lines.append(f"topic readwrite {t.everything}")
            lines.append("")
        return "\n".join(lines)

    def config(self, directory: PurePath) -> str:
        """``mosquitto.conf`` with its files in ``directory`` (as mosquitto will see it:
        a container may mount the files elsewhere than where they were written)."""
        lines = [
            "# Written by hemesh: per-agent logins, an ACL, nothing anonymous.",
            "per_listener_settings false",
            f"user {self.run_as}",
            f"listener {self.port} {self.host}",
        ]
        if self.tls:
            lines += [
                f"certfile {directory / SERVER_CERT}",
                f"keyfile {directory / SERVER_KEY}",
            ]
        lines += [
            "allow_anonymous false",
            f"password_file {directory / PASSWORDS}",
            f"acl_file {directory / ACL}",
            "use_username_as_clientid true",
            "set_tcp_nodelay true",
            "persistence false",
            f"max_queued_messages {self.max_queued_messages}",
            "max_inflight_messages 100",
            f"max_packet_size {MAX_PACKET_BYTES}",
            f"log_dest file {directory / LOG}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "",
        ]
        return "\n".join(lines)

    def write(
        self,
        directory: Path,
        *,
        passwords: Mapping[str, str] | None = None,
        mounted_at: PurePath | None = None,
    ) -> MosquittoFiles:
        """Write config, password file, ACL and ``credentials.json`` into ``directory``.

        Fresh passwords are drawn for every account unless ``passwords`` gives them
        all. ``mounted_at`` is where mosquitto will find the directory (a container's
        mount point); by default the directory itself. With ``tls`` a throw-away CA
        and a server certificate for ``host`` (and localhost) are generated too.
        """
        if passwords is None:
            passwords = {a: secrets.token_urlsafe(PASSWORD_BYTES) for a in self.accounts}
        missing = [a for a in self.accounts if not passwords.get(a)]
        if missing:
            raise TransportError(f"no password given for {', '.join(missing)}")
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory = directory.resolve()
            seen = mounted_at if mounted_at is not None else directory
            ca_file = _certificates(directory, self.advertised_host) if self.tls else None
            _write_private(
                directory / PASSWORDS,
                "".join(f"{a}:{hash_password(passwords[a])}\n" for a in self.accounts),
            )
            _write_private(directory / ACL, self.acl())
            _write_private(directory / CONFIG, self.config(seen))
            files = MosquittoFiles(
                directory=directory,
                config=directory / CONFIG,
                password_file=directory / PASSWORDS,
                acl_file=directory / ACL,
                credentials_file=directory / CREDENTIALS,
                log_file=directory / LOG,
                ca_file=ca_file,
                passwords={a: passwords[a] for a in self.accounts},
            )
            _write_private(directory / CREDENTIALS, self._credentials(files))
        except OSError as exc:
            raise BrokerError(f"cannot write the Mosquitto files in {directory}: {exc}") from exc
        return files

    def address(
        self, account: str, files: MosquittoFiles, *, host: str | None = None
    ) -> BrokerAddress:
        """The address ``account`` logs in with (its password included)."""
        if account not in files.passwords:
            raise TransportError(f"no account {account!r} on this broker")
        return BrokerAddress(
            host=host or self.connect_host,
            port=self.port,
            username=account,
            password=files.passwords[account],
            tls=self.tls,
            ca_file=None if files.ca_file is None else str(files.ca_file),
        )

    def _credentials(self, files: MosquittoFiles) -> str:
        host = self.advertised_host
        netloc = f"[{host}]" if ":" in host else host
        scheme = "mqtts" if self.tls else "mqtt"
        users = {}
        for account in self.accounts:
            secret = files.passwords[account]
            users[account] = {
                "password": secret,
                "url": f"{scheme}://{account}:{quote(secret, safe='')}@{netloc}:{self.port}",
                "rights": "agent" if account in self.neighbours else self.users[account].value,
            }
        doc = {
            "runs": list(self.runs),
            "host": host,
            "port": self.port,
            "tls": self.tls,
            "ca_file": None if files.ca_file is None else str(files.ca_file),
            "users": users,
        }
        return json.dumps(doc, indent=2) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by its owner only (created so, never widened)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def _certificates(directory: Path, host: str) -> Path:
    """A throw-away CA and a server certificate it signs, made with the openssl binary.

    For tests and private deployments; the CA key is deleted once it has signed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise BrokerError("tls needs the openssl binary to generate certificates")
    names = ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    if host not in _WILDCARD_HOSTS and host not in ("localhost", "127.0.0.1", "::1"):
        try:
            ipaddress.ip_address(host)
            names.append(f"IP:{host}")
        except ValueError:
            names.append(f"DNS:{host}")
    ca_key = directory / "ca.key"
    csr = directory / "server.csr"
    ext = directory / "server.ext"
    ext.write_text(
        f"subjectAltName={','.join(names)}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        [
            "req",
            "-x509",
            *curve,
            "-keyout",
            str(ca_key),
            "-out",
            str(directory / CA_CERT),
            "-days",
            "30",
            "-subj",
            "/CN=hemesh throw-away CA",
        ],
        [
            "req",
            *curve,
            "-keyout",
            str(directory / SERVER_KEY),
            "-out",
            str(csr),
            "-subj",
            "/CN=hemesh broker",
        ],
        [
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(directory / CA_CERT),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(directory / SERVER_CERT),
            "-days",
            "30",
            "-extfile",
            str(ext),
        ],
    ]
    try:
        for step in steps:
            done = subprocess.run(
                [openssl, *step], capture_output=True, text=True, timeout=30, check=False
            )
            if done.returncode != 0:
                raise BrokerError(f"openssl {step[0]} failed: {done.stderr.strip()}")
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"openssl did not finish within {exc.timeout} s") from exc
    finally:
        for leftover in (ca_key, csr, ext, directory / "ca.srl"):
            leftover.unlink(missing_ok=True)
    os.chmod(directory / SERVER_KEY, 0o600)
    return directory / CA_CERT


def find_mosquitto() -> str | None:
    """The mosquitto binary: on PATH, else in the sbin directories PATH often lacks."""
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

    ``async with`` writes the files, starts ``mosquitto -c``, waits (bounded) until the
    port accepts connections, and on exit stops the process by its PID (SIGTERM,
    then SIGKILL). Constructing does nothing; re-entry is refused.
    """

    def __init__(
        self,
        setup: MosquittoSetup,
        directory: Path,
        *,
        binary: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        if not isinstance(setup, MosquittoSetup):
            raise TransportError(f"setup must be a MosquittoSetup, got {type(setup).__name__}")
        if not (isinstance(startup_timeout, int | float) and 0 < startup_timeout < float("inf")):
            raise TransportError(
                f"startup_timeout must be positive seconds, got {startup_timeout!r}"
            )
        self._setup = setup
        self._directory = Path(directory)
        self._binary = binary
        self._startup_timeout = float(startup_timeout)
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
                "mosquitto not found on PATH or in /usr/sbin (install the mosquitto package)"
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
                self._files = setup.write(self._directory, passwords=passwords)
                passwords = self._files.passwords  # the same logins on every attempt
                if await self._start(binary, setup, last=attempt == attempts - 1):
                    return self
        except BaseException:  # cancelled (Ctrl-C) while starting, too: leave nothing behind
            await self.stop()
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def wait(self) -> int:
        """Wait until mosquitto exits (a foreground broker: no bound); its exit code."""
        if self._process is None:
            raise BrokerError("the broker is not started")
        return await self._process.wait()

    async def stop(self) -> None:
        """Stop the process by its PID: SIGTERM, a bounded wait, then SIGKILL."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        await stop_processes([process], grace=STOP_TIMEOUT)

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
