"""End-to-end envelope authentication (DESIGN.md, Integrity).

Every envelope between two neighbours carries an HMAC-SHA256 tag over
:func:`transport.signed_bytes` (every header field and the payload) under a
*directed* edge key: HKDF-SHA256 over the X25519 secret the two agents share, bound
to a protocol label, the run id and the ordered edge (sender -> receiver). The
reverse direction, another edge and another run all have other keys, so a tag
moved to another envelope, edge or run does not verify. Broadcast key
announcements (retained, read by every neighbour) cannot use an edge key: they are
signed with the sender's Ed25519 key, the Paillier key and its fixed base inside
the signed bytes. Verbatim replays verify; the agent drops them as duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import msgpack
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from transport import BROADCAST, Envelope, Kind, signed_bytes

from ._errors import AuthenticationError
from ._identity import Identity, PublicIdentity
from ._roster import Roster

EDGE_LABEL = b"hemesh edge mac/1"
"""HKDF ``info`` prefix of every edge key."""
KEY_LABEL = b"hemesh key announcement/1\x00"
"""Prefix of the bytes a key announcement's signature covers."""
MAC_BYTES = 32


def edge_key(
    identity: Identity, peer: PublicIdentity, *, run: str, sender: str, receiver: str
) -> bytes:
    """The MAC key of the directed edge sender -> receiver of ``run``, as either end
    derives it (``identity`` is one end's secret, ``peer`` the other's public part)."""
    secret = identity.agree(peer)
    info = EDGE_LABEL + msgpack.packb([run, sender, receiver], use_bin_type=True)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


class Authenticator:
    """Seals what one agent sends and verifies what it receives, against the roster."""

    def __init__(
        self, identity: Identity, roster: Roster, *, agent: str, run: str, neighbours: Iterable[str]
    ) -> None:
        neighbours = sorted(neighbours)
        roster.check(run=run, agent=agent, identity=identity, neighbours=neighbours)
        self._identity = identity
        self._roster = roster
        self._agent = agent
        self._run = run
        self._out: dict[str, bytes] = {}
        self._in: dict[str, bytes] = {}
        for n in neighbours:
            peer = roster.public(n)
            self._out[n] = edge_key(identity, peer, run=run, sender=agent, receiver=n)
            self._in[n] = edge_key(identity, peer, run=run, sender=n, receiver=agent)

    @property
    def identity(self) -> Identity:
        return self._identity

    def seal(self, envelope: Envelope) -> Envelope:
        """``envelope`` with its tag: a signature for a broadcast key announcement, else
        the MAC of its edge."""
        if envelope.sender != self._agent:
            raise AuthenticationError(f"cannot seal an envelope from {envelope.sender!r}")
        data = signed_bytes(envelope)
        if envelope.receiver == BROADCAST:
            if envelope.kind is not Kind.KEY:
                raise AuthenticationError(
                    f"only key announcements are broadcast, not {envelope.kind}"
                )
            tag = self._identity.sign(KEY_LABEL + data)
        else:
            key = self._out.get(envelope.receiver)
            if key is None:
                raise AuthenticationError(f"no edge to {envelope.receiver!r}")
            tag = hmac.digest(key, data, hashlib.sha256)
        return envelope.with_auth(tag)

    def verify(self, envelope: Envelope) -> None:
        """Raise :class:`AuthenticationError` naming the reason unless ``envelope`` was
        sealed by its sender for this agent in this run."""
        sender = envelope.sender
        if envelope.run != self._run:
            raise AuthenticationError(
                f"cross-run envelope: run {envelope.run!r}, not {self._run!r}"
            )
        if not envelope.auth:
            raise AuthenticationError("no authentication tag")
        if envelope.receiver == BROADCAST:
            if envelope.kind is not Kind.KEY:
                raise AuthenticationError(f"a broadcast {envelope.kind} (only keys are broadcast)")
            if sender not in self._in:
                raise AuthenticationError(f"key announcement of {sender!r}, not a neighbour")
            public = self._roster.public(sender)
            if not public.verify(envelope.auth, KEY_LABEL + signed_bytes(envelope)):
                raise AuthenticationError(
                    f"key announcement signature does not verify against the roster's key of "
                    f"{sender!r}"
                )
            return
        if envelope.receiver != self._agent:
            raise AuthenticationError(f"addressed to {envelope.receiver!r}, not to this agent")
        key = self._in.get(sender)
        if key is None:
            raise AuthenticationError(f"no edge {sender!r} -> {self._agent!r} (not a neighbour)")
        if len(envelope.auth) != MAC_BYTES:
            raise AuthenticationError(f"a tag of {len(envelope.auth)} bytes is not an edge MAC")
        expected = hmac.digest(key, signed_bytes(envelope), hashlib.sha256)
        if not hmac.compare_digest(expected, envelope.auth):
            raise AuthenticationError(
                f"MAC does not verify under the key of edge {sender!r} -> {self._agent!r} "
                "(forged, altered, or sealed for another edge or run)"
            )
