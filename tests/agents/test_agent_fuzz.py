"""Fuzzing the envelope decoder and the agent's message handling with Hypothesis.

The normal suite runs a few hundred examples; a dedicated run takes the count from
the environment:

    HEMESH_FUZZ_EXAMPLES=100000 .venv/bin/pytest tests/agents/test_agent_fuzz.py -q

The agent fuzz keeps a ring of four agents (paillier, small keys) running back to back
on a MemoryBus, and injects each example into the victim's world while it iterates:
raw bytes, near-valid envelopes built around the current iteration, and mutations of
real messages (flipped bytes, truncations, swapped fields, random ciphertexts of the
right width). A receive loop that raised would fail its agent's run; every run must
complete.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import Agent, AgentConfig, AgentReport, Algorithm, LeastSquares, Stepsize
from transport import VERSION, Envelope, EnvelopeError, Kind, MemoryBus, decode, encode

EXAMPLES = int(os.environ.get("HEMESH_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 1000,  # the normal suite is reproducible; long runs explore
    suppress_health_check=list(HealthCheck),
    database=None,
)

RING = ("a0", "a1", "a2", "a3")
VICTIM, NEIGHBOUR, STRANGER = "a0", "a1", "a2"
ITERATIONS = 12
KEY_BITS = 256
"""Small keys, named as such: the fuzz tests message handling, not security."""
WIDTH = 2 * KEY_BITS // 8
RUN_BOUND = 60.0

# --- the decoder --------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.binary(max_size=40),
)
values = (
    scalars
    | st.lists(scalars, max_size=3)
    | st.dictionaries(st.text(max_size=3), scalars, max_size=3)
)
field_values = {
    "v": st.sampled_from([VERSION, VERSION + 1, 0, True, 1.0, "1"]) | values,
    "run": st.sampled_from(["r", "r-1", "a/b", "", "x" * 65]) | values,
    "k": st.sampled_from([0, 1, -1, 2**53, 2**53 - 1, 2**64 - 1]) | values,
    "from": st.sampled_from([*RING, "*", "a+", ""]) | values,
    "to": st.sampled_from([*RING, "*", "#"]) | values,
    "kind": st.sampled_from([k.value for k in Kind] + ["gossip", ""]) | values,
    "p": st.dictionaries(
        st.sampled_from(["c", "v", "x", "n", "h"]) | st.text(max_size=4), values, max_size=5
    )
    | values,
}


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """Envelope-shaped maps: each field present or not, each value plausible or not."""
    present = draw(st.integers(0, 2 ** len(field_values) - 1) | st.just(2 ** len(field_values) - 1))
    doc = {
        name: draw(strategy)
        for bit, (name, strategy) in enumerate(field_values.items())
        if present >> bit & 1
    }
    if present % 7 == 0:
        doc[draw(st.text(max_size=4))] = draw(scalars)
    return doc


def check_decode(data: bytes) -> None:
    try:
        envelope = decode(data)
    except EnvelopeError:
        return
    assert isinstance(envelope, Envelope)
    assert decode(encode(envelope)) == envelope


@FUZZ
@given(st.binary(max_size=300) | documents().map(lambda d: msgpack.packb(d, use_bin_type=True)))
def test_decode_returns_an_envelope_or_raises_envelope_error(data: bytes) -> None:
    check_decode(data)


# --- the agent ----------------------------------------------------------------------------


def objective(index: int) -> LeastSquares:
    rng = np.random.default_rng(index)
    features = rng.normal(size=(8, 3))
    return LeastSquares(features, features @ np.ones(3))


def config(run: str, index: int) -> AgentConfig:
    agent = RING[index]
    neighbours = {RING[index - 1]: 2, RING[(index + 1) % len(RING)]: 2}
    return AgentConfig(
        run=run,
        agent_id=agent,
        neighbours=neighbours,
        algorithm=Algorithm.PAILLIER,
        iterations=ITERATIONS,
        x0=(float(index), 0.0, -1.0),
        seed=(5, index),
        stepsize=Stepsize(lambda0=0.1),
        key_bits=KEY_BITS,
        insecure_keys=True,
        batch_size=4,
        round_timeout=0.05,
        startup_timeout=5.0,
    )


@dataclass
class Harness:
    """Runs of the ring back to back; the bus of the current run, and what it carried."""

    loop: asyncio.AbstractEventLoop
    bus: MemoryBus | None = None
    iteration: int = 0
    recent: list[tuple[str, bytes]] = field(default_factory=list)
    completed: list[list[AgentReport]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stopping: bool = False
    task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def tap(self, topic: str, data: bytes) -> None:
        try:
            envelope = decode(data)
        except EnvelopeError:
            return
        self.iteration = max(self.iteration, envelope.iteration)
        if envelope.receiver == VICTIM and len(self.recent) < 64:
            self.recent.append((topic, data))
        elif envelope.receiver == VICTIM:
            self.recent[envelope.iteration % 64] = (topic, data)

    async def one_run(self) -> None:
        run = f"fz-{uuid.uuid4().hex[:10]}"
        bus = MemoryBus(run)
        unsubscribe = bus.subscribe(bus.topics.everything, self.tap)
        self.bus, self.iteration = bus, 0
        self.ready.set()
        agents = [
            Agent(
                config(run, i),
                objective(i),
                bus.endpoint(RING[i], neighbours=config(run, i).neighbours),
                unauthenticated=True,
            )
            for i in range(len(RING))
        ]

        async def one(agent: Agent) -> AgentReport:
            async with agent:
                return await agent.run()

        try:
            async with asyncio.timeout(RUN_BOUND):
                reports = await asyncio.gather(*(one(a) for a in agents), return_exceptions=True)
        finally:
            unsubscribe()
        errors = [
            f"{a}: {type(r).__name__}: {r}"
            for a, r in zip(RING, reports, strict=True)
            if isinstance(r, BaseException)
        ]
        if errors:
            self.failures.append("; ".join(errors))
        else:
            self.completed.append([r for r in reports if isinstance(r, AgentReport)])

    async def runs(self) -> None:
        while not self.stopping:
            await self.one_run()

    def do(self, coroutine: Coroutine[Any, Any, None]) -> None:
        self.loop.run_until_complete(coroutine)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, str, Any]:
    """(where, how, what): a topic choice and the bytes to put there, as a recipe that
    the harness completes with the current run and iteration."""
    where = draw(
        st.sampled_from(
            ["neighbour", "neighbour", "neighbour", "stranger", "self", "key", "status"]
        )
    )
    how = draw(st.sampled_from(["raw", "document", "document", "mutate", "mutate", "ciphertexts"]))
    if how == "raw":
        return where, how, draw(st.binary(max_size=200))
    if how == "document":
        doc = draw(documents())
        offset = draw(st.integers(-3, 3))
        return where, how, (doc, offset, draw(st.booleans()))
    if how == "mutate":
        return (
            where,
            how,
            (
                draw(st.integers(0, 63)),
                draw(st.integers(0, 3)),
                draw(st.integers(0, 10**6)),
                draw(st.binary(min_size=1, max_size=3)),
            ),
        )
    count = draw(st.integers(0, 3))
    cts = draw(
        st.lists(
            st.integers(0, 2 ** (8 * WIDTH) - 1) | st.sampled_from([0, 1, 2**KEY_BITS]),
            min_size=count,
            max_size=count,
        )
    )
    return where, how, (cts, draw(st.integers(-1, 1)), draw(st.sampled_from(["request", "reply"])))


def build(h: Harness, how: str, what: Any) -> bytes:
    assert h.bus is not None
    run = h.bus.run
    if how == "raw":
        data: bytes = what
        return data
    if how == "document":
        doc, offset, fill = what
        if fill:  # a well-formed frame around the drawn fields
            doc = {
                "v": VERSION,
                "run": run,
                "k": max(0, h.iteration + offset),
                "from": NEIGHBOUR,
                "to": VICTIM,
                "kind": "reply",
                "p": {},
                "a": b"",
            } | doc
        packed: bytes = msgpack.packb(doc, use_bin_type=True)
        return packed
    if how == "mutate":
        if not h.recent:
            return b""
        index, mode, position, patch = what
        real: bytes
        _, real = h.recent[index % len(h.recent)]
        at: int = position % len(real)
        if mode == 0:
            return real[:at]
        if mode == 1:
            mutated: bytes = real[:at] + patch + real[at + len(patch) :]
            return mutated
        doc = msgpack.unpackb(real, raw=False)
        if mode == 2:
            doc["k"] = max(0, doc["k"] + (position % 5) - 2)
        else:
            doc["kind"] = [k.value for k in Kind][position % len(Kind)]
        repacked: bytes = msgpack.packb(doc, use_bin_type=True)
        return repacked
    cts, offset, kind = what
    blob = b"".join(int(c).to_bytes(WIDTH, "big") for c in cts)
    doc = {
        "v": VERSION,
        "run": run,
        "k": max(0, h.iteration + offset),
        "from": NEIGHBOUR,
        "to": VICTIM,
        "kind": kind,
        "p": {"c": blob},
        "a": b"",
    }
    forged: bytes = msgpack.packb(doc, use_bin_type=True)
    return forged


def topic(h: Harness, where: str) -> str:
    assert h.bus is not None
    topics = h.bus.topics
    return {
        "neighbour": topics.inbox(VICTIM, NEIGHBOUR),
        "stranger": topics.inbox(VICTIM, STRANGER),
        "self": topics.inbox(VICTIM, VICTIM),
        "key": topics.key(NEIGHBOUR),
        "status": topics.status(NEIGHBOUR),
    }[where]


def test_agents_survive_arbitrary_messages_and_every_run_completes() -> None:
    loop = asyncio.new_event_loop()
    harness = Harness(loop)
    injected = [0]

    async def start() -> None:
        harness.task = asyncio.get_running_loop().create_task(harness.runs())
        async with asyncio.timeout(RUN_BOUND):
            await harness.ready.wait()

    async def inject(where: str, how: str, what: Any) -> None:
        assert harness.bus is not None
        data = build(harness, how, what)
        harness.bus.inject(topic(harness, where), data)
        injected[0] += 1
        for _ in range(3):  # let the victim's receive loop take it
            await asyncio.sleep(0)

    @FUZZ
    @given(messages())
    def fuzz(message: tuple[str, str, Any]) -> None:
        harness.do(inject(*message))

    async def finish() -> None:
        harness.stopping = True
        assert harness.task is not None
        async with asyncio.timeout(RUN_BOUND):
            await harness.task

    try:
        harness.do(start())
        fuzz()
        harness.do(finish())
    finally:
        if harness.task is not None and not harness.task.done():
            harness.task.cancel()
            loop.run_until_complete(asyncio.gather(harness.task, return_exceptions=True))
        loop.close()
    dropped = sum(
        r.dropped for reports in harness.completed for r in reports if r.agent_id == VICTIM
    )
    print(
        f"\nagent fuzz: {injected[0]} messages injected, {len(harness.completed)} runs "
        f"completed, {len(harness.failures)} failed; the victims dropped {dropped}"
    )
    assert harness.failures == [], harness.failures[:3]
    assert injected[0] >= EXAMPLES
    assert harness.completed, "no run completed"
    assert dropped > 0  # the fuzz reached the victim's checks
