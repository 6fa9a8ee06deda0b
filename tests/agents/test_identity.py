"""Identities, rosters and the envelope seal (agents.identity), unit by unit."""

from __future__ import annotations

import dataclasses
import json
import stat
from pathlib import Path

import pytest

import agents.identity
from agents.identity import (
    AuthenticationError,
    Authenticator,
    Identity,
    IdentityError,
    PublicIdentity,
    Roster,
    edge_key,
    new_identities,
)
from transport import BROADCAST, Envelope, Kind

IDS = ["a0", "a1", "a2"]


@pytest.fixture(scope="module")
def world() -> tuple[Roster, dict[str, Identity]]:
    return new_identities("run1", IDS)


def test_the_face_is_exactly_these_names() -> None:
    assert sorted(agents.identity.__all__) == sorted(
        [
            "AuthenticationError",
            "Authenticator",
            "Identity",
            "IdentityError",
            "PublicIdentity",
            "Roster",
            "edge_key",
            "new_identities",
        ]
    )
    for name in agents.identity.__all__:
        assert getattr(agents, name, None) is getattr(agents.identity, name) or name == "edge_key"


def test_identity_round_trips_and_is_fresh_each_time(tmp_path: Path) -> None:
    one, two = Identity.generate(), Identity.generate()
    assert one != two and one.public != two.public
    assert Identity.from_bytes(one.to_bytes()) == one
    path = tmp_path / "ids" / "a0.key"
    one.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Identity.load(path) == one
    assert one.to_bytes().hex() not in repr(one)


@pytest.mark.parametrize("data", [b"", b"junk", b"\x81\xa6format\xa1x"])
def test_bad_identity_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(IdentityError, match="not an identity"):
        Identity.from_bytes(data)


def test_identity_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(IdentityError, match=r"missing\.key: cannot read identity"):
        Identity.load(tmp_path / "missing.key")


def test_roster_round_trips_through_json(world: tuple[Roster, dict[str, Identity]]) -> None:
    roster, identities = world
    again = Roster.from_json(roster.to_json())
    assert again == roster
    assert again.public("a1") == identities["a1"].public
    assert "secret" not in roster.to_json()
    for identity in identities.values():  # public parts only
        assert identity.to_bytes()[-32:].hex() not in roster.to_json()


def _doc(roster: Roster) -> dict[str, object]:
    doc: dict[str, object] = json.loads(roster.to_json())
    return doc


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(format="x"), "not a roster of format"),
        (lambda d: d.update(run="r/1"), "roster run id"),
        (lambda d: d.update(run=5), "run id must be a string"),
        (lambda d: d["agents"].update({"a+": d["agents"]["a0"]}), "roster agent id"),
        (lambda d: d["agents"]["a0"].update(signing="00" * 31), "must be 32 bytes"),
        (lambda d: d["agents"]["a0"].update(agreement="zz" * 32), "must be hex"),
        (lambda d: d["agents"]["a0"].update(extra=1), "must hold signing and agreement"),
        (lambda d: d["agents"].update(a1=d["agents"]["a0"]), "share a key"),
        (lambda d: d.update(agents={}), "at least one agent"),
    ],
)
def test_bad_rosters_are_refused(
    world: tuple[Roster, dict[str, Identity]], change: object, match: str
) -> None:
    doc = _doc(world[0])
    change(doc)  # type: ignore[operator]
    with pytest.raises(IdentityError, match=match):
        Roster.from_json(json.dumps(doc))


def test_roster_check_refuses_every_mismatch(world: tuple[Roster, dict[str, Identity]]) -> None:
    roster, identities = world
    roster.check(run="run1", agent="a0", identity=identities["a0"], neighbours=["a1"])
    with pytest.raises(IdentityError, match="roster is of run 'run1'"):
        roster.check(run="run2", agent="a0", identity=identities["a0"], neighbours=["a1"])
    with pytest.raises(IdentityError, match="another key for 'a0'"):
        roster.check(run="run1", agent="a0", identity=identities["a1"], neighbours=["a1"])
    with pytest.raises(IdentityError, match="'a9' is not in the roster"):
        roster.check(run="run1", agent="a9", identity=identities["a0"], neighbours=["a1"])
    with pytest.raises(IdentityError, match=r"neighbours \['a7'\] are not in the roster"):
        roster.check(run="run1", agent="a0", identity=identities["a0"], neighbours=["a7"])


