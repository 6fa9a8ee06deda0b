"""The files of a Mosquitto broker: password hashes, what is written where, and how.

The password file holds PBKDF2-SHA512 hashes in Mosquitto's ``$7$`` format;
``credentials.json`` (mode 0600) holds the passwords in the clear for the operator
to hand out (a broker whose passwords stay in memory writes none). Every file is
created readable by its owner only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING
from urllib.parse import quote

from .._errors import BrokerError, TransportError
from ._tls import certificates

if TYPE_CHECKING:
    from ._setup import MosquittoSetup

CONFIG = "mosquitto.conf"
PASSWORDS = "passwd"
ACL = "acl"
CREDENTIALS = "credentials.json"
LOG = "mosquitto.log"

HASH_ITERATIONS = 101
"""PBKDF2 rounds of ``mosquitto_passwd`` 2.0 (the passwords are 256 random bits, so
more rounds would only cost the broker time at each connect)."""
SALT_BYTES = 12
PASSWORD_BYTES = 32


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


def write_files(
    setup: MosquittoSetup,
    directory: Path,
    *,
    passwords: Mapping[str, str] | None = None,
    mounted_at: PurePath | None = None,
    credentials: bool = True,
) -> MosquittoFiles:
    """Write ``setup``'s config, password file, ACL and ``credentials.json`` (unless
    ``credentials`` is false) into ``directory`` (see :meth:`MosquittoSetup.write`)."""
    if passwords is None:
        passwords = {a: secrets.token_urlsafe(PASSWORD_BYTES) for a in setup.accounts}
    missing = [a for a in setup.accounts if not passwords.get(a)]
    if missing:
        raise TransportError(f"no password given for {', '.join(missing)}")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory = directory.resolve()
        seen = mounted_at if mounted_at is not None else directory
        ca_file = certificates(directory, setup.advertised_host) if setup.tls else None
        _write_private(
            directory / PASSWORDS,
            "".join(f"{a}:{hash_password(passwords[a])}\n" for a in setup.accounts),
        )
        _write_private(directory / ACL, setup.acl())
        _write_private(directory / CONFIG, setup.config(seen))
        files = MosquittoFiles(
            directory=directory,
            config=directory / CONFIG,
            password_file=directory / PASSWORDS,
            acl_file=directory / ACL,
            credentials_file=directory / CREDENTIALS,
            log_file=directory / LOG,
            ca_file=ca_file,
            passwords={a: passwords[a] for a in setup.accounts},
        )
        if credentials:
            _write_private(directory / CREDENTIALS, _credentials(setup, files))
    except OSError as exc:
        raise BrokerError(f"cannot write the Mosquitto files in {directory}: {exc}") from exc
    return files


def _credentials(setup: MosquittoSetup, files: MosquittoFiles) -> str:
    host = setup.advertised_host
    netloc = f"[{host}]" if ":" in host else host
    scheme = "mqtts" if setup.tls else "mqtt"
    users = {}
    for account in setup.accounts:
        secret = files.passwords[account]
        users[account] = {
            "password": secret,
            "url": f"{scheme}://{account}:{quote(secret, safe='')}@{netloc}:{setup.port}",
            "rights": "agent" if account in setup.neighbours else setup.users[account].value,
        }
    doc = {
        "runs": list(setup.runs),
        "host": host,
        "port": setup.port,
        "tls": setup.tls,
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
