"""The attacks of issue 13 over real brokers (the embedded one and Mosquitto): another
client of the broker (anonymous here, as on the default embedded broker) sees every
message and publishes forgeries into the victim's inbox. Each is dropped with the
reason logged, and the honest agents' trajectories are bit-identical to the unattacked
run with the same seed (no skips, so the transport does not change the trajectory)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import pytest

from agents import Identity, Roster, new_identities
from tests.agents.agent_support import (
    configs,
    ring,
    trajectories,
    unique_run,
)
from tests.agents.forgeries import (
    STRANGER,
    VICTIM,
    Attack,
    crafted_replies,
    forged_states,
    once_per_iteration,
    rewritten_replies,
    ring_agents,
    run_all,
    run_authenticated,
)
from transport import BrokerAddress, MemoryBus, MqttTap, MqttTransport, decode, mqtt_client

ATTACKS: dict[str, tuple[str, Callable[[dict[str, Identity], Roster], Attack]]] = {
    "forged-state": ("plain", lambda _ids, _roster: once_per_iteration(forged_states)),
    "rewritten-reply": ("paillier", lambda _ids, _roster: rewritten_replies()),
    # under the victim's public key, by a non-neighbour holding an identity of the run
    "crafted-reply": ("paillier", lambda ids, roster: crafted_replies(ids[STRANGER], roster)),
}


@contextlib.asynccontextmanager
async def attacker(address: BrokerAddress, run: str, attack: Attack) -> AsyncIterator[list[str]]:
    """Plain clients of the broker (one listens, one publishes) running ``attack`` on
    every message the run's agents send."""
    injected: list[str] = []
    mine: set[bytes] = set()
    topics = MemoryBus(run)  # only for the run's topic names
    tap = MqttTap(address, f"hemesh/{run}/#", identifier=f"intruder-ear-{run}")
    mouth = mqtt_client(address, identifier=f"intruder-mouth-{run}", timeout=5.0)

    async def listen() -> None:
        async for topic, data in tap:  # ends when the tap is closed
            if data in mine or "/status/" in topic or not data:
                continue
            for forged_topic, raw in attack(topics, topic, decode(data)):
                mine.add(raw)
                injected.append(forged_topic)
                await mouth.publish(forged_topic, raw, qos=1)

    async with mouth, tap:
        task = asyncio.create_task(listen())
        try:
            yield injected
        finally:
            await tap.__aexit__(None, None, None)  # the listener's iteration ends
            async with asyncio.timeout(10.0):
                await task


@pytest.mark.asyncio
@pytest.mark.parametrize("name", list(ATTACKS))
async def test_attacks_through_a_real_broker_are_dropped_and_change_nothing(
    broker: BrokerAddress, name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hemesh.agent")
    algorithm, make_attack = ATTACKS[name]
    reference = tmp_path / "reference"
    reference.mkdir()
    await run_authenticated(configs(unique_run(), ring(), algorithm), reference)
    expected = trajectories(reference, ring())

    cfgs = configs(unique_run(), ring(), algorithm)
    run = next(iter(cfgs.values())).run
    roster, identities = new_identities(run, cfgs)
    transport = MqttTransport(run, broker)
    attacked = tmp_path / "attacked"
    attacked.mkdir()
    agents = ring_agents(
        cfgs,
        lambda a, c: transport.endpoint(a, neighbours=c.neighbours),
        attacked,
        identities=identities,
        roster=roster,
    )
    async with attacker(broker, run, make_attack(identities, roster)) as injected:
        reports = await run_all(agents)
    assert injected, "the attack never fired"
    got = trajectories(attacked, ring())
    for agent in expected:
        np.testing.assert_array_equal(got[agent], expected[agent], err_msg=agent)
    # some forgeries arrive after the victim is done (the intruder is a round trip behind)
    assert reports[VICTIM].dropped >= 1
    assert all(r.skipped == 0 and r.jumped == 0 for r in reports.values())
    kind = "state" if algorithm == "plain" else "reply"
    assert f"dropped {kind} from a" in caplog.text
    assert "MAC does not verify under the key of edge" in caplog.text