def test_edge_keys_are_directed_and_bound_to_the_run(
    world: tuple[Roster, dict[str, Identity]],
) -> None:
    _, ids = world
    a0, a1 = ids["a0"], ids["a1"]
    forward = edge_key(a0, a1.public, run="run1", sender="a0", receiver="a1")
    assert forward == edge_key(a1, a0.public, run="run1", sender="a0", receiver="a1")
    assert forward != edge_key(a0, a1.public, run="run1", sender="a1", receiver="a0")
    assert forward != edge_key(a0, a1.public, run="run2", sender="a0", receiver="a1")
    assert forward != edge_key(a0, ids["a2"].public, run="run1", sender="a0", receiver="a1")
    assert len(forward) == 32


def _pair(world: tuple[Roster, dict[str, Identity]]) -> tuple[Authenticator, Authenticator]:
    roster, ids = world
    a0 = Authenticator(ids["a0"], roster, agent="a0", run="run1", neighbours=["a1"])
    a1 = Authenticator(ids["a1"], roster, agent="a1", run="run1", neighbours=["a0", "a2"])
    return a0, a1


def _request() -> Envelope:
    return Envelope(
        run="run1", iteration=3, sender="a0", receiver="a1", kind=Kind.REQUEST, payload={"c": b"1"}
    )


def test_a_sealed_envelope_verifies_and_every_alteration_does_not(
    world: tuple[Roster, dict[str, Identity]],
) -> None:
    a0, a1 = _pair(world)
    sealed = a0.seal(_request())
    assert len(sealed.auth) == 32
    a1.verify(sealed)
    for change in (
        {"iteration": 4},
        {"kind": Kind.REPLY},
        {"payload": {"c": b"2"}},
        {"payload": {"c": b"1", "d": b""}},
        {"auth": bytes(32)},
    ):
        with pytest.raises(AuthenticationError, match="MAC does not verify"):
            a1.verify(dataclasses.replace(sealed, **change))
    with pytest.raises(AuthenticationError, match="no authentication tag"):
        a1.verify(dataclasses.replace(sealed, auth=b""))
    with pytest.raises(AuthenticationError, match="cross-run"):
        a1.verify(dataclasses.replace(sealed, run="run2"))
    with pytest.raises(AuthenticationError, match="not to this agent"):
        a1.verify(dataclasses.replace(sealed, receiver="a2"))
    with pytest.raises(AuthenticationError, match="not a neighbour"):
        a0.verify(dataclasses.replace(sealed, sender="a2", receiver="a0"))
    # a2 is a1's neighbour: the tag a0 made does not verify as a2's
    with pytest.raises(AuthenticationError, match="edge 'a2' -> 'a1'"):
        a1.verify(dataclasses.replace(sealed, sender="a2"))


def test_key_announcements_are_signed_against_the_roster(
    world: tuple[Roster, dict[str, Identity]],
) -> None:
    _, ids = world
    a0, a1 = _pair(world)
    key = Envelope(
        run="run1",
        iteration=0,
        sender="a0",
        receiver=BROADCAST,
        kind=Kind.KEY,
        payload={"n": b"\x05" * 8, "h": b"\x07" * 16},
    )
    sealed = a0.seal(key)
    assert len(sealed.auth) == 64
    a1.verify(sealed)
    for payload in ({"n": b"\x05" * 8, "h": b"\x08" * 16}, {"n": b"\x06"}):
        with pytest.raises(AuthenticationError, match="signature does not verify"):
            a1.verify(dataclasses.replace(sealed, payload=payload))
    # signed by a2 (a1's neighbour), claimed as a0's
    forged = dataclasses.replace(key, auth=ids["a2"].sign(b"anything"))
    with pytest.raises(AuthenticationError, match="signature does not verify"):
        a1.verify(forged)
    with pytest.raises(AuthenticationError, match="only key announcements are broadcast"):
        a0.seal(dataclasses.replace(key, kind=Kind.BYE))


def test_an_authenticator_refuses_a_roster_that_does_not_fit(
    world: tuple[Roster, dict[str, Identity]],
) -> None:
    roster, ids = world
    with pytest.raises(IdentityError, match="another key"):
        Authenticator(ids["a1"], roster, agent="a0", run="run1", neighbours=["a1"])
    with pytest.raises(IdentityError, match="roster is of run"):
        Authenticator(ids["a0"], roster, agent="a0", run="other", neighbours=["a1"])


def test_public_identity_validates_its_keys() -> None:
    with pytest.raises(IdentityError, match="32 bytes"):
        PublicIdentity(signing=b"x", agreement=bytes(32))
