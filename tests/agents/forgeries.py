"""The forgeries of issue 13 (forged, altered, replayed-with-changes, cross-edge and
cross-run envelopes) and the ring they attack, shared by the in-memory and the
real-broker authentication tests."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from agents import (
    Agent,
    AgentConfig,
    AgentReport,
    Identity,
    Roster,
    new_identities,
)
from agents.identity import Authenticator, edge_key
from transport import Endpoint, Envelope, Kind, MemoryBus, decode, encode, pack_floats, signed_bytes

from .agent_support import (
    RUN_BOUND,
    problems,
    run_one,
)

VICTIM, NEIGHBOUR, OTHER_NEIGHBOUR, STRANGER = "a0", "a1", "a3", "a2"
"""In ring(4): a0's neighbours are a1 and a3; a2 is not one of them."""

Attack = Callable[[MemoryBus, str, Envelope], list[tuple[str, bytes]]]
"""Given a genuine message (topic, envelope): the raw messages to inject before it."""


def ring_agents(
    cfgs: Mapping[str, AgentConfig],
    endpoint: Callable[[str, AgentConfig], Endpoint],
    journal_dir: Path,
    *,
    identities: Mapping[str, Identity] | None,
    roster: Roster | None,
) -> list[Agent]:
    """One agent per config, its endpoint from ``endpoint(agent, config)``, journals in
    ``journal_dir``; with ``identities`` and ``roster`` (None: unauthenticated)."""
    objectives = problems(cfgs)
    return [
        Agent(
            c,
            objectives[a],
            endpoint(a, c),
            journal=journal_dir / f"{a}.jsonl",
            identity=identities[a] if identities is not None else None,
            roster=roster,
            unauthenticated=identities is None,
        )
        for a, c in cfgs.items()
    ]


async def run_all(agents: Sequence[Agent]) -> dict[str, AgentReport]:
    """Run the agents to the end, bounded; their reports by agent id."""
    async with asyncio.timeout(RUN_BOUND), asyncio.TaskGroup() as group:
        tasks = [group.create_task(run_one(agent)) for agent in agents]
    return {t.result().agent_id: t.result() for t in tasks}


async def run_authenticated(
    cfgs: Mapping[str, AgentConfig],
    journal_dir: Path,
    *,
    attack: Attack | None = None,
    make_attack: Callable[[Mapping[str, Identity], Roster], Attack] | None = None,
    authenticate: bool = True,
) -> tuple[dict[str, AgentReport], list[str]]:
    """Run the ring with identities and the roster; ``attack`` (or the one ``make_attack``
    builds from the run's identities and roster, for an insider) sees every genuine
    message first and injects its forgeries ahead of it. Returns the reports and what
    was injected."""
    run = next(iter(cfgs.values())).run
    bus = MemoryBus(run)
    roster, identities = new_identities(run, cfgs)
    if make_attack is not None:
        attack = make_attack(identities, roster)
    injected: list[str] = []
    if attack is not None:
        bus.subscribe(bus.topics.everything, attacker(bus, attack, injected))
    agents = ring_agents(
        cfgs,
        lambda a, c: bus.endpoint(a, neighbours=c.neighbours),
        journal_dir,
        identities=identities if authenticate else None,
        roster=roster if authenticate else None,
    )
    return await run_all(agents), injected


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
