"""Forged, altered, replayed-with-changes, cross-edge and cross-run envelopes (issue 13):
each dropped with a log line naming the reason, and the honest agents' trajectories
bit-identical to the unattacked run with the same seed (the in-memory bus makes this
exact). Integrity comes from the roster, never from the transport."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest

from agents import (
    Agent,
    AgentConfig,
    AgentReport,
    Checkpoint,
    CheckpointError,
    Identity,
    IdentityError,
    Roster,
    new_identities,
)
from agents.identity import Authenticator, edge_key
from transport import Envelope, Kind, MemoryBus, decode, encode, pack_floats, signed_bytes

from .agent_support import (
    RUN_BOUND,
    configs,
    problems,
    ring,
    run_one,
    trajectories,
    unique_run,
)

VICTIM, NEIGHBOUR, OTHER_NEIGHBOUR, STRANGER = "a0", "a1", "a3", "a2"
"""In ring(4): a0's neighbours are a1 and a3; a2 is not one of them."""

Attack = Callable[[MemoryBus, str, Envelope], list[tuple[str, bytes]]]
"""Given a genuine message (topic, envelope): the raw messages to inject before it."""


async def run_authenticated(
    cfgs: Mapping[str, AgentConfig],
    journal_dir: Path,
    *,
    attack: Attack | None = None,
    authenticate: bool = True,
) -> tuple[dict[str, AgentReport], list[str]]:
    """Run the ring with identities and the roster; ``attack`` sees every genuine message
    first and injects its forgeries ahead of it. Returns the reports and what was injected."""
    run = next(iter(cfgs.values())).run
    bus = MemoryBus(run)
    roster, identities = new_identities(run, cfgs)
    injected: list[str] = []
    if attack is not None:
        bus.subscribe(bus.topics.everything, attacker(bus, attack, injected))
    objectives = problems(cfgs)
    agents = {
        a: Agent(
            c,
            objectives[a],
            bus.endpoint(a, neighbours=c.neighbours),
            journal=journal_dir / f"{a}.jsonl",
            identity=identities[a] if authenticate else None,
            roster=roster if authenticate else None,
        )
        for a, c in cfgs.items()
    }
    async with asyncio.timeout(RUN_BOUND), asyncio.TaskGroup() as group:
        tasks = {a: group.create_task(run_one(agent)) for a, agent in agents.items()}
    return {a: t.result() for a, t in tasks.items()}, injected


def attacker(bus: MemoryBus, attack: Attack, injected: list[str]) -> Callable[[str, bytes], None]:
    """A bus listener that runs ``attack`` on every genuine message (not on its own)."""
    forging: list[bool] = []

    def listener(topic: str, data: bytes) -> None:
        if forging or "/status/" in topic:
            return
        forging.append(True)
        try:
            for forged_topic, raw in attack(bus, topic, decode(data)):
                injected.append(forged_topic)
                bus.inject(forged_topic, raw)
        finally:
            forging.clear()

    return listener


def once_per_iteration(make: Attack) -> Attack:
    """Run ``make`` on the first genuine message of each iteration from the victim."""
    seen: set[int] = set()

    def attack(bus: MemoryBus, topic: str, envelope: Envelope) -> list[tuple[str, bytes]]:
        if envelope.sender != VICTIM or envelope.kind is Kind.KEY:
            return []
        if envelope.iteration in seen:
            return []
        seen.add(envelope.iteration)
        return make(bus, topic, envelope)

    return attack


def forged(bus: MemoryBus, envelope: Envelope) -> tuple[str, bytes]:
    return bus.topics.inbox(envelope.receiver, envelope.sender), encode(envelope)


def forged_states(bus: MemoryBus, topic: str, genuine: Envelope) -> list[tuple[str, bytes]]:
    """A neighbour's state for the victim's next iteration, before the real one: untagged,
    and with a made-up tag."""
    state = Envelope(
        run=bus.run,
        iteration=genuine.iteration + 1,
        sender=NEIGHBOUR,
        receiver=VICTIM,
        kind=Kind.STATE,
        payload={"x": pack_floats(np.full(3, 1e3))},
    )
    return [forged(bus, state), forged(bus, dataclasses.replace(state, auth=bytes(32)))]


