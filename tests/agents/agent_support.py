"""What the whole-agent tests share: a small ring, its problems and configs, and running it
on the in-memory bus (used by test_agent.py and test_agent_rejoin.py)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np

from agents import (
    Agent,
    AgentConfig,
    AgentReport,
    Algorithm,
    CryptoBackend,
    LeastSquares,
    Stepsize,
)
from transport import MemoryBus

INSECURE_TEST_BITS = 256
"""Small Paillier keys, named as such: these runs test the runtime, not security."""

RING_SIZE = 4
DIM = 3
SAMPLES = 12
BATCH = 4
ITERATIONS = 8
DATA_SEED = 20240611
LAMBDA0 = 0.2
RUN_BOUND = 30.0
"""No whole run in this module may take longer than this (seconds)."""


# --- a small ring ------------------------------------------------------------------------


def ring(size: int = RING_SIZE) -> dict[str, dict[str, int]]:
    ids = [f"a{k}" for k in range(size)]
    return {ids[k]: {ids[k - 1]: 2, ids[(k + 1) % size]: 2} for k in range(size)}


def problems(graph: Mapping[str, Any], seed: int = DATA_SEED) -> dict[str, LeastSquares]:
    rng = np.random.default_rng(seed)
    x_true = rng.normal(size=DIM)
    out = {}
    for agent in sorted(graph):
        features = rng.normal(size=(SAMPLES, DIM))
        out[agent] = LeastSquares(features, features @ x_true + 0.1 * rng.normal(size=SAMPLES))
    return out


def unique_run() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


def configs(
    run: str,
    graph: Mapping[str, Mapping[str, int]],
    algorithm: Algorithm | str,
    *,
    seed: int = 1,
    **overrides: Any,
) -> dict[str, AgentConfig]:
    settings: dict[str, Any] = {
        "iterations": ITERATIONS,
        "stepsize": Stepsize(lambda0=LAMBDA0),
        "key_bits": INSECURE_TEST_BITS,
        "insecure_keys": True,
        "batch_size": BATCH,
        "round_timeout": 10.0,
        "startup_timeout": 10.0,
    }
    settings.update(overrides)
    out = {}
    for index, agent in enumerate(sorted(graph)):
        out[agent] = AgentConfig(
            run=run,
            agent_id=agent,
            neighbours=graph[agent],
            algorithm=Algorithm(algorithm),
            x0=(float(index), -0.5 * index, 0.25 * index * index),
            seed=(seed, index),
            **settings,
        )
    return out


def make_agent(
    bus: MemoryBus,
    config: AgentConfig,
    objective: LeastSquares,
    journal_dir: Path | None,
    *,
    on_iteration: Callable[[int], None] | None = None,
    crypto: CryptoBackend | None = None,
    checkpoints: Path | None = None,
) -> Agent:
    endpoint = bus.endpoint(config.agent_id, neighbours=config.neighbours)
    journal = journal_dir / f"{config.agent_id}.jsonl" if journal_dir is not None else None
    checkpoint = checkpoints / f"{config.agent_id}.ckpt" if checkpoints is not None else None
    return Agent(
        config,
        objective,
        endpoint,
        crypto=crypto,
        journal=journal,
        on_iteration=on_iteration,
        checkpoint=checkpoint,
        unauthenticated=True,
    )


async def run_one(agent: Agent) -> AgentReport:
    async with agent:
        return await agent.run()


@overload
async def run_ring(
    cfgs: Mapping[str, AgentConfig],
    journal_dir: Path | None = None,
    *,
    bus: MemoryBus | None = None,
    on_iteration: Mapping[str, Callable[[int], None]] | None = None,
    settle: Literal[False] = False,
    crypto: CryptoBackend | None = None,
) -> dict[str, AgentReport]: ...


@overload
async def run_ring(
    cfgs: Mapping[str, AgentConfig],
    journal_dir: Path | None = None,
    *,
    bus: MemoryBus | None = None,
    on_iteration: Mapping[str, Callable[[int], None]] | None = None,
    settle: Literal[True],
    crypto: CryptoBackend | None = None,
) -> dict[str, AgentReport | BaseException]: ...


async def run_ring(
    cfgs: Mapping[str, AgentConfig],
    journal_dir: Path | None = None,
    *,
    bus: MemoryBus | None = None,
    on_iteration: Mapping[str, Callable[[int], None]] | None = None,
    settle: bool = False,
    crypto: CryptoBackend | None = None,
) -> Mapping[str, AgentReport | BaseException]:
    """Run every agent of ``cfgs`` on one bus. With ``settle`` an agent's failure is its
    result; without, the first failure cancels the rest and is raised."""
    run = next(iter(cfgs.values())).run
    bus = bus or MemoryBus(run)
    objectives = problems(cfgs)
    hooks = on_iteration or {}
    agents = {
        a: make_agent(bus, c, objectives[a], journal_dir, on_iteration=hooks.get(a), crypto=crypto)
        for a, c in cfgs.items()
    }
    async with asyncio.timeout(RUN_BOUND):
        if settle:
            results = await asyncio.gather(
                *(run_one(agent) for agent in agents.values()), return_exceptions=True
            )
            return dict(zip(agents, results, strict=True))
        async with asyncio.TaskGroup() as group:
            tasks = {a: group.create_task(run_one(agent)) for a, agent in agents.items()}
    return {a: t.result() for a, t in tasks.items()}


def journal(directory: Path, agent: str) -> list[dict[str, Any]]:
    lines = (directory / f"{agent}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def trajectories(directory: Path, graph: Mapping[str, Any]) -> dict[str, np.ndarray]:
    return {a: np.array([line["x"] for line in journal(directory, a)]) for a in sorted(graph)}


def assert_same_trajectories(
    left: Mapping[str, np.ndarray], right: Mapping[str, np.ndarray]
) -> None:
    assert left.keys() == right.keys()
    for agent in left:
        assert left[agent].shape == (ITERATIONS + 1, DIM)
        np.testing.assert_array_equal(left[agent], right[agent], err_msg=agent)


class Crash(Exception):
    """Raised from a2's iteration hook: a2 disappears without saying goodbye."""
