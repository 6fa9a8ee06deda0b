"""Who an agent is, and who may speak to it (DESIGN.md, Integrity).

Each agent has a long-term :class:`Identity` (Ed25519 to sign, X25519 to agree);
the runner writes a :class:`Roster` of their public parts into the run directory.
An :class:`Authenticator` seals every envelope an agent sends (an edge MAC, or a
signature for its broadcast key announcement) and verifies every one it receives,
against the roster only: trust comes from the roster, never from the broker.
"""

from ._authenticator import Authenticator, edge_key
from ._errors import AuthenticationError, IdentityError
from ._identity import Identity, PublicIdentity
from ._roster import Roster, new_identities

__all__ = [
    "AuthenticationError",
    "Authenticator",
    "Identity",
    "IdentityError",
    "PublicIdentity",
    "Roster",
    "edge_key",
    "new_identities",
]