def rewritten_replies() -> Attack:
    """A neighbour's captured reply to the victim, re-sent with its iteration rewritten to
    the victim's next request, ahead of the neighbour's genuine reply."""
    captured: dict[str, Envelope] = {}

    def attack(bus: MemoryBus, topic: str, genuine: Envelope) -> list[tuple[str, bytes]]:
        if genuine.kind is Kind.REPLY and genuine.receiver == VICTIM:
            captured[genuine.sender] = genuine
            return []
        old = captured.get(genuine.receiver)
        if genuine.kind is not Kind.REQUEST or genuine.sender != VICTIM or old is None:
            return []
        return [forged(bus, dataclasses.replace(old, iteration=genuine.iteration))]

    return attack


def crafted_replies(stranger: Identity, roster: Roster) -> Attack:
    """Replies crafted under the victim's public key by a non-neighbour (it holds an
    identity of the run): as itself, and claiming to be a neighbour with a tag under its
    own key agreement with the victim."""

    def attack(bus: MemoryBus, topic: str, genuine: Envelope) -> list[tuple[str, bytes]]:
        if genuine.kind is not Kind.REQUEST or genuine.sender != VICTIM:
            return []
        if genuine.receiver != NEIGHBOUR:
            return []
        reply = dict(genuine.payload)  # ciphertexts in range under the victim's key
        key = edge_key(
            stranger, roster.public(VICTIM), run=bus.run, sender=STRANGER, receiver=VICTIM
        )
        out = []
        for sender in (STRANGER, NEIGHBOUR):
            envelope = Envelope(
                run=bus.run,
                iteration=genuine.iteration,
                sender=sender,
                receiver=VICTIM,
                kind=Kind.REPLY,
                payload=reply,
            )
            tag = hmac.digest(key, signed_bytes(envelope), hashlib.sha256)
            out.append(forged(bus, dataclasses.replace(envelope, auth=tag)))
        return out

    return attack


def altered_fields() -> Attack:
    """A neighbour's genuine envelope to the victim with one header field or the payload
    altered (the tag kept), and a genuine envelope of another edge re-addressed."""

    def attack(bus: MemoryBus, topic: str, genuine: Envelope) -> list[tuple[str, bytes]]:
        if genuine.kind is not Kind.REQUEST:
            return []
        if genuine.receiver == VICTIM and genuine.sender == NEIGHBOUR:
            first = next(iter(genuine.payload))
            blob = genuine.payload[first]
            flipped = bytes([blob[0] ^ 1]) + blob[1:]
            return [
                forged(bus, dataclasses.replace(genuine, iteration=genuine.iteration + 1)),
                forged(bus, dataclasses.replace(genuine, kind=Kind.REPLY)),
                forged(bus, dataclasses.replace(genuine, sender=OTHER_NEIGHBOUR)),
                forged(
                    bus, dataclasses.replace(genuine, payload={**genuine.payload, first: flipped})
                ),
            ]
        if genuine.sender == NEIGHBOUR and genuine.receiver == STRANGER:  # another edge
            return [forged(bus, dataclasses.replace(genuine, receiver=VICTIM))]
        return []

    return attack


def cross_run(other: Authenticator) -> Attack:
    """An envelope sealed by the neighbour in another run, its run id rewritten to this one."""

    def attack(bus: MemoryBus, topic: str, genuine: Envelope) -> list[tuple[str, bytes]]:
        if genuine.kind is not Kind.REQUEST or genuine.receiver != VICTIM:
            return []
        if genuine.sender != NEIGHBOUR:
            return []
        theirs = other.seal(dataclasses.replace(genuine, run="other-run", auth=b""))
        return [forged(bus, dataclasses.replace(theirs, run=bus.run))]

    return attack


