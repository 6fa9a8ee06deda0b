"""Bad input, one case at a time: a log line, a drop, no crash and no state change.

tests/agents/test_agent.py already covers garbage bytes, a wrong run id, a non-neighbour
sender, a ciphertext equal to n^2 and a duplicate request in one disturbed run; this
file covers the rest of the list, each on its own: a truncated envelope, a wrong
version, an unknown kind, an envelope over the size limit, replayed old iterations,
iterations far in the future, a ciphertext not coprime to n, and a wrong number of
ciphertexts. Each bad message reaches the victim (a0) while it waits for the replies of
iteration ``AT``; the run must end with exactly the states of an undisturbed run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest

from agents import (
    Agent,
    AgentConfig,
    AgentReport,
    Algorithm,
    DecryptMode,
    LeastSquares,
    ProtocolError,
    Stepsize,
    check_term,
    layout_for,
    term_bound,
    to_residue,
)
from transport import MAX_ENVELOPE_BYTES, VERSION, EnvelopeError, Kind, MemoryBus, decode, pack_ints

RING = 4
DIM = 3
ITERATIONS = 6
AT = 3
"""The iteration during which the bad message arrives."""
KEY_BITS = 256
"""Small keys, named as such: these runs test message handling, not security."""
VICTIM, NEIGHBOUR = "a0", "a1"
BOUND = 30.0


def ring() -> dict[str, dict[str, int]]:
    ids = [f"a{k}" for k in range(RING)]
    return {ids[k]: {ids[k - 1]: 2, ids[(k + 1) % RING]: 2} for k in range(RING)}


def objectives() -> dict[str, LeastSquares]:
    rng = np.random.default_rng(7)
    x_true = rng.normal(size=DIM)
    out = {}
    for agent in sorted(ring()):
        features = rng.normal(size=(12, DIM))
        out[agent] = LeastSquares(features, features @ x_true + 0.1 * rng.normal(size=12))
    return out


def configs(run: str, decrypt: DecryptMode = DecryptMode.AGGREGATE) -> dict[str, AgentConfig]:
    return {
        agent: AgentConfig(
            run=run,
            agent_id=agent,
            neighbours=neighbours,
            algorithm=Algorithm.PAILLIER,
            iterations=ITERATIONS,
            x0=(float(i), -1.0, 0.5 * i),
            seed=(3, i),
            stepsize=Stepsize(lambda0=0.2),
            key_bits=KEY_BITS,
            insecure_keys=True,
            batch_size=4,
            round_timeout=10.0,
            startup_timeout=10.0,
            decrypt=decrypt,
        )
        for i, (agent, neighbours) in enumerate(sorted(ring().items()))
    }


@dataclass
class Capture:
    """What the disturber learns from the traffic, to forge plausible bad messages."""

    run: str
    n: int = 0
    first_request: bytes = b""
    first_reply: bytes = b""
    reply_field: bytes = b""

    @property
    def width(self) -> int:
        return (2 * self.n.bit_length() + 7) // 8

    @property
    def count(self) -> int:
        return len(self.reply_field) // self.width

    def doc(self, kind: str, iteration: int = AT, **payload: Any) -> dict[str, Any]:
        return {
            "v": VERSION,
            "run": self.run,
            "k": iteration,
            "from": NEIGHBOUR,
            "to": VICTIM,
            "kind": kind,
            "p": payload,
            "a": b"",
        }

    def pack(self, doc: dict[str, Any]) -> bytes:
        data: bytes = msgpack.packb(doc, use_bin_type=True)
        return data

    def reply(self, ciphertexts: list[int]) -> bytes:
        return self.pack(self.doc("reply", c=pack_ints(ciphertexts, self.width)))


BadMessage = Callable[[Capture], bytes]


def far_future(kind: str) -> BadMessage:
    def make(c: Capture) -> bytes:
        doc = msgpack.unpackb(c.first_request, raw=False)
        doc.update(kind=kind, k=10**6, p=doc["p"] if kind == "request" else {})
        return c.pack(doc)

    return make


CASES: dict[str, tuple[BadMessage, str]] = {
    "truncated": (lambda c: c.first_request[: len(c.first_request) // 2], "not a msgpack envelope"),
    "wrong version": (
        lambda c: c.pack({**c.doc("request"), "v": VERSION + 1}),
        f"unsupported envelope version {VERSION + 1}",
    ),
    "unknown kind": (lambda c: c.pack(c.doc("gossip")), "unknown message kind 'gossip'"),
    "over the size limit": (
        lambda c: c.pack(c.doc("reply", c=b"\x01" * MAX_ENVELOPE_BYTES)),
        f"exceeds {MAX_ENVELOPE_BYTES}",
    ),
    "replayed old request": (lambda c: c.first_request, "stale request for iteration 0"),
    "replayed old reply": (lambda c: c.first_reply, f"reply for iteration 0, waiting for {AT}"),
    "far-future request": (far_future("request"), "too far ahead"),
    "far-future reply": (far_future("reply"), "reply for iteration 1000000"),
    "far-future skip": (far_future("skip"), "skip notice for iteration 1000000"),
    "ciphertext not coprime to n": (
        lambda c: c.reply([c.n] + [1] * (c.count - 1)),
        "not coprime to n",
    ),
    "ciphertext above n^2": (
        lambda c: c.reply([c.n * c.n + 1] + [1] * (c.count - 1)),
        "outside (0, n^2)",
    ),
    "one ciphertext too many": (lambda c: c.reply([1] * (c.count + 1)), "integers"),
    "no ciphertext": (lambda c: c.pack(c.doc("reply", c=b"")), "integers"),
    "goodbye with a torn notice list": (
        lambda c: c.pack(c.doc("bye", skipped=b"\x00\x01\x02")),
        "goodbye with malformed skip notices",
    ),
    "goodbye with too many notices": (
        lambda c: c.pack(c.doc("bye", skipped=pack_ints([1, 2, 3, 4], 4))),
        "goodbye with skip notices for iterations [1, 2, 3, 4]",
    ),
}


@dataclass
class Disturber:
    """Sees every message of the run; at the victim's request of iteration AT it puts the
    bad message into the victim's inbox, before the neighbour can answer."""

    bus: MemoryBus
    make: BadMessage | None
    capture: Capture
    sent: list[str] = field(default_factory=list)

    def __call__(self, topic: str, data: bytes) -> None:
        try:
            envelope = decode(data)
        except EnvelopeError:
            return
        route = (envelope.sender, envelope.receiver)
        c = self.capture
        if envelope.kind is Kind.KEY and envelope.sender == VICTIM:
            c.n = int.from_bytes(envelope.payload["n"], "big")
        if envelope.iteration == 0 and route == (NEIGHBOUR, VICTIM):
            if envelope.kind is Kind.REQUEST:
                c.first_request = data
            elif envelope.kind is Kind.REPLY:
                c.first_reply, c.reply_field = data, envelope.payload["c"]
        at_request = envelope.kind is Kind.REQUEST and envelope.iteration == AT
        if at_request and route == (VICTIM, NEIGHBOUR) and self.make is not None and not self.sent:
            self.sent.append(topic)
            self.bus.inject(self.bus.topics.inbox(VICTIM, NEIGHBOUR), self.make(c))


