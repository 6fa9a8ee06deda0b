"""Who may log in to the embedded broker, and what each login may read and write.

:class:`Access` is plain data shared by the parent (which builds it from a
:class:`~transport.mosquitto.MosquittoSetup` and fresh passwords) and the broker
process (which gets it as JSON on its stdin and checks every CONNECT, PUBLISH and
delivery against it). The rules are read from the very ACL text the setup writes
for Mosquitto (:meth:`MosquittoSetup.acl`), so both brokers enforce one ACL: an
agent writes only its edges' inbox topics, its key and its status, and reads only
its own inbox and its neighbours' key and status topics.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._errors import BrokerError, TransportError
from .._topics import topic_matches

if TYPE_CHECKING:
    from ..mosquitto import MosquittoSetup

PASSWORD_BYTES = 32
"""256 random bits per password (as for Mosquitto's generated logins)."""

MAX_ACCESS_BYTES = 8 * 1024 * 1024
"""Upper bound on the JSON the broker process accepts on its stdin."""

_READ = "read"
_WRITE = "write"
_RIGHTS = {"read": (_READ,), "write": (_WRITE,), "readwrite": (_READ, _WRITE)}


def fresh_passwords(logins: tuple[str, ...]) -> dict[str, str]:
    """A new 256-bit password per login, from :mod:`secrets` (kept in memory only)."""
    return {login: secrets.token_urlsafe(PASSWORD_BYTES) for login in logins}


def parse_acl(text: str) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """The read and write filters per user of a Mosquitto ACL as
    :meth:`MosquittoSetup.acl` writes it: ``user NAME`` sections of
    ``topic read|write|readwrite FILTER`` lines. Anything else (patterns, rules
    before the first ``user``, ``deny``) is refused rather than guessed at."""
    reads: dict[str, list[str]] = {}
    writes: dict[str, list[str]] = {}
    user: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if words[0] == "user" and len(words) == 2:
            user = words[1]
            reads.setdefault(user, [])
            writes.setdefault(user, [])
            continue
        if words[0] == "topic" and len(words) == 3 and words[1] in _RIGHTS and user is not None:
            for right in _RIGHTS[words[1]]:
                (reads if right == _READ else writes)[user].append(words[2])
            continue
        raise TransportError(f"ACL line {number} is not understood by the embedded broker: {raw!r}")
    return (
        {u: tuple(f) for u, f in reads.items()},
        {u: tuple(f) for u, f in writes.items()},
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Access:
    """The logins (name to password) and each login's read and write filters.

    A login without filters may connect and do nothing else (an observer). The
    password never appears in ``repr``.
    """

    passwords: Mapping[str, str] = field(repr=False)
    reads: Mapping[str, tuple[str, ...]]
    writes: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        for name in ("passwords", "reads", "writes"):
            if not isinstance(getattr(self, name), Mapping):
                raise TransportError(f"access {name} must be a mapping")
        if not self.passwords:
            raise TransportError("access needs at least one login")
        for login, password in self.passwords.items():
            if not isinstance(login, str) or not login:
                raise TransportError(f"a login must be a non-empty string, got {login!r}")
            if not isinstance(password, str) or not password:
                raise TransportError(f"login {login!r} needs a non-empty password")
        for name in ("reads", "writes"):
            rules: dict[str, tuple[str, ...]] = {}
            for login, filters in getattr(self, name).items():
                if login not in self.passwords:
                    raise TransportError(f"access {name} names {login!r}, which is not a login")
                if isinstance(filters, str) or not all(isinstance(f, str) and f for f in filters):
                    raise TransportError(f"{name} of {login!r} must be topic filters")
                rules[login] = tuple(filters)
            object.__setattr__(self, name, rules)
        object.__setattr__(self, "passwords", dict(self.passwords))

    @classmethod
    def from_setup(cls, setup: MosquittoSetup, passwords: Mapping[str, str]) -> Access:
        """The logins of ``setup`` (agents and extra users) with ``passwords``, and the
        rules of the ACL that ``setup`` writes for Mosquitto."""
        missing = [a for a in setup.accounts if not passwords.get(a)]
        if missing:
            raise TransportError(f"no password given for {', '.join(missing)}")
        reads, writes = parse_acl(setup.acl())
        return cls(
            passwords={a: passwords[a] for a in setup.accounts},
            reads={a: reads.get(a, ()) for a in setup.accounts},
            writes={a: writes.get(a, ()) for a in setup.accounts},
        )

    @property
    def logins(self) -> tuple[str, ...]:
        return tuple(self.passwords)

    def admits(self, login: str | None, password: str | None) -> bool:
        """Whether ``login`` exists and ``password`` is its password (constant time)."""
        expected = self.passwords.get(login) if login is not None else None
        if expected is None or password is None:
            return False
        return hmac.compare_digest(expected.encode("utf-8"), password.encode("utf-8"))

    def may_write(self, login: str | None, topic: str) -> bool:
        """Whether ``login`` may publish to ``topic`` (a topic name, not a filter)."""
        rules = self.writes.get(login, ()) if login is not None else ()
        return any(topic_matches(rule, topic) for rule in rules)

    def may_read(self, login: str | None, topic: str) -> bool:
        """Whether a message on ``topic`` may be delivered to ``login``."""
        rules = self.reads.get(login, ()) if login is not None else ()
        return any(topic_matches(rule, topic) for rule in rules)

    def to_json(self) -> bytes:
        """One line of JSON (what the parent writes to the broker process's stdin)."""
        doc = {
            "passwords": dict(self.passwords),
            "reads": {u: list(f) for u, f in self.reads.items()},
            "writes": {u: list(f) for u, f in self.writes.items()},
        }
        return json.dumps(doc, separators=(",", ":")).encode("utf-8") + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> Access:
        """Read :meth:`to_json`'s line back; anything else is a :class:`BrokerError`."""
        if len(data) > MAX_ACCESS_BYTES:
            raise BrokerError(f"access document larger than {MAX_ACCESS_BYTES} bytes")
        try:
            doc = json.loads(data)
        except ValueError:
            raise BrokerError("the access document is not JSON") from None
        if not isinstance(doc, dict) or set(doc) != {"passwords", "reads", "writes"}:
            raise BrokerError("the access document must hold passwords, reads and writes")
        try:
            return cls(passwords=doc["passwords"], reads=doc["reads"], writes=doc["writes"])
        except (TransportError, TypeError) as exc:  # no password is quoted in these
            raise BrokerError(f"bad access document: {exc}") from None