@pytest.fixture(scope="module")
def unattacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, np.ndarray]]:
    """The unattacked trajectories of each algorithm (seed 1), authenticated."""
    out = {}
    for algorithm in ("plain", "clear", "paillier"):
        directory = tmp_path_factory.mktemp(f"honest-{algorithm}")
        cfgs = configs(unique_run(), ring(), algorithm)
        reports, _ = asyncio.run(run_authenticated(cfgs, directory))
        assert all(r.dropped == 0 for r in reports.values())
        out[algorithm] = trajectories(directory, ring())
    return out


def _check(  # noqa: PLR0917
    caplog: pytest.LogCaptureFixture,
    reports: Mapping[str, AgentReport],
    injected: list[str],
    directory: Path,
    expected: Mapping[str, np.ndarray],
    reasons: list[str],
) -> None:
    assert injected, "the attack never fired"
    got = trajectories(directory, ring())
    for agent in expected:
        np.testing.assert_array_equal(got[agent], expected[agent], err_msg=agent)
    assert sum(r.dropped for r in reports.values()) >= len(injected)
    text = caplog.text
    for reason in reasons:
        assert reason in text, reason
    assert reports[VICTIM].skipped == 0 and reports[VICTIM].jumped == 0


def test_an_unauthenticated_run_matches_the_authenticated_one(
    tmp_path: Path, unattacked: dict[str, dict[str, np.ndarray]]
) -> None:
    """Authentication draws nothing from the agents' seeded generators."""
    from .agent_support import run_ring

    asyncio.run(run_ring(configs(unique_run(), ring(), "paillier"), tmp_path))
    got = trajectories(tmp_path, ring())
    for agent, expected in unattacked["paillier"].items():
        np.testing.assert_array_equal(got[agent], expected, err_msg=agent)


@pytest.mark.parametrize("algorithm", ["plain", "paillier"])
def test_without_authentication_the_attacks_do_change_the_run(
    tmp_path: Path, algorithm: str, unattacked: dict[str, dict[str, np.ndarray]]
) -> None:
    """The control: the same attacks on agents without identities move them (so the
    tests below would see an accepted forgery)."""
    attack = once_per_iteration(forged_states) if algorithm == "plain" else rewritten_replies()
    cfgs = configs(unique_run(), ring(), algorithm, round_timeout=0.5)
    asyncio.run(run_authenticated(cfgs, tmp_path, attack=attack, authenticate=False))
    got = trajectories(tmp_path, ring())
    assert not np.array_equal(got[VICTIM], unattacked[algorithm][VICTIM])


def test_a_forged_state_from_a_neighbour_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, unattacked: dict[str, dict[str, np.ndarray]]
) -> None:
    caplog.set_level(logging.WARNING, logger="hemesh.agent")
    cfgs = configs(unique_run(), ring(), "plain")
    reports, injected = asyncio.run(
        run_authenticated(cfgs, tmp_path, attack=once_per_iteration(forged_states))
    )
    _check(
        caplog,
        reports,
        injected,
        tmp_path,
        unattacked["plain"],
        ["dropped state from a1", "no authentication tag", "MAC does not verify"],
    )
    assert "duplicate" not in caplog.text  # the genuine states were all taken


def test_a_captured_reply_with_its_iteration_rewritten_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, unattacked: dict[str, dict[str, np.ndarray]]
) -> None:
    caplog.set_level(logging.WARNING, logger="hemesh.agent")
    cfgs = configs(unique_run(), ring(), "paillier")
    reports, injected = asyncio.run(run_authenticated(cfgs, tmp_path, attack=rewritten_replies()))
    _check(
        caplog,
        reports,
        injected,
        tmp_path,
        unattacked["paillier"],
        ["dropped reply from a", "MAC does not verify under the key of edge"],
    )


