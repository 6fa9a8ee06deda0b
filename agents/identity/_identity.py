"""An agent's long-term identity: an Ed25519 signing key and an X25519 agreement key.

The secret :class:`Identity` is drawn from the operating system's randomness (through
``cryptography``/OpenSSL, never the agent's seeded generator, so authentication
changes no trajectory). Its public half, :class:`PublicIdentity`, is what the roster
lists. An identity file is written like a checkpoint: atomically, mode 0600.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import msgpack
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from ._errors import IdentityError

KEY_BYTES = 32
"""Raw size of every Ed25519 and X25519 key, public or secret."""
SIGNATURE_BYTES = 64
FORMAT = "hemesh-identity/1"


@dataclass(frozen=True, kw_only=True, slots=True)
class PublicIdentity:
    """What the roster lists for one agent: its Ed25519 and X25519 public keys (raw)."""

    signing: bytes
    agreement: bytes

    def __post_init__(self) -> None:
        for name in ("signing", "agreement"):
            value = getattr(self, name)
            if type(value) is not bytes or len(value) != KEY_BYTES:
                shown = len(value) if isinstance(value, bytes) else type(value).__name__
                raise IdentityError(f"{name} key must be {KEY_BYTES} bytes, got {shown}")
        try:
            Ed25519PublicKey.from_public_bytes(self.signing)
            X25519PublicKey.from_public_bytes(self.agreement)
        except ValueError as exc:
            raise IdentityError(f"not a public key: {exc}") from exc

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` is this identity's Ed25519 signature of ``data``."""
        if len(signature) != SIGNATURE_BYTES:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.signing).verify(signature, data)
        except InvalidSignature:
            return False
        return True


class Identity:
    """An agent's secret identity. Compare with ``==``; never printed (its repr hides it)."""

    __slots__ = ("_agreement", "_signing", "public")

    def __init__(self, *, signing: bytes, agreement: bytes) -> None:
        for name, value in (("signing", signing), ("agreement", agreement)):
            if type(value) is not bytes or len(value) != KEY_BYTES:
                raise IdentityError(f"secret {name} key must be {KEY_BYTES} bytes")
        self._signing = Ed25519PrivateKey.from_private_bytes(signing)
        self._agreement = X25519PrivateKey.from_private_bytes(agreement)
        self.public = PublicIdentity(
            signing=self._signing.public_key().public_bytes_raw(),
            agreement=self._agreement.public_key().public_bytes_raw(),
        )

    @classmethod
    def generate(cls) -> Self:
        """A fresh identity from the operating system's randomness."""
        return cls(signing=os.urandom(KEY_BYTES), agreement=os.urandom(KEY_BYTES))

    def __repr__(self) -> str:
        return f"Identity(public signing key {self.public.signing.hex()[:16]}...)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.public)

    def sign(self, data: bytes) -> bytes:
        """An Ed25519 signature of ``data``."""
        return self._signing.sign(data)

    def agree(self, peer: PublicIdentity) -> bytes:
        """The X25519 shared secret with ``peer`` (the same from both ends)."""
        try:
            return self._agreement.exchange(X25519PublicKey.from_public_bytes(peer.agreement))
        except ValueError as exc:  # a low-order point gives the all-zero secret
            raise IdentityError(f"no key agreement with this public key: {exc}") from exc

    def to_bytes(self) -> bytes:
        """The secret keys (msgpack; keep them as secret as the agent itself)."""
        doc = {
            "format": FORMAT,
            "signing": self._signing.private_bytes_raw(),
            "agreement": self._agreement.private_bytes_raw(),
        }
        data: bytes = msgpack.packb(doc, use_bin_type=True)
        return data

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Inverse of :meth:`to_bytes`; :class:`IdentityError` on anything off."""
        try:
            doc = msgpack.unpackb(data, raw=False, max_str_len=64, max_bin_len=64)
        except Exception as exc:  # msgpack raises a zoo of types on garbage
            raise IdentityError(f"not an identity (bad msgpack: {exc})") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise IdentityError(f"not an identity of format {FORMAT!r}")
        if set(doc) != {"format", "signing", "agreement"}:
            raise IdentityError(f"an identity has fields format, signing, agreement: {sorted(doc)}")
        return cls(signing=doc["signing"], agreement=doc["agreement"])

    def save(self, path: Path) -> None:
        """Write atomically, readable by its owner only (mode 0600)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.to_bytes())
                f.flush()
                os.fsync(f.fileno())
            os.replace(scratch, path)
        except BaseException:
            scratch.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read an identity file; the error names the file."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise IdentityError(f"{path}: cannot read identity: {exc.strerror}") from exc
        try:
            return cls.from_bytes(data)
        except IdentityError as exc:
            raise IdentityError(f"{path}: {exc}") from None
