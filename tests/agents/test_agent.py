"""Whole agents on the in-memory bus: determinism, robustness, timeouts, journals, config."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents import (
    Agent,
    AgentConfig,
    AgentError,
    AgentReport,
    Algorithm,
    Attenuation,
    ConfigError,
    CryptoPool,
    DecryptMode,
    InlineCrypto,
    LeastSquares,
    Record,
    Stepsize,
    StepsizeMode,
    WeightMode,
    digest,
)
from tests.agents.agent_support import (
    DIM,
    INSECURE_TEST_BITS,
    ITERATIONS,
    RUN_BOUND,
    Crash,
    assert_same_trajectories,
    configs,
    journal,
    make_agent,
    problems,
    ring,
    run_ring,
    trajectories,
    unique_run,
)
from transport import (
    Envelope,
    EnvelopeError,
    Kind,
    MemoryBus,
    decode,
    encode,
    pack_ints,
)

# --- (a) paillier and clear: the same numbers --------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("weight_mode", "stepsize_mode", "packing"),
    [
        (WeightMode.PER_EDGE, StepsizeMode.SCALAR, True),
        (WeightMode.PER_COORDINATE, StepsizeMode.PER_COORDINATE, True),
        (WeightMode.PER_EDGE, StepsizeMode.SCALAR, False),
    ],
)
async def test_paillier_and_clear_give_identical_trajectories(
    tmp_path: Path, weight_mode: WeightMode, stepsize_mode: StepsizeMode, packing: bool
) -> None:
    graph = ring()
    modes: dict[str, Any] = {"weight_mode": weight_mode, "stepsize_mode": stepsize_mode}
    paillier_dir, clear_dir = tmp_path / "paillier", tmp_path / "clear"
    paillier_cfgs = configs(unique_run(), graph, "paillier", packing=packing, **modes)
    paillier = await run_ring(paillier_cfgs, paillier_dir)
    clear = await run_ring(configs(unique_run(), graph, "clear", **modes), clear_dir)

    assert_same_trajectories(trajectories(paillier_dir, graph), trajectories(clear_dir, graph))
    for agent in graph:
        np.testing.assert_array_equal(paillier[agent].x, clear[agent].x)
        encrypted, plain = journal(paillier_dir, agent), journal(clear_dir, agent)
        for field in ("objective", "stepsize", "gamma", "skipped"):
            assert [line[field] for line in encrypted] == [line[field] for line in plain]
        # the encrypted run did real crypto and sent ciphertexts, not 16-byte integers
        assert sum(line["crypto_s"] for line in encrypted) > 0
        assert paillier[agent].traffic.bytes_sent > clear[agent].traffic.bytes_sent
        assert paillier[agent].skipped == clear[agent].skipped == 0
        assert paillier[agent].dropped == clear[agent].dropped == 0
    # and the agents moved: the coupling pulled them together
    first = np.array([trajectories(clear_dir, graph)[a][0] for a in sorted(graph)])
    last = np.array([clear[a].x for a in sorted(graph)])
    assert np.var(last, axis=0).sum() < np.var(first, axis=0).sum()


@pytest.mark.asyncio
async def test_agents_sharing_a_crypto_pool_match_the_clear_run(tmp_path: Path) -> None:
    graph = ring()
    modes: dict[str, Any] = {"weight_mode": WeightMode.PER_COORDINATE, "iterations": 4}
    async with CryptoPool(2) as pool:
        pooled = await run_ring(
            configs(unique_run(), graph, "paillier", **modes), tmp_path / "pool", crypto=pool
        )
    clear = await run_ring(configs(unique_run(), graph, "clear", **modes), tmp_path / "clear")
    for agent in graph:
        np.testing.assert_array_equal(pooled[agent].x, clear[agent].x, err_msg=agent)
        assert pooled[agent].crypto_seconds > 0


@pytest.mark.asyncio
async def test_aggregating_before_decrypting_gives_the_per_edge_numbers_for_fewer_decryptions(
    tmp_path: Path,
) -> None:
    # issue #16: one decryption per packed ciphertext for the sum over the neighbours;
    # the integers are the same, so the trajectories are bit-identical to per-edge
    # decryption and to the clear twin
    graph = ring()
    runs = {}
    stats = {}
    for mode in ("aggregate", "per_edge"):
        crypto = InlineCrypto()
        cfgs = configs(unique_run(), graph, "paillier", key_bits=512, decrypt=mode)
        runs[mode] = await run_ring(cfgs, tmp_path / mode, crypto=crypto)
        stats[mode] = crypto.stats
    clear = await run_ring(configs(unique_run(), graph, "clear"), tmp_path / "clear")
    for agent in graph:
        np.testing.assert_array_equal(runs["aggregate"][agent].x, clear[agent].x)
        np.testing.assert_array_equal(runs["per_edge"][agent].x, clear[agent].x)
    assert_same_trajectories(
        trajectories(tmp_path / "aggregate", graph), trajectories(tmp_path / "clear", graph)
    )
    # DIM = 3 fits one 512-bit ciphertext either way; each agent has 2 neighbours
    rounds = len(graph) * ITERATIONS
    assert stats["aggregate"].decryptions == rounds
    assert stats["aggregate"].aggregated == 2 * rounds
    assert stats["per_edge"].decryptions == 2 * rounds
    assert stats["per_edge"].aggregated == 0
    assert stats["aggregate"].serves == stats["per_edge"].serves == 2 * rounds


@pytest.mark.asyncio
async def test_a_late_notice_undoes_a_term_applied_inside_a_sum_exactly(tmp_path: Path) -> None:
    # a0 applies a1's term of iteration 2 inside the decrypted sum; a notice from a1 that
    # comes after the update makes a0 decrypt that one reply alone and subtract its term:
    # the same correction, bit for bit, as per-edge decryption and the clear twin give
    graph = ring()
    finals = {}
    for name, algorithm, mode in (
        ("aggregate", "paillier", "aggregate"),
        ("per_edge", "paillier", "per_edge"),
        ("clear", "clear", "aggregate"),
    ):
        cfgs = configs(unique_run(), graph, algorithm, key_bits=512, decrypt=mode)
        bus = MemoryBus(cfgs["a0"].run)
        notice = Envelope(
            run=bus.run, iteration=2, sender="a1", receiver="a0", kind=Kind.SKIP, payload={}
        )

        def late_notice(k: int, bus: MemoryBus = bus, notice: Envelope = notice) -> None:
            if k == 3:  # iteration 2 is done: its terms are applied
                bus.inject(bus.topics.inbox("a0", "a1"), encode(notice))

        reports = await run_ring(cfgs, tmp_path / name, bus=bus, on_iteration={"a0": late_notice})
        undone = [pair for line in journal(tmp_path / name, "a0") for pair in line["compensated"]]
        assert undone == [["a1", 2]], name
        finals[name] = trajectories(tmp_path / name, graph)
        assert reports["a0"].skipped == 0
    assert_same_trajectories(finals["aggregate"], finals["per_edge"])
    assert_same_trajectories(finals["aggregate"], finals["clear"])


def test_the_decrypt_mode_is_checked() -> None:
    with pytest.raises(ConfigError, match="decrypt: unknown value 'sum'"):
        configs(unique_run(), ring(), "paillier", decrypt="sum")
    cfg = configs(unique_run(), ring(), "paillier", weight_mode=WeightMode.PER_COORDINATE)["a0"]
    assert cfg.decrypt is DecryptMode.AGGREGATE and not cfg.aggregates


# --- (b) determinism ---------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("algorithm", [Algorithm.CLEAR, Algorithm.PLAIN])
async def test_same_seed_same_trajectory(tmp_path: Path, algorithm: Algorithm) -> None:
    graph = ring()
    dirs = [tmp_path / "first", tmp_path / "second", tmp_path / "other-seed"]
    await run_ring(configs(unique_run(), graph, algorithm, seed=5), dirs[0])
    await run_ring(configs(unique_run(), graph, algorithm, seed=5), dirs[1])
    await run_ring(configs(unique_run(), graph, algorithm, seed=6), dirs[2])
    first, second, other = (trajectories(d, graph) for d in dirs)
    assert_same_trajectories(first, second)
    # the seed is what fixes it: another seed draws other minibatches and stepsizes
    assert any(not np.array_equal(first[a], other[a]) for a in graph)


# --- (c) bad input never crashes an agent ------------------------------------------------


class Disturber:
    """Listens to all of a run's traffic and, at iteration 1, sends the victim five bad
    messages: garbage bytes, a wrong run id, a non-neighbour sender, a reply with an
    invalid payload (for paillier: a ciphertext equal to n^2), and a duplicate request."""

    def __init__(self, bus: MemoryBus, algorithm: Algorithm) -> None:
        self.bus = bus
        self.algorithm = algorithm
        self.victim, self.neighbour, self.stranger = "a0", "a1", "a2"
        self.victim_n: int | None = None
        self.reply_bytes = 0
        self.sent: list[str] = []

    def __call__(self, topic: str, data: bytes) -> None:
        try:
            envelope = decode(data)
        except EnvelopeError:
            return  # our own garbage
        if envelope.run != self.bus.run:
            return
        route = (envelope.sender, envelope.receiver)
        if envelope.kind is Kind.KEY and envelope.sender == self.victim and envelope.payload:
            self.victim_n = int.from_bytes(envelope.payload["n"], "big")
        if envelope.kind is Kind.REPLY and route == (self.neighbour, self.victim):
            # how many ciphertexts a reply holds (packing may put several values in one)
            self.reply_bytes = self.reply_bytes or len(envelope.payload.get("c", b""))
        if envelope.kind is not Kind.REQUEST or envelope.iteration != 1:
            return
        if route == (self.victim, self.neighbour) and "reply" not in self.sent:
            # now, synchronously: the victim waits for this iteration's reply and the
            # neighbour has not answered yet, so only the payload check can refuse it
            self.sent.append("reply")
            self.bus.inject(self.bus.topics.inbox(self.victim, self.neighbour), self.bad_reply())
        if route == (self.neighbour, self.victim) and "duplicate" not in self.sent:
            self.sent.append("duplicate")
            loop = asyncio.get_running_loop()
            loop.call_soon(self.bus.inject, topic, data)
            loop.call_soon(self.send_strangers, dict(envelope.payload))

    def bad_reply(self) -> bytes:
        if self.algorithm is Algorithm.PAILLIER:
            assert self.victim_n is not None
            assert self.reply_bytes > 0
            n = self.victim_n
            width = (2 * n.bit_length() + 7) // 8
            count = self.reply_bytes // width
            # the right size, but the first ciphertext is n^2: outside (0, n^2)
            payload = {"c": pack_ints([n * n] + [1] * (count - 1), width)}
        else:
            payload = {"v": b"\x00" * 32}  # two 16-byte integers, three expected
        return encode(
            Envelope(
                run=self.bus.run,
                iteration=1,
                sender=self.neighbour,
                receiver=self.victim,
                kind=Kind.REPLY,
                payload=payload,
            )
        )

    def send_strangers(self, request_payload: dict[str, Any]) -> None:
        topics = self.bus.topics
        self.bus.inject(topics.inbox(self.victim, self.neighbour), b"\xc1\x00garbage\xff")
        self.sent.append("garbage")
        wrong_run = Envelope(
            run=f"{self.bus.run}-other",
            iteration=1,
            sender=self.neighbour,
            receiver=self.victim,
            kind=Kind.REQUEST,
            payload=request_payload,
        )
        self.bus.inject(topics.inbox(self.victim, self.neighbour), encode(wrong_run))
        self.sent.append("wrong run")
        stranger = Envelope(
            run=self.bus.run,
            iteration=1,
            sender=self.stranger,
            receiver=self.victim,
            kind=Kind.REQUEST,
            payload=request_payload,
        )
        self.bus.inject(topics.inbox(self.victim, self.stranger), encode(stranger))
        self.sent.append("stranger")


@pytest.mark.asyncio
@pytest.mark.parametrize("algorithm", [Algorithm.PAILLIER, Algorithm.CLEAR])
async def test_bad_input_is_dropped_and_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, algorithm: Algorithm
) -> None:
    caplog.set_level(logging.WARNING)
    graph = ring()
    quiet = await run_ring(configs(unique_run(), graph, algorithm), tmp_path / "quiet")
    assert all(report.dropped == 0 for report in quiet.values())
    assert not [r for r in caplog.records if "dropped" in r.getMessage()]

    run = unique_run()
    bus = MemoryBus(run)
    disturber = Disturber(bus, algorithm)
    unsubscribe = bus.subscribe(bus.topics.everything, disturber)
    try:
        noisy = await run_ring(configs(run, graph, algorithm), tmp_path / "noisy", bus=bus)
    finally:
        unsubscribe()

    assert sorted(disturber.sent) == ["duplicate", "garbage", "reply", "stranger", "wrong run"]
    # the run completed with exactly the states of the undisturbed one
    for agent in graph:
        np.testing.assert_array_equal(noisy[agent].x, quiet[agent].x, err_msg=agent)
    assert_same_trajectories(
        trajectories(tmp_path / "quiet", graph), trajectories(tmp_path / "noisy", graph)
    )
    # every bad message cost the victim one drop and one warning, and nobody else anything
    assert noisy["a0"].dropped == 5
    assert all(noisy[a].dropped == 0 for a in graph if a != "a0")
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "dropped" in r.getMessage()
    ]
    assert len(warnings) == 5, warnings
    bad_reply = "outside (0, n^2)" if algorithm is Algorithm.PAILLIER else "expected 3 integers"
    for reason in (
        "not a msgpack envelope",
        "wrong run id",
        "'a2' is not a neighbour",
        bad_reply,
        "duplicate request",
    ):
        assert any(reason in w and "a0" in w for w in warnings), (reason, warnings)


# --- (d) a neighbour that never starts ---------------------------------------------------


@pytest.mark.asyncio
async def test_missing_neighbour_fails_the_startup_wait(tmp_path: Path) -> None:
    graph = ring()
    cfgs = configs(
        unique_run(), graph, "paillier", iterations=1, startup_timeout=0.5, round_timeout=0.3
    )
    del cfgs["a3"]  # never starts
    started = time.perf_counter()
    results = await run_ring(cfgs, tmp_path, settle=True)
    elapsed = time.perf_counter() - started
    for agent in ("a0", "a2"):  # the neighbours of a3
        error = results[agent]
        assert isinstance(error, AgentError), (agent, error)
        assert "a3" in str(error)
        assert "a1" not in str(error)
    # a1 has both its neighbours' keys; it skips them when they never get to iterate
    report = results["a1"]
    assert isinstance(report, AgentReport), report
    assert report.skipped == 2
    assert 0.45 <= elapsed < 0.5 + 3.0


# --- (e) a neighbour that stops answering mid-run ----------------------------------------


def crash_after_two(k: int) -> None:
    if k == 2:
        raise Crash


async def run_with_a_crash(tmp_path: Path, iterations: int) -> dict[str, Any]:
    """A ring where a2 vanishes after iteration 1 (no goodbye); round_timeout 0.3 s."""
    cfgs = configs(unique_run(), ring(), "clear", iterations=iterations, round_timeout=0.3)
    started = time.perf_counter()
    results = await run_ring(cfgs, tmp_path, on_iteration={"a2": crash_after_two}, settle=True)
    elapsed = time.perf_counter() - started
    assert isinstance(results["a2"], Crash)
    for agent in ("a0", "a1", "a3"):
        assert isinstance(results[agent], AgentReport), results[agent]
        assert len(journal(tmp_path, agent)) == iterations + 1
    # each skip costs one bounded wait, never a hang
    assert elapsed < RUN_BOUND / 3
    return results


@pytest.mark.asyncio
async def test_silent_neighbour_is_skipped_after_the_round_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    iterations = 6
    results = await run_with_a_crash(tmp_path, iterations)
    for agent in ("a1", "a3"):  # a2's neighbours
        lines = journal(tmp_path, agent)
        assert lines[1]["skipped"] == []  # iteration 0: a2 was there
        for line in lines[4:]:  # iterations 3..5: a2 was gone
            # a2 is skipped; a live neighbour may be too in the round a2 died (its own
            # wait on a2 can outlast ours), symmetrically: see the next test
            assert "a2" in line["skipped"], (agent, line["k"])
            assert line["wait_s"] >= 0.25
        report = results[agent]
        assert report.skipped >= iterations - 3
    skip_warnings = [r.getMessage() for r in caplog.records if "skipped ['a2']" in r.getMessage()]
    assert any(w.startswith("agent a1") for w in skip_warnings)
    assert any(w.startswith("agent a3") for w in skip_warnings)


@pytest.mark.asyncio
async def test_skips_are_symmetric_and_stay_on_the_silent_neighbours_edges(tmp_path: Path) -> None:
    # DESIGN.md: a neighbour that misses iteration k "is skipped for that iteration on
    # both sides". The coupling a_ij (x_j - x_i) is only antisymmetric (the network's
    # sum only preserved) if i drops j exactly when j drops i. a0 is not a neighbour of
    # the vanished a2, and a0's neighbours a1 and a3 are alive: a0 should skip nobody.
    # A term applied and later undone (a skip notice that came after the update) counts
    # as dropped: "compensated" lists [neighbour, iteration] pairs.
    await run_with_a_crash(tmp_path, iterations=6)
    dropped: dict[str, set[tuple[str, int]]] = {}
    for a in ("a0", "a1", "a3"):
        lines = journal(tmp_path, a)
        dropped[a] = {(n, line["k"] - 1) for line in lines for n in line["skipped"]}
        dropped[a] |= {(n, k) for line in lines for n, k in line["compensated"]}
    one_sided = sorted(
        (k, i, j)
        for i in dropped
        for j in dropped
        if j in ring()[i]
        for k in range(6)
        if ((j, k) in dropped[i]) != ((i, k) in dropped[j])
    )
    assert one_sided == [], "(iteration, agent, neighbour) dropped on one side only"
    # a0 is two hops from a2: at most the round a2 died may spill over to it
    assert len({k for _, k in dropped["a0"]}) <= 1, sorted(dropped["a0"])


# --- (f) journal lines -------------------------------------------------------------------


FIELDS = {
    "k",
    "t",
    "agent",
    "objective",
    "stepsize",
    "gamma",
    "bytes_in",
    "bytes_out",
    "crypto_s",
    "wait_s",
    "compute_s",
    "skipped",
}


@pytest.mark.asyncio
async def test_journal_lines(tmp_path: Path) -> None:
    graph = ring()
    cfgs = configs(unique_run(), graph, "clear")
    started = time.perf_counter()
    reports = await run_ring(cfgs, tmp_path)
    wall = time.perf_counter() - started
    objectives = problems(graph)
    for agent, cfg in cfgs.items():
        lines = journal(tmp_path, agent)
        assert [line["k"] for line in lines] == list(range(ITERATIONS + 1))
        for line in lines:
            assert line.keys() >= FIELDS | {"x"}, FIELDS - line.keys()
            assert "digest" not in line
            assert line["agent"] == agent
            assert line["objective"] == pytest.approx(
                objectives[agent].value(np.array(line["x"])), rel=1e-12
            )
            for name in ("crypto_s", "wait_s", "compute_s"):
                assert 0 <= line[name] <= wall, (name, line[name], wall)
        # per-iteration durations, not running totals: together they fit in the run's wall
        # time (8 cumulative values would add up to several runs), and the run took time
        spent = sum(line[n] for line in lines for n in ("crypto_s", "wait_s", "compute_s"))
        assert 0 < spent <= wall + 1e-3
        assert lines[0]["x"] == list(cfg.x0)
        assert lines[-1]["x"] == reports[agent].x.tolist()
        times = [line["t"] for line in lines]
        assert times == sorted(times)
        for line in lines[1:]:
            k = line["k"] - 1  # the line after iteration k
            assert line["gamma"] == cfg.attenuation(k)
            base = cfg.stepsize.base(k)
            spread = cfg.stepsize.spread
            assert base * (1 - spread) <= line["stepsize"] <= base * (1 + spread)
            assert line["bytes_out"] > 0
            assert line["bytes_in"] > 0
            assert line["skipped"] == []


@pytest.mark.asyncio
async def test_digest_journal_has_digests_of_the_same_states(tmp_path: Path) -> None:
    graph = ring()
    await run_ring(configs(unique_run(), graph, "clear"), tmp_path / "state")
    await run_ring(configs(unique_run(), graph, "clear", record=Record.DIGEST), tmp_path / "digest")
    for agent in graph:
        states = journal(tmp_path / "state", agent)
        digests = journal(tmp_path / "digest", agent)
        assert len(digests) == ITERATIONS + 1
        for full, short in zip(states, digests, strict=True):
            assert "x" not in short
            assert short.keys() >= FIELDS | {"digest"}
            assert short["digest"] == digest(np.array(full["x"]))
        assert len({line["digest"] for line in digests}) == ITERATIONS + 1


# --- (g) lifecycle and configuration -----------------------------------------------------


@pytest.mark.asyncio
async def test_agent_cannot_be_entered_twice() -> None:
    graph = ring()
    cfg = configs(unique_run(), graph, "paillier")["a0"]
    bus = MemoryBus(cfg.run)
    agent = make_agent(bus, cfg, problems(graph)["a0"], None)
    async with agent:
        with pytest.raises(AgentError):
            async with agent:
                pass  # pragma: no cover
    with pytest.raises(AgentError):
        async with agent:
            pass  # pragma: no cover


@pytest.mark.asyncio
async def test_run_needs_the_async_with_block() -> None:
    graph = ring()
    cfg = configs(unique_run(), graph, "clear")["a0"]
    agent = make_agent(MemoryBus(cfg.run), cfg, problems(graph)["a0"], None)
    with pytest.raises(AgentError):
        await agent.run()


def test_agent_refuses_a_mismatched_objective_or_endpoint() -> None:
    graph = ring()
    cfg = configs(unique_run(), graph, "clear")["a0"]
    bus = MemoryBus(cfg.run)
    wide = LeastSquares(np.ones((4, DIM + 1)), np.ones(4))
    with pytest.raises(AgentError, match="dimension"):
        Agent(cfg, wide, bus.endpoint("a0", neighbours=cfg.neighbours))
    with pytest.raises(AgentError, match="endpoint"):
        Agent(cfg, problems(graph)["a0"], bus.endpoint("a1", neighbours=["a0", "a2"]))


def base_config(**overrides: Any) -> AgentConfig:
    settings: dict[str, Any] = {
        "run": "r1",
        "agent_id": "a0",
        "neighbours": {"a1": 2, "a3": 2},
        "algorithm": "paillier",
        "iterations": 3,
        "x0": (0.0, 0.0),
        "seed": (1,),
        "stepsize": Stepsize(lambda0=0.1),
        "key_bits": INSECURE_TEST_BITS,
        "insecure_keys": True,
    }
    settings.update(overrides)
    return AgentConfig(**settings)


def test_base_config_is_valid() -> None:
    cfg = base_config()
    assert cfg.algorithm is Algorithm.PAILLIER
    assert cfg.dim == 2
    assert dict(cfg.neighbours) == {"a1": 2, "a3": 2}
    with pytest.raises(TypeError):
        cfg.neighbours["a5"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    "overrides",
    [
        {"iterations": 0},
        {"iterations": -3},
        {"a_max": 0.71},  # 1 * 0.71^2 * 2 > 1
        {"attenuation": Attenuation(gamma0=1.0), "a_max": math.sqrt(0.5) + 1e-9},
        {"neighbours": {"a1": 2, "a2": 2, "a3": 2, "a4": 2}},  # 1 * 0.5^2 * 4 == 1
        {"key_bits": 1024, "insecure_keys": False},
        {"key_bits": 256, "insecure_keys": False},
        {"neighbours": {"a0": 2, "a1": 2}},
        {"neighbours": {}},
        {"neighbours": {"a1": 0}},
        {"agent_id": "a/0"},
        {"agent_id": "a+0"},
        {"agent_id": "a#0"},
        {"agent_id": ""},
        {"neighbours": {"a/1": 2}},
        {"neighbours": {"a+1": 2}},
        {"run": "r/1"},
        {"run": "r+1"},
        {"algorithm": "fancy"},
        {"weight_mode": "per_vertex"},
        {"x0": ()},
        {"x0": (0.0, math.nan)},
        {"x0": (math.inf, 0.0)},
        {"batch_size": 0},
        {"weight_bits": 0},
        {"weight_bits": 33},
        {"a_max": 0.0},
        {"frac_bits": 60},
        {"dp_noise": -1.0},
        {"round_timeout": 0.0},
        {"startup_timeout": -1.0},
    ],
    ids=repr,
)
def test_config_refuses_bad_values(overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        base_config(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [{"dp_noise": math.nan}, {"round_timeout": math.nan}, {"startup_timeout": math.nan}],
    ids=repr,
)
def test_config_refuses_nan_parameters(overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        base_config(**overrides)


def test_config_accepts_what_is_allowed() -> None:
    # a big a_max only matters when the edge protocol uses it
    base_config(algorithm="plain", a_max=0.9)
    # just under the bound; and 2048-bit keys need no flag
    base_config(a_max=0.7)
    base_config(key_bits=2048, insecure_keys=False)
    # 1024 bits only with the insecure flag
    assert base_config(key_bits=1024, insecure_keys=True).key_bits == 1024