def test_a_reply_crafted_by_a_non_neighbour_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, unattacked: dict[str, dict[str, np.ndarray]]
) -> None:
    caplog.set_level(logging.WARNING, logger="hemesh.agent")
    cfgs = configs(unique_run(), ring(), "paillier")
    run = next(iter(cfgs.values())).run
    # the stranger's identity as the roster of this run lists it: build the run ourselves
    roster, identities = new_identities(run, cfgs)
    attack = crafted_replies(identities[STRANGER], roster)
    bus = MemoryBus(run)
    injected: list[str] = []
    bus.subscribe(bus.topics.everything, attacker(bus, attack, injected))
    objectives = problems(cfgs)
    agents = [
        Agent(
            c,
            objectives[a],
            bus.endpoint(a, neighbours=c.neighbours),
            journal=tmp_path / f"{a}.jsonl",
            identity=identities[a],
            roster=roster,
        )
        for a, c in cfgs.items()
    ]

    async def main() -> dict[str, AgentReport]:
        async with asyncio.timeout(RUN_BOUND), asyncio.TaskGroup() as group:
            tasks = [group.create_task(run_one(agent)) for agent in agents]
        return {t.result().agent_id: t.result() for t in tasks}

    reports = asyncio.run(main())
    _check(
        caplog,
        reports,
        injected,
        tmp_path,
        unattacked["paillier"],
        [
            "no edge 'a2' -> 'a0' (not a neighbour)",
            "MAC does not verify under the key of edge 'a1'",
        ],
    )


def test_an_envelope_with_a_field_altered_or_from_another_edge_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, unattacked: dict[str, dict[str, np.ndarray]]
) -> None:
    caplog.set_level(logging.WARNING, logger="hemesh.agent")
    cfgs = configs(unique_run(), ring(), "clear")
    reports, injected = asyncio.run(run_authenticated(cfgs, tmp_path, attack=altered_fields()))
    _check(
        caplog,
        reports,
        injected,
        tmp_path,
        unattacked["clear"],
        [
            "dropped request from a1",
            "dropped reply from a1",
            "dropped request from a3",
            "MAC does not verify under the key of edge 'a3' -> 'a0'",
        ],
    )


def test_a_cross_run_envelope_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, unattacked: dict[str, dict[str, np.ndarray]]
) -> None:
    caplog.set_level(logging.WARNING, logger="hemesh.agent")
    other_roster, other = new_identities("other-run", ring())
    sealer = Authenticator(
        other[NEIGHBOUR], other_roster, agent=NEIGHBOUR, run="other-run", neighbours=["a0", "a2"]
    )
    cfgs = configs(unique_run(), ring(), "clear")
    reports, injected = asyncio.run(run_authenticated(cfgs, tmp_path, attack=cross_run(sealer)))
    _check(
        caplog,
        reports,
        injected,
        tmp_path,
        unattacked["clear"],
        ["dropped request from a1", "MAC does not verify"],
    )


def test_a_forged_key_announcement_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, unattacked: dict[str, dict[str, np.ndarray]]
) -> None:
    """A key announcement (and its fixed base) not signed by the roster's key of its
    sender is refused: the retained genuine one is what the agents use."""
    caplog.set_level(logging.WARNING, logger="hemesh.agent")
    done: list[bool] = []

    def attack(bus: MemoryBus, topic: str, genuine: Envelope) -> list[tuple[str, bytes]]:
        if genuine.kind is not Kind.KEY or genuine.sender != NEIGHBOUR or done:
            return []
        done.append(True)
        payload = dict(genuine.payload)
        payload["h"] = (2).to_bytes(len(payload["h"]), "big")
        return [(bus.topics.key(NEIGHBOUR), encode(dataclasses.replace(genuine, payload=payload)))]

    cfgs = configs(unique_run(), ring(), "paillier")
    reports, injected = asyncio.run(run_authenticated(cfgs, tmp_path, attack=attack))
    _check(
        caplog,
        reports,
        injected,
        tmp_path,
        unattacked["paillier"],
        ["dropped key from a1", "signature does not verify against the roster's key of 'a1'"],
    )


