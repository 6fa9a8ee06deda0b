"""One compromised neighbour claiming to be far ahead drags nobody (issue 13, item 4).

A ring of 8. At iteration 35 the compromised agent (a1, otherwise honest) sends its
two neighbours, besides its real request or state, a copy claiming iteration 250.
Under the old rule every agent jumped to 250 one hop per iteration; now a claim moves
an agent only as far as its own evidence allows (a second neighbour's word, or its
own waits for that neighbour run out: agents/runtime/_rounds.py): nobody jumps, the
claim is held until the neighbour's next message contradicts it and then dropped,
and the run ends as the unattacked one does.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from scenarios import RunResult, parse, run_scenario
from tests.scenarios.support import ring8
from transport import EnvelopeError, Kind, MemoryBus, decode, encode

ITERATIONS = 300
AT, CLAIM = 35, 250
COMPROMISED = "a1"
FEW = 3
"""At most this many iterations jumped by any honest agent."""


@dataclasses.dataclass
class FarClaim:
    """Listens to every message of the run; at the compromised agent's request (or state)
    of iteration AT to a neighbour, puts a copy claiming iteration CLAIM into that
    neighbour's inbox, once per neighbour."""

    bus: MemoryBus
    sent: list[str] = dataclasses.field(default_factory=list)

    def __call__(self, topic: str, data: bytes) -> None:
        try:
            envelope = decode(data)
        except EnvelopeError:
            return
        kinds = (Kind.REQUEST, Kind.STATE)
        if envelope.sender != COMPROMISED or envelope.kind not in kinds or envelope.iteration != AT:
            return
        if envelope.receiver in self.sent:
            return
        self.sent.append(envelope.receiver)
        forged = dataclasses.replace(envelope, iteration=CLAIM)
        self.bus.inject(self.bus.topics.inbox(envelope.receiver, COMPROMISED), encode(forged))


def scenario(tmp: Path, kind: str) -> Any:
    doc = ring8(tmp, "embedded", iterations=ITERATIONS, kind=kind)
    doc["transport"] = {"kind": "memory", "round_timeout": 10.0, "startup_timeout": 30.0}
    return parse(doc, source="hijack")


def run(tmp: Path, kind: str, *, attacked: bool) -> tuple[RunResult, list[str]]:
    claims: list[FarClaim] = []

    def transport(run_id: str) -> MemoryBus:
        bus = MemoryBus(run_id)
        if attacked:
            claims.append(FarClaim(bus))
            bus.subscribe(bus.topics.everything, claims[-1])
        return bus

    (result,) = asyncio.run(run_scenario(scenario(tmp, kind), out=tmp, transport_factory=transport))
    return result, [r for c in claims for r in c.sent]


@pytest.mark.parametrize("kind", ["plain", "paillier"])
def test_one_neighbour_claiming_iteration_250_at_35_drags_nobody(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calm, _ = run(tmp_path / "calm", kind, attacked=False)
    attacked, victims = run(tmp_path / "attacked", kind, attacked=True)
    assert sorted(victims) == ["a0", "a2"], "the far claim was never sent"
    jumped = {r.agent_id: r.jumped for r in attacked.reports}
    assert max(jumped.values()) <= FEW, jumped
    assert attacked.summary["jumped_iterations"] <= FEW
    assert "jumping there" not in caplog.text
    for victim in victims:  # its next message in step contradicts the claim: dropped
        assert (
            f"agent {victim} dropped {'state' if kind == 'plain' else 'request'} from "
            f"{COMPROMISED} at iteration {CLAIM}: it claimed to be there" in caplog.text
        )
    final, reference = attacked.summary["mse_final"], calm.summary["mse_final"]
    assert final <= 2 * reference, (final, reference)
    print(f"{kind}: final MSE {final:.3g} attacked, {reference:.3g} unattacked; jumped {jumped}")