def run_ring(
    make: BadMessage | None, journals: Path, decrypt: DecryptMode = DecryptMode.AGGREGATE
) -> tuple[dict[str, AgentReport], Disturber]:
    async def main() -> tuple[dict[str, AgentReport], Disturber]:
        run = f"bad-{uuid.uuid4().hex[:12]}"
        bus = MemoryBus(run)
        disturber = Disturber(bus, make, Capture(run))
        unsubscribe = bus.subscribe(bus.topics.everything, disturber)
        problems = objectives()
        agents = {
            a: Agent(
                cfg,
                problems[a],
                bus.endpoint(a, neighbours=cfg.neighbours),
                journal=journals / f"{a}.jsonl",
                unauthenticated=True,
            )
            for a, cfg in configs(run, decrypt).items()
        }

        async def one(agent: Agent) -> AgentReport:
            async with agent:
                return await agent.run()

        try:
            async with asyncio.timeout(BOUND), asyncio.TaskGroup() as group:
                tasks = {a: group.create_task(one(agent)) for a, agent in agents.items()}
        finally:
            unsubscribe()
        return {a: t.result() for a, t in tasks.items()}, disturber

    return asyncio.run(main())


def trajectories(journals: Path) -> dict[str, np.ndarray]:
    return {
        p.stem: np.array([json.loads(line)["x"] for line in p.read_text().splitlines()])
        for p in sorted(journals.glob("*.jsonl"))
    }


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, AgentReport], Path]:
    journals = tmp_path_factory.mktemp("quiet")
    reports, _ = run_ring(None, journals)
    assert all(r.dropped == 0 and r.skipped == 0 for r in reports.values())
    return reports, journals


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_message_is_logged_dropped_and_changes_nothing(
    case: str,
    quiet: tuple[dict[str, AgentReport], Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    make, reason = CASES[case]
    caplog.set_level(logging.WARNING)
    reports, disturber = run_ring(make, tmp_path)
    assert len(disturber.sent) == 1, "the bad message was never sent"
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert reason in warnings[0] and warnings[0].startswith(f"agent {VICTIM} dropped"), warnings
    # one drop at the victim, none elsewhere, and no skip: the bad message cost nothing
    assert reports[VICTIM].dropped == 1
    assert all(reports[a].dropped == 0 for a in reports if a != VICTIM)
    assert all(r.skipped == 0 for r in reports.values())
    quiet_reports, quiet_journals = quiet
    for agent, report in reports.items():
        np.testing.assert_array_equal(report.x, quiet_reports[agent].x, err_msg=agent)
    noisy, calm = trajectories(tmp_path), trajectories(quiet_journals)
    assert noisy.keys() == calm.keys() == set(ring())
    for agent in calm:
        assert calm[agent].shape == (ITERATIONS + 1, DIM)
        np.testing.assert_array_equal(noisy[agent], calm[agent], err_msg=agent)


def test_a_reply_that_does_not_decode_costs_its_edge_one_iteration(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Found by the fuzz (test_agent_fuzz.py): ciphertexts in range and coprime to n that
    # decrypt to no valid packing ("bits beyond its last slot") used to raise out of the
    # iteration and end the victim's run. Now the reply is dropped and the edge skipped
    # at that iteration, on both sides.
    caplog.set_level(logging.WARNING)
    reports, disturber = run_ring(lambda c: c.reply([2] * c.count), tmp_path)
    assert len(disturber.sent) == 1
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert any("reply does not decode" in w and w.startswith(f"agent {VICTIM}") for w in warnings)
    assert all(len(r.x) == DIM and np.all(np.isfinite(r.x)) for r in reports.values())
    lines = {
        a: [json.loads(line) for line in (tmp_path / f"{a}.jsonl").read_text().splitlines()]
        for a in (VICTIM, NEIGHBOUR)
    }
    assert NEIGHBOUR in lines[VICTIM][AT + 1]["skipped"]
    neighbour_dropped = {(n, line["k"] - 1) for line in lines[NEIGHBOUR] for n in line["skipped"]}
    neighbour_dropped |= {(n, k) for line in lines[NEIGHBOUR] for n, k in line["compensated"]}
    assert (VICTIM, AT) in neighbour_dropped
    assert reports[VICTIM].skipped == 1  # the neighbour skipped or undid (compensated) it
    assert reports[VICTIM].dropped == 2  # the unreadable reply, then the real one: a duplicate


def beyond_the_bound(decrypt: DecryptMode) -> BadMessage:
    """A reply crafted under the victim's public key (Paillier is malleable and the key
    is public): E(m) = 1 + m n mod n^2, in the victim's own slot layout, its first slot
    beyond what an honest neighbour's weight and state can reach, the other slots zero.
    Decrypting per edge, one more than the edge's bound is refused. Decrypting the sum
    over its neighbours, the victim checks the sum against the sum of their bounds, each
    times its own weight half (at least half the largest): a term of 4 bounds exceeds
    that on a ring, and the victim then opens each reply to find it."""

    def make(c: Capture) -> bytes:
        cfg = configs(c.run, decrypt)[VICTIM]
        bound = term_bound(cfg.weight_range_for(NEIGHBOUR)[1], cfg.quantizer().bound)
        high = cfg.weight_range[1]
        layout = layout_for(
            value_bound=cfg.quantizer().bound,
            weight_bound=high * high if cfg.aggregates else high,
            modulus_bits=c.n.bit_length() - 1,
            terms=len(cfg.neighbours) if cfg.aggregates else 1,
        )
        values = [(4 * bound if cfg.aggregates else bound) + 1] + [0] * (DIM - 1)
        plain = layout.pack(values)  # it fits a slot: only the range check can refuse it
        assert layout.unpack(plain, DIM) == values
        return c.reply([(1 + to_residue(m, c.n) * c.n) % (c.n * c.n) for m in plain])

    return make


@pytest.mark.parametrize("decrypt", list(DecryptMode))
def test_a_decrypted_term_beyond_the_public_bound_is_dropped_and_skipped_both_ways(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, decrypt: DecryptMode
) -> None:
    caplog.set_level(logging.WARNING)
    reports, disturber = run_ring(beyond_the_bound(decrypt), tmp_path, decrypt)
    assert len(disturber.sent) == 1
    warnings = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert any(
        w.startswith(f"agent {VICTIM} dropped reply from {NEIGHBOUR} at iteration {AT}")
        and "decrypted term out of range in slot 0" in w
        for w in warnings
    ), warnings
    lines = {
        a: [json.loads(line) for line in (tmp_path / f"{a}.jsonl").read_text().splitlines()]
        for a in (VICTIM, NEIGHBOUR)
    }
    assert NEIGHBOUR in lines[VICTIM][AT + 1]["skipped"]  # the term moved nothing
    neighbour_dropped = {(n, line["k"] - 1) for line in lines[NEIGHBOUR] for n in line["skipped"]}
    neighbour_dropped |= {(n, k) for line in lines[NEIGHBOUR] for n, k in line["compensated"]}
    assert (VICTIM, AT) in neighbour_dropped  # and the neighbour dropped ours: symmetric
    assert reports[VICTIM].skipped == 1
    assert all(np.all(np.abs(r.x) < 100) for r in reports.values())  # nobody was thrown off


def test_check_term_refuses_only_beyond_the_bound() -> None:
    bound = term_bound(3, 10)
    assert bound == 60
    check_term([60, -60, 0], bound)
    check_term([120, -120], 2 * bound)  # a sum of two edges' terms: twice the bound
    for bad in ([61], [0, -61], [0, 0, 10**40]):
        with pytest.raises(ProtocolError, match=f"slot {len(bad) - 1}"):
            check_term(bad, bound)
