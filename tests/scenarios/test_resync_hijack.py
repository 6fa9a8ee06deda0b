"""One compromised neighbour claiming to be far ahead drags nobody (issue 13, item 4).

A ring of 8. At iteration 35 the compromised agent (a1, otherwise honest) sends its
two neighbours, besides its real request or state, a copy claiming iteration 250.
Under the old rule every agent jumped to 250 one hop per iteration; now a claim moves
an agent only as far as its own evidence allows (a second neighbour's word, or its
own waits for that neighbour run out: agents/runtime/_rounds.py): nobody jumps, the
claim is held until the neighbour's next message contradicts it and then dropped,
and the run ends as the unattacked one does. The same on the locked-down embedded
broker, the claim sent by the compromised agent's own endpoint with its own login.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents import Agent, AgentConfig, AgentReport, Algorithm, Authenticator, Identity, Roster
from scenarios import RunResult, parse, run_scenario
from scenarios.assembly import agent_configs, build_graph, build_problem
from scenarios.deploy import locked_transport
from scenarios.results import RunDir
from tests._brokers import require_mosquitto
from tests.scenarios.support import ring8
from transport import (
    Endpoint,
    Envelope,
    EnvelopeError,
    Kind,
    MemoryBus,
    TrafficCounters,
    decode,
    encode,
)

pytestmark = pytest.mark.slow  # 300 iterations a run, two runs a test (measured 15-50 s)

ITERATIONS = 300
AT, CLAIM = 35, 250
COMPROMISED = "a1"
FEW = 3
"""At most this many iterations jumped by any honest agent."""


@dataclasses.dataclass
class FarClaim:
    """Listens to every message of the run; at the compromised agent's request (or state)
    of iteration AT to a neighbour, puts a copy claiming iteration CLAIM into that
    neighbour's inbox, once per neighbour, sealed with the compromised agent's own
    identity (from its run directory ``run_dir``: compromised, it holds its keys)."""

    bus: MemoryBus
    run_dir: Path
    sent: list[str] = dataclasses.field(default_factory=list)

    def seal(self, envelope: Envelope) -> Envelope:
        run = RunDir(self.run_dir)
        own = Authenticator(
            Identity.load(run.identity(COMPROMISED)),
            Roster.load(run.roster),
            agent=COMPROMISED,
            run=self.bus.run,
            neighbours=[envelope.receiver],
        )
        return own.seal(dataclasses.replace(envelope, auth=b""))

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
        forged = self.seal(dataclasses.replace(envelope, iteration=CLAIM))
        self.bus.inject(self.bus.topics.inbox(envelope.receiver, COMPROMISED), encode(forged))


def scenario(tmp: Path, kind: str) -> Any:
    doc = ring8(tmp, "embedded", iterations=ITERATIONS, kind=kind)
    doc["transport"] = {"kind": "memory", "round_timeout": 10.0, "startup_timeout": 30.0}
    return parse(doc, source="hijack")


def run(tmp: Path, kind: str, *, attacked: bool) -> tuple[RunResult, list[str]]:
    claims: list[FarClaim] = []

    def transport(run_id: str) -> MemoryBus:
        bus = MemoryBus(run_id)
        if attacked:  # the run directory is prepared before its transport
            (run_dir,) = [r.parent for r in tmp.glob(f"*/{kind}/roster.json")]
            claims.append(FarClaim(bus, run_dir))
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


class ClaimingEndpoint:
    """The compromised agent's own endpoint, on its own broker login: after its request
    or state of iteration AT to a neighbour it sends that neighbour a copy claiming
    iteration CLAIM (through the broker, as the agent itself)."""

    def __init__(self, inner: Endpoint) -> None:
        self._inner = inner
        self.sent: list[str] = []

    @property
    def agent_id(self) -> str:
        return self._inner.agent_id

    @property
    def counters(self) -> TrafficCounters:
        return self._inner.counters

    async def __aenter__(self) -> ClaimingEndpoint:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._inner.__aexit__(*exc)

    async def send(self, envelope: Envelope) -> None:
        await self._inner.send(envelope)
        claim = envelope.kind in (Kind.REQUEST, Kind.STATE) and envelope.iteration == AT
        if claim and envelope.receiver not in self.sent:
            self.sent.append(envelope.receiver)
            await self._inner.send(dataclasses.replace(envelope, iteration=CLAIM))

    async def receive(self) -> Envelope:
        return await self._inner.receive()


@pytest.mark.parametrize(
    "broker", ["embedded", pytest.param("mosquitto", marks=pytest.mark.mosquitto)]
)
def test_a_far_claim_by_a_real_login_on_the_locked_broker_drags_nobody(
    tmp_path: Path, run_id: str, caplog: pytest.LogCaptureFixture, broker: str
) -> None:
    if broker == "mosquitto":
        require_mosquitto()
    doc = ring8(tmp_path, broker, iterations=ITERATIONS, kind="plain")
    doc["transport"].update(round_timeout=10.0)
    spec = parse(doc, source="hijack")
    graph = build_graph(spec)
    problem = build_problem(spec, graph.number_of_nodes())
    assert problem.x_star is not None
    x_star = problem.x_star

    async def run(attacked: bool) -> tuple[float, dict[str, int], list[str]]:
        run = run_id if attacked else run_id + "c"
        async with locked_transport(graph, run, broker=broker) as transport:
            configs = agent_configs(
                spec, graph, problem, run=transport.run, algorithm=Algorithm.PLAIN
            )
            claiming: list[ClaimingEndpoint] = []

            def endpoint(cfg: AgentConfig) -> Endpoint:
                inner = transport.endpoint(cfg.agent_id, neighbours=cfg.neighbours)
                if not attacked or cfg.agent_id != COMPROMISED:
                    return inner
                claiming.append(ClaimingEndpoint(inner))
                return claiming[-1]

            agents = [
                Agent(cfg, problem.objectives[i], endpoint(cfg), unauthenticated=True)
                for i, cfg in enumerate(configs)
            ]

            async def one(agent: Agent) -> AgentReport:
                async with agent:
                    return await agent.run()

            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(a)) for a in agents]
        reports = [t.result() for t in tasks]
        mse = float(np.mean([np.sum((r.x - x_star) ** 2) for r in reports]))
        return mse, {r.agent_id: r.jumped for r in reports}, [n for c in claiming for n in c.sent]

    calm, _, _ = asyncio.run(run(attacked=False))
    attacked, jumped, victims = asyncio.run(run(attacked=True))
    assert sorted(victims) == ["a0", "a2"], "the far claim was never sent"
    assert max(jumped.values()) <= FEW, jumped
    assert attacked <= 2 * calm, (attacked, calm)
    for victim in victims:  # it arrived through the broker, and was dropped
        assert (
            f"agent {victim} dropped state from {COMPROMISED} at iteration {CLAIM}" in caplog.text
        )
    print(f"{broker} broker, plain: final MSE {attacked:.3g} attacked, {calm:.3g} unattacked")
