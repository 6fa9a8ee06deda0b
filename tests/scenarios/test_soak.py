"""Soak: 32 agents, 1000 iterations on the memory transport, memory sampled as they go.

After a warm-up of WARMUP iterations the process's resident memory and the number of
live Python objects must stay flat: everything an agent keeps per iteration (rounds,
replies, applied terms, skip notices) is pruned, so nothing may grow with k.

    .venv/bin/pytest tests/scenarios/test_soak.py -q -m slow -s   # prints the samples
"""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

import pytest

from agents import Algorithm
from scenarios import parse, run_scenario

AGENTS = 32
ITERATIONS = 1000
WARMUP = 300
EVERY = 50
RSS_GROWTH_BOUND = 8 * 1024 * 1024
"""Allowed resident-memory growth from the warm-up to the end (allocator noise)."""
OBJECT_GROWTH_BOUND = 2000
"""Allowed growth of the live-object count: less than 3 objects per iteration of the ring."""


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.slow
def test_32_agents_for_1000_iterations_keep_memory_flat(tmp_path: Path) -> None:
    scenario = parse(
        {
            "name": "soak",
            "seed": 2,
            "iterations": ITERATIONS,
            "topology": {"kind": "ring", "n": AGENTS},
            "problem": {"dim": 2, "samples": 10, "batch_size": 4},
            "algorithm": {"kind": "clear"},
            "transport": {"kind": "memory", "round_timeout": 10.0, "startup_timeout": 10.0},
            "output": {"record": "state"},
        },
        source="soak",
    )
    steps = [0]
    samples: list[tuple[int, int, int]] = []  # (iteration, rss, live objects)

    def progress(algorithm: Algorithm, agent_steps: int) -> None:
        steps[0] += agent_steps
        done, rest = divmod(steps[0], AGENTS)
        if rest == 0 and done >= WARMUP and done % EVERY == 0:
            gc.collect()
            samples.append((done, rss_bytes(), len(gc.get_objects())))

    started = time.perf_counter()
    (result,) = asyncio.run(run_scenario(scenario, out=tmp_path, progress=progress))
    elapsed = time.perf_counter() - started

    assert result.summary["iterations"] == ITERATIONS
    assert result.summary["skipped_edges"] == 0
    assert result.summary["mse_final"] < result.summary["mse_initial"]
    assert [k for k, _, _ in samples] == list(range(WARMUP, ITERATIONS + 1, EVERY))
    first = samples[0]
    print(f"\nsoak: {AGENTS} agents x {ITERATIONS} iterations in {elapsed:.1f} s")
    for k, rss, objects in samples:
        print(f"  k={k:4d}  rss={rss / 2**20:7.2f} MiB  objects={objects}")
    assert max(rss for _, rss, _ in samples) - first[1] < RSS_GROWTH_BOUND, samples
    assert max(objects for _, _, objects in samples) - first[2] < OBJECT_GROWTH_BOUND, samples
