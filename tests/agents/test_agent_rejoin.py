"""Checkpoints, crash and rejoin, and agents falling back into step (issue 7, item 2).

An agent given a checkpoint path writes its state, iteration, random generator and
key there after every iteration, atomically; entered again with the same path it
resumes. An agent that is two or more iterations behind a neighbour jumps to the
neighbour's iteration, so a rejoining agent is back in step within a few iterations.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest

from agents import (
    Agent,
    AgentConfig,
    AgentError,
    AgentReport,
    Checkpoint,
    CheckpointError,
    Journal,
)
from tests.agents.agent_support import (
    Crash,
    assert_same_trajectories,
    configs,
    journal,
    make_agent,
    problems,
    ring,
    run_one,
    run_ring,
    trajectories,
    unique_run,
)
from transport import Envelope, Kind, MemoryBus, decode

ITERATIONS = 40
CRASH_AT = 10
"""a2 dies right after logging x(CRASH_AT) (checkpointed just before): it resumes there."""
DOWN = 1.5
"""Seconds a2 stays down; its neighbours skip it meanwhile (round_timeout 0.2 s)."""


def x_star(cfgs: dict[str, AgentConfig]) -> np.ndarray:
    objectives = problems(cfgs)
    a = np.vstack([o.features for o in objectives.values()])
    y = np.concatenate([o.targets for o in objectives.values()])
    solution: np.ndarray = np.linalg.lstsq(a, y, rcond=None)[0]
    return solution


def dropped_terms(tmp_path: Path, agent: str) -> set[tuple[str, int]]:
    lines = journal(tmp_path, agent)
    out = {(n, line["k"] - 1) for line in lines for n in line["skipped"]}
    return out | {(n, k) for line in lines for n, k in line["compensated"]}


def crashing_at(k: int) -> Callable[[int], None]:
    def hook(done: int) -> None:
        if done == k:
            raise Crash

    return hook


async def crash_and_rejoin(tmp_path: Path, algorithm: str) -> dict[str, Any]:
    """A ring of 4; a2 crashes, stays down DOWN seconds and is restarted from its
    checkpoint while the others go on."""
    cfgs = configs(unique_run(), ring(), algorithm, iterations=ITERATIONS, round_timeout=0.2)
    bus = MemoryBus(next(iter(cfgs.values())).run)
    objectives = problems(cfgs)
    checkpoints = tmp_path / "checkpoints"
    traffic: list[Envelope] = []  # everything published, in order
    bus.subscribe(bus.topics.everything, lambda _, data: traffic.append(decode(data)))

    def agent(a: str, hook: Any = None) -> Agent:
        return make_agent(
            bus, cfgs[a], objectives[a], tmp_path, on_iteration=hook, checkpoints=checkpoints
        )

    async def a2_crashes_then_rejoins() -> AgentReport:
        with pytest.raises(Crash):
            await run_one(agent("a2", crashing_at(CRASH_AT)))
        await asyncio.sleep(DOWN)
        return await run_one(agent("a2"))

    async with asyncio.timeout(60):
        async with asyncio.TaskGroup() as group:
            tasks = {a: group.create_task(run_one(agent(a))) for a in ("a0", "a1", "a3")}
            tasks["a2"] = group.create_task(a2_crashes_then_rejoins())
    return {"cfgs": cfgs, "reports": {a: t.result() for a, t in tasks.items()}, "traffic": traffic}


@pytest.mark.asyncio
@pytest.mark.parametrize("algorithm", ["paillier", "plain"])
async def test_crashed_agent_resumes_from_its_checkpoint_and_catches_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, algorithm: str
) -> None:
    caplog.set_level(logging.INFO, logger="hemesh.agent")
    outcome = await crash_and_rejoin(tmp_path, algorithm)
    reports, cfgs = outcome["reports"], outcome["cfgs"]
    a2 = reports["a2"]
    assert a2.resumed_at == CRASH_AT
    assert a2.jumped > 0, "a2 came back behind its neighbours: it must have jumped"
    lines = journal(tmp_path, "a2")
    resumed = [line for line in lines if line.get("resumed")]
    assert [line["k"] for line in resumed] == [CRASH_AT]
    jumped = [line["k"] for line in lines if line.get("jumped")]
    assert len(jumped) == a2.jumped and jumped == sorted(jumped)
    assert any("a2 resumed at iteration" in r.getMessage() for r in caplog.records)
    assert not any("different public key" in r.getMessage() for r in caplog.records)

    # its neighbours skipped it while it was down, and only for a while; hearing its key
    # again, they repeated the skip notices it missed
    keys = [i for i, e in enumerate(outcome["traffic"]) if (e.kind, e.sender) == (Kind.KEY, "a2")]
    assert len(keys) == 2
    for n in ("a1", "a3"):
        down = {line["k"] - 1 for line in journal(tmp_path, n) if "a2" in line["skipped"]}
        repeated = {
            e.iteration
            for e in outcome["traffic"][keys[1] :]
            if (e.kind, e.sender, e.receiver) == (Kind.SKIP, n, "a2")
        }
        assert repeated & {k for k in down if k < CRASH_AT + a2.jumped}, (n, down, repeated)
        skipped = [line["k"] - 1 for line in journal(tmp_path, n) if "a2" in line["skipped"]]
        assert len(skipped) >= 3, (n, skipped)
        # back in step: the last third of the run has no skips at all
        assert max(skipped) < ITERATIONS - ITERATIONS // 3, (n, skipped)
    # every agent logged every iteration (a2's last line per k counts)
    for a in cfgs:
        assert {line["k"] for line in journal(tmp_path, a)} == set(range(ITERATIONS + 1))

    # the coupling stayed symmetric: a term dropped on one side is dropped on the other
    dropped = {a: dropped_terms(tmp_path, a) for a in cfgs}
    one_sided = sorted(
        (k, i, j)
        for i in cfgs
        for j in ring()[i]
        for k in range(ITERATIONS)
        if ((j, k) in dropped[i]) != ((i, k) in dropped[j])
    )
    assert one_sided == []

    # and the run converged
    states = trajectories(tmp_path, cfgs)
    last = {a: {line["k"]: line["x"] for line in journal(tmp_path, a)} for a in cfgs}
    target = x_star(cfgs)
    start = np.mean([np.sum((states[a][0] - target) ** 2) for a in cfgs])
    end = np.mean([np.sum((np.array(last[a][ITERATIONS]) - target) ** 2) for a in cfgs])
    assert end < 0.05 * start, (start, end)


@pytest.mark.asyncio
async def test_agent_restarted_after_its_neighbours_finished_jumps_to_the_end(
    tmp_path: Path,
) -> None:
    """Their goodbyes are retained: a2 learns on restart that nobody is left to wait
    for, and ends at once instead of waiting out a round timeout per iteration."""
    cfgs = configs(unique_run(), ring(), "paillier", iterations=20, round_timeout=0.2)
    bus = MemoryBus(cfgs["a0"].run)
    objectives = problems(cfgs)
    checkpoints = tmp_path / "checkpoints"

    def agent(a: str, hook: Any = None) -> Agent:
        return make_agent(
            bus, cfgs[a], objectives[a], tmp_path, on_iteration=hook, checkpoints=checkpoints
        )

    async def a2_dies() -> None:
        with pytest.raises(Crash):
            await run_one(agent("a2", crashing_at(5)))

    async with asyncio.timeout(60):
        await asyncio.gather(a2_dies(), *(run_one(agent(a)) for a in ("a0", "a1", "a3")))
        started = time.monotonic()
        report = await run_one(agent("a2"))
    assert time.monotonic() - started < 5 * 0.2  # not 15 round timeouts
    assert report.resumed_at == 5
    assert report.jumped >= 15 - 2
    lines = journal(tmp_path, "a2")
    assert lines[-1]["k"] == 20
    assert np.array_equal(lines[-1]["x"], report.x)


@pytest.mark.asyncio
async def test_resuming_replays_the_same_iterations_exactly(tmp_path: Path) -> None:
    """Both agents of a pair die at the same point and resume: their states, iteration
    and random draws come back exactly, so the trajectory is the uninterrupted one."""
    pair = {"a0": {"a1": 1}, "a1": {"a0": 1}}
    reference = tmp_path / "reference"
    resumed = tmp_path / "resumed"
    await run_ring(configs(unique_run(), pair, "paillier", round_timeout=10.0), reference)

    cfgs = configs(unique_run(), pair, "paillier", round_timeout=10.0)
    bus = MemoryBus(cfgs["a0"].run)
    objectives = problems(cfgs)

    def agent(a: str, hook: Any = None) -> Agent:
        return make_agent(
            bus, cfgs[a], objectives[a], resumed, on_iteration=hook, checkpoints=resumed / "ckpt"
        )

    results = await asyncio.gather(
        *(run_one(agent(a, crashing_at(5))) for a in pair), return_exceptions=True
    )
    assert all(isinstance(r, Crash) for r in results), results
    reports = await asyncio.gather(*(run_one(agent(a)) for a in pair))
    assert [r.resumed_at for r in reports] == [5, 5]
    assert [r.jumped for r in reports] == [0, 0]

    def last_per_k(directory: Path) -> dict[str, np.ndarray]:
        out = {}
        for a in pair:
            by_k = {line["k"]: line["x"] for line in journal(directory, a)}
            out[a] = np.array([by_k[k] for k in sorted(by_k)])
        return out

    assert_same_trajectories(last_per_k(reference), last_per_k(resumed))


@pytest.mark.asyncio
async def test_checkpoint_file_is_private_and_written_whole(tmp_path: Path) -> None:
    pair = {"a0": {"a1": 1}, "a1": {"a0": 1}}
    cfgs = configs(unique_run(), pair, "paillier")
    bus = MemoryBus(cfgs["a0"].run)
    objectives = problems(cfgs)
    folder = tmp_path / "checkpoints"
    agents = [make_agent(bus, cfgs[a], objectives[a], tmp_path, checkpoints=folder) for a in pair]
    reports = await asyncio.gather(*(run_one(a) for a in agents))
    assert sorted(p.name for p in folder.iterdir()) == ["a0.ckpt", "a1.ckpt"]  # no scratch
    for report in reports:
        path = folder / f"{report.agent_id}.ckpt"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        checkpoint = Checkpoint.load(path)
        assert checkpoint.k == cfgs[report.agent_id].iterations
        assert np.array_equal(checkpoint.x, report.x)  # exact, through JSON
        assert checkpoint.key is not None and checkpoint.key[0] * checkpoint.key[1] > 2**255


def test_checkpoint_round_trip_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    rng.random(3)
    original = Checkpoint(
        run="r",
        agent="a0",
        algorithm="paillier",
        iterations=9,
        k=4,
        x=np.array([0.1, -1 / 3, 1e-300]),
        rng=dict(rng.bit_generator.state),
        key=(2**127 - 1, 2**89 - 1),
        base=3**400,
        correction=np.array([0.0, 0.5, -0.25]),
        applied={3: {"a1": np.array([1 / 7, 2.0, 3.0])}},
    )
    path = tmp_path / "c.ckpt"
    original.save(path)
    loaded = Checkpoint.load(path)
    assert loaded.key == original.key and loaded.base == original.base
    assert np.array_equal(loaded.x, original.x)
    assert np.array_equal(loaded.applied[3]["a1"], original.applied[3]["a1"])
    restored = np.random.default_rng()
    restored.bit_generator.state = loaded.rng
    assert np.array_equal(restored.random(5), rng.random(5))
    loaded.check(run="r", agent="a0", algorithm="paillier", iterations=9, dim=3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\xc1", "bad msgpack"),
        (msgpack.packb({"format": "other"}), "not a checkpoint of format"),
        (msgpack.packb({"format": "hemesh-checkpoint/1", "run": "r"}), "malformed checkpoint"),
        (msgpack.packb([1, 2]), "not a checkpoint of format"),
    ],
)
def test_unreadable_checkpoint_is_refused_with_its_path(
    tmp_path: Path, text: bytes, message: str
) -> None:
    path = tmp_path / "c.ckpt"
    path.write_bytes(text)
    with pytest.raises(CheckpointError, match=message) as caught:
        Checkpoint.load(path)
    assert str(path) in str(caught.value)


@pytest.mark.asyncio
async def test_checkpoint_of_another_run_is_refused_before_anything_starts(tmp_path: Path) -> None:
    pair = {"a0": {"a1": 1}, "a1": {"a0": 1}}
    first = configs(unique_run(), pair, "clear")
    folder = tmp_path / "checkpoints"
    bus = MemoryBus(first["a0"].run)
    objectives = problems(first)
    await asyncio.gather(
        *(
            run_one(make_agent(bus, first[a], objectives[a], tmp_path, checkpoints=folder))
            for a in pair
        )
    )
    second = configs(unique_run(), pair, "clear")
    other_bus = MemoryBus(second["a0"].run)
    agent = make_agent(
        other_bus, second["a0"], objectives["a0"], tmp_path / "second", checkpoints=folder
    )
    refused = r"a0.ckpt: not this agent's checkpoint: its run is .* delete it to start over"
    with pytest.raises(AgentError, match=refused):
        await run_one(agent)
    assert not (tmp_path / "second" / "a0.jsonl").exists()


def test_checkpoint_every_must_be_positive(tmp_path: Path) -> None:
    pair = {"a0": {"a1": 1}, "a1": {"a0": 1}}
    cfg = configs(unique_run(), pair, "clear")["a0"]
    bus = MemoryBus(cfg.run)
    with pytest.raises(AgentError, match="checkpoint_every"):
        Agent(
            cfg,
            problems({"a0": {}})["a0"],
            bus.endpoint("a0", neighbours=cfg.neighbours),
            checkpoint=tmp_path / "c.ckpt",
            checkpoint_every=0,
        )


def test_checkpoint_with_a_wrong_vector_size_or_nan_is_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "c.ckpt"
    good = Checkpoint(
        run="r",
        agent="a0",
        algorithm="clear",
        iterations=1,
        k=0,
        x=np.zeros(2),
        rng=dict(rng.bit_generator.state),
        correction=np.zeros(2),
    )
    good.save(path)
    doc = msgpack.unpackb(path.read_bytes())
    assert doc["format"] == "hemesh-checkpoint/1" and doc["key"] is None
    assert os.listdir(tmp_path) == ["c.ckpt"]
    for field, value in (("x", b"\0" * 8), ("x", np.array([np.nan, 0.0]).astype(">f8").tobytes())):
        path.write_bytes(msgpack.packb({**doc, field: value}))
        with pytest.raises(CheckpointError, match="malformed checkpoint"):
            Checkpoint.load(path)
    path.write_bytes(msgpack.packb(doc))
    with pytest.raises(CheckpointError, match="dimension 3"):
        Checkpoint.load(path).check(run="r", agent="a0", algorithm="clear", iterations=1, dim=3)


def test_a_torn_last_line_stays_apart_from_the_next(tmp_path: Path) -> None:
    path = tmp_path / "a0.jsonl"
    path.write_text('{"k": 0}\n{"k": 1, "x": [0.')  # killed mid-write
    with Journal(path) as journal_:
        journal_.write({"k": 1})
    assert path.read_text().splitlines() == ['{"k": 0}', '{"k": 1, "x": [0.', '{"k":1}']
    with Journal(path) as journal_:  # a whole last line: nothing added
        journal_.write({"k": 2})
    assert path.read_text().splitlines()[-2:] == ['{"k":1}', '{"k":2}']


@pytest.mark.asyncio
async def test_a_paillier_checkpoint_without_its_key_is_refused(tmp_path: Path) -> None:
    pair = {"a0": {"a1": 1}, "a1": {"a0": 1}}
    cfg = configs(unique_run(), pair, "paillier")["a0"]
    folder = tmp_path / "checkpoints"
    rng = np.random.default_rng(1)
    Checkpoint(
        run=cfg.run,
        agent="a0",
        algorithm="paillier",
        iterations=cfg.iterations,
        k=2,
        x=np.zeros(cfg.dim),
        rng=dict(rng.bit_generator.state),
        correction=np.zeros(cfg.dim),
    ).save(folder / "a0.ckpt")
    bus = MemoryBus(cfg.run)
    agent = make_agent(bus, cfg, problems(pair)["a0"], tmp_path, checkpoints=folder)
    with pytest.raises(CheckpointError, match="without its key"):
        await run_one(agent)
