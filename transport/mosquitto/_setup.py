"""What a locked-down Mosquitto allows (DESIGN.md, Transport): per-agent logins and an ACL.

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

Passwords are 256 random bits from :mod:`secrets`; ``_files`` says how they are stored.
"""

from __future__ import annotations

import os
import pwd
import socket
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePath

from .._envelope import MAX_ENVELOPE_BYTES, validate_id
from .._errors import TransportError
from .._topics import Topics
from .._values import validate_host, validate_port
from ..mqtt import BrokerAddress
from ._files import ACL, LOG, PASSWORDS, MosquittoFiles, write_files
from ._tls import SERVER_CERT, SERVER_KEY

MAX_QUEUED_MESSAGES = 100_000
"""Per client; Mosquitto's default (1000) drops QoS 1 messages of a busy agent."""
MAX_PACKET_BYTES = MAX_ENVELOPE_BYTES + 4096
"""The largest envelope plus room for the topic and the MQTT header."""

WILDCARD_HOSTS = ("0.0.0.0", "::")


class BrokerRights(StrEnum):
    """What an extra (non-agent) account may do on the run's topics."""

    NONE = "none"
    """Log in, nothing else: an observer that must receive nothing."""
    STATUS = "status"
    """Read every agent's status topic (a supervisor watching who is online)."""
    READ = "read"
    """Read every topic of the run, write none: what the broker itself, or a capture of
    its traffic, sees (an eavesdropper at the broker's vantage point)."""
    ALL = "all"
    """Read and write everything of the run (an operator or test harness; it sees the
    ciphertexts, so it is as trusted as the broker itself)."""


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
        validate_host(self.host, what="bind host")
        validate_port(self.port, what="port", zero_ok=True)
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
        if self.host in WILDCARD_HOSTS:
            return "::1" if self.host == "::" else "127.0.0.1"
        return self.host

    @property
    def advertised_host(self) -> str:
        """The host other machines are told (this machine's name for a wildcard bind)."""
        return socket.gethostname() if self.host in WILDCARD_HOSTS else self.host

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
                elif rights is BrokerRights.READ:
                    lines.append(f"topic read {t.everything}")
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
        credentials: bool = True,
    ) -> MosquittoFiles:
        """Write config, password file, ACL and ``credentials.json`` into ``directory``
        (``credentials = False``: no ``credentials.json``, the passwords stay in the
        returned value only).

        Fresh passwords are drawn for every account unless ``passwords`` gives them
        all. ``mounted_at`` is where mosquitto will find the directory (a container's
        mount point); by default the directory itself. With ``tls`` a throw-away CA
        and a server certificate for ``host`` (and localhost) are generated too.
        """
        return write_files(
            self, directory, passwords=passwords, mounted_at=mounted_at, credentials=credentials
        )

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