def test_an_agent_refuses_a_roster_that_does_not_fit() -> None:
    cfgs = configs(unique_run(), ring(), "clear")
    cfg = cfgs[VICTIM]
    roster, identities = new_identities(cfg.run, cfgs)
    objective = problems(cfgs)[VICTIM]
    bus = MemoryBus(cfg.run)

    def agent(identity: Identity | None, roster: Roster | None) -> Agent:
        endpoint = bus.endpoint(VICTIM, neighbours=cfg.neighbours)
        return Agent(cfg, objective, endpoint, identity=identity, roster=roster)

    with pytest.raises(IdentityError, match="another key for 'a0'"):
        agent(identities[NEIGHBOUR], roster)
    other, other_ids = new_identities("another-run", cfgs)
    with pytest.raises(IdentityError, match="roster is of run 'another-run'"):
        agent(other_ids[VICTIM], other)
    partial = Roster(run=cfg.run, members={VICTIM: identities[VICTIM].public})
    with pytest.raises(IdentityError, match=r"neighbours \['a1', 'a3'\] are not in the roster"):
        agent(identities[VICTIM], partial)
    with pytest.raises(IdentityError, match="an identity but no roster"):
        agent(identities[VICTIM], None)


def test_a_verbatim_replay_verifies_and_is_dropped_as_a_duplicate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, unattacked: dict[str, dict[str, np.ndarray]]
) -> None:
    caplog.set_level(logging.WARNING, logger="hemesh.agent")

    def replay(bus: MemoryBus, topic: str, genuine: Envelope) -> list[tuple[str, bytes]]:
        if genuine.receiver != VICTIM or genuine.kind not in (Kind.REQUEST, Kind.REPLY):
            return []
        return [forged(bus, genuine)]  # byte for byte, ahead of... itself: a second copy

    cfgs = configs(unique_run(), ring(), "paillier")
    reports, injected = asyncio.run(run_authenticated(cfgs, tmp_path, attack=replay))
    _check(
        caplog,
        reports,
        injected,
        tmp_path,
        unattacked["paillier"],
        ["duplicate request", "duplicate reply"],
    )
    assert "MAC does not verify" not in caplog.text


def test_a_restarted_agent_is_the_same_agent_its_checkpoint_says(tmp_path: Path) -> None:
    """The identity goes into every checkpoint: resumed without one given, the agent is
    the checkpoint's; given another, it is refused before anything connects."""
    cfgs = configs(unique_run(), ring(), "clear", iterations=3)
    run = next(iter(cfgs.values())).run
    roster, identities = new_identities(run, cfgs)
    objectives = problems(cfgs)
    bus = MemoryBus(run)
    folder = tmp_path / "ckpt"

    def agent(a: str, identity: Identity | None, listed: Roster = roster) -> Agent:
        c = cfgs[a]
        return Agent(
            c,
            objectives[a],
            bus.endpoint(a, neighbours=c.neighbours),
            checkpoint=folder / f"{a}.ckpt",
            identity=identity,
            roster=listed,
        )

    async def whole_run() -> None:
        async with asyncio.timeout(RUN_BOUND), asyncio.TaskGroup() as group:
            for a in cfgs:
                group.create_task(run_one(agent(a, identities[a])))

    asyncio.run(whole_run())
    kept = Checkpoint.load(folder / f"{VICTIM}.ckpt")
    assert kept.identity is not None
    assert Identity.from_bytes(kept.identity) == identities[VICTIM]

    async def enter(candidate: Agent) -> None:
        async with candidate:
            pass

    impostor = Identity.generate()  # listed in a roster, but not the checkpoint's
    members = {**roster.members, VICTIM: impostor.public}
    with pytest.raises(CheckpointError, match="another identity"):
        asyncio.run(enter(agent(VICTIM, impostor, Roster(run=run, members=members))))
    resumed = agent(VICTIM, None)  # the checkpoint's identity, checked against the roster

    async def identity_of(candidate: Agent) -> Identity | None:
        async with candidate:
            return candidate._auth.identity if candidate._auth is not None else None

    assert asyncio.run(identity_of(resumed)) == identities[VICTIM]
