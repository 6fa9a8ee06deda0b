"""The roster: which public identity each agent of one run has.

The runner writes it into the run directory (``roster.json``, public parts only);
every agent reads it and trusts nothing else: an envelope's tag verifies against the
roster's keys, never against what the broker says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

from transport import EnvelopeError, validate_id

from ._errors import IdentityError
from ._identity import Identity, PublicIdentity

FORMAT = "hemesh-roster/1"


@dataclass(frozen=True, kw_only=True, slots=True)
class Roster:
    """Run id and agent id -> public identity, validated on construction."""

    run: str
    members: Mapping[str, PublicIdentity]

    def __post_init__(self) -> None:
        try:
            validate_id(self.run, what="roster run id")
            for agent in self.members:
                validate_id(agent, what="roster agent id")
        except EnvelopeError as exc:
            raise IdentityError(str(exc)) from exc
        if not self.members:
            raise IdentityError("a roster lists at least one agent")
        for agent, public in self.members.items():
            if not isinstance(public, PublicIdentity):
                raise IdentityError(f"roster entry {agent!r} is not a public identity")
        seen: dict[bytes, str] = {}
        for agent, public in self.members.items():
            for key in (public.signing, public.agreement):
                if key in seen:
                    raise IdentityError(f"agents {seen[key]!r} and {agent!r} share a key")
                seen[key] = agent
        object.__setattr__(self, "members", MappingProxyType(dict(self.members)))

    def __iter__(self) -> Iterator[str]:
        return iter(self.members)

    def __contains__(self, agent: object) -> bool:
        return agent in self.members

    def public(self, agent: str) -> PublicIdentity:
        """The public identity of ``agent``; :class:`IdentityError` if it is not listed."""
        try:
            return self.members[agent]
        except KeyError:
            raise IdentityError(
                f"agent {agent!r} is not in the roster of run {self.run!r}"
            ) from None

    def check(self, *, run: str, agent: str, identity: Identity, neighbours: Iterable[str]) -> None:
        """Refuse a roster that does not fit: another run, ``agent`` missing or listed with
        another key than its own ``identity``, a neighbour missing."""
        if run != self.run:
            raise IdentityError(f"the roster is of run {self.run!r}, this agent's run is {run!r}")
        if self.public(agent) != identity.public:
            raise IdentityError(f"the roster lists another key for {agent!r} than its own identity")
        missing = sorted(n for n in neighbours if n not in self.members)
        if missing:
            raise IdentityError(f"neighbours {missing} are not in the roster of run {self.run!r}")

    def to_json(self) -> str:
        doc = {
            "format": FORMAT,
            "run": self.run,
            "agents": {
                agent: {"signing": p.signing.hex(), "agreement": p.agreement.hex()}
                for agent, p in sorted(self.members.items())
            },
        }
        return json.dumps(doc, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Inverse of :meth:`to_json`; :class:`IdentityError` on anything off."""
        try:
            doc: Any = json.loads(text)
        except ValueError as exc:
            raise IdentityError(f"not a roster (bad JSON: {exc})") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise IdentityError(f"not a roster of format {FORMAT!r}")
        agents = doc.get("agents")
        if not isinstance(agents, dict):
            raise IdentityError("a roster's 'agents' must be a mapping")
        members = {}
        for agent, entry in agents.items():
            if not isinstance(entry, dict) or set(entry) != {"signing", "agreement"}:
                raise IdentityError(f"roster entry {agent!r} must hold signing and agreement")
            try:
                members[agent] = PublicIdentity(
                    signing=bytes.fromhex(entry["signing"]),
                    agreement=bytes.fromhex(entry["agreement"]),
                )
            except (TypeError, ValueError) as exc:
                raise IdentityError(f"roster entry {agent!r}: keys must be hex: {exc}") from exc
            except IdentityError as exc:
                raise IdentityError(f"roster entry {agent!r}: {exc}") from None
        run = doc.get("run")
        if not isinstance(run, str):
            raise IdentityError(f"a roster's run id must be a string, got {run!r}")
        return cls(run=run, members=members)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read a roster file; the error names the file."""
        try:
            text = path.read_text()
        except OSError as exc:
            raise IdentityError(f"{path}: cannot read roster: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise IdentityError(f"{path}: not a roster (not text)") from exc
        try:
            return cls.from_json(text)
        except IdentityError as exc:
            raise IdentityError(f"{path}: {exc}") from None


def new_identities(run: str, agents: Iterable[str]) -> tuple[Roster, dict[str, Identity]]:
    """A fresh identity for each agent of ``run`` and the roster of their public parts."""
    identities = {agent: Identity.generate() for agent in agents}
    roster = Roster(run=run, members={a: i.public for a, i in identities.items()})
    return roster, identities
