"""Forged, altered, replayed-with-changes, cross-edge and cross-run envelopes (issue 13):
each dropped with a log line naming the reason, and the honest agents' trajectories
bit-identical to the unattacked run with the same seed (the in-memory bus makes this
exact). Integrity comes from the roster, never from the transport."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

from agents import (
    Agent,
    AgentReport,
    Checkpoint,
    CheckpointError,
    Identity,
    IdentityError,
    Roster,
    new_identities,
)
from agents.identity import Authenticator
from transport import Envelope, Kind, MemoryBus, encode

from .agent_support import (
    RUN_BOUND,
    configs,
    problems,
    ring,
    run_one,
    trajectories,
    unique_run,
)
from .forgeries import (
    NEIGHBOUR,
    STRANGER,
    VICTIM,
    altered_fields,
    crafted_replies,
    cross_run,
    forged,
    forged_states,
    once_per_iteration,
    rewritten_replies,
    run_authenticated,
)


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
    # under the victim's public key, by a non-neighbour holding an identity of the run
    reports, injected = asyncio.run(
        run_authenticated(
            cfgs, tmp_path, make_attack=lambda ids, roster: crafted_replies(ids[STRANGER], roster)
        )
    )
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


def test_an_agent_without_identity_is_refused_unless_explicitly_unauthenticated() -> None:
    """No one can speak for an agent built as the runners build it: one without an
    identity and a roster (it would seal nothing and take anyone's word) must say so."""
    cfgs = configs(unique_run(), ring(), "clear")
    cfg = cfgs[VICTIM]
    roster, identities = new_identities(cfg.run, cfgs)
    objective = problems(cfgs)[VICTIM]
    bus = MemoryBus(cfg.run)
    endpoint = bus.endpoint(VICTIM, neighbours=cfg.neighbours)
    with pytest.raises(IdentityError, match="no identity and no roster"):
        Agent(cfg, objective, endpoint)
    with pytest.raises(IdentityError, match="unauthenticated, yet given"):
        Agent(
            cfg, objective, endpoint, identity=identities[VICTIM], roster=roster,
            unauthenticated=True,
        )  # fmt: skip
    assert Agent(cfg, objective, endpoint, unauthenticated=True).config is cfg


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
