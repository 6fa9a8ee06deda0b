"""Fixed-seed ring8 trajectories recorded before the architecture change.

``python -m tests.golden.trajectories`` writes ``ring8_trajectories.npz`` beside this
file; ``tests/test_golden_trajectories.py`` asserts that today's code reproduces it
bit for bit. Regenerate only when a change is meant to alter the trajectories, and
say so in the commit.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from scenarios import Run, parse, run_scenario

GOLDEN = Path(__file__).with_name("ring8_trajectories.npz")
ITERATIONS = 30

# name -> algorithm table; each runs ring8 least squares, seed 1, memory transport.
VARIANTS: dict[str, dict[str, Any]] = {
    "paillier": {"kind": "paillier"},
    "paillier_hardened": {
        "kind": "paillier",
        "weights": "per_coordinate",
        "stepsize": "per_coordinate",
    },
    "clear": {"kind": "clear"},
    "plain": {"kind": "plain"},
    "dp": {"kind": "dp", "dp_noise": 0.3},
}


def scenario(directory: Path, algorithm: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "golden",
        "seed": 1,
        "iterations": ITERATIONS,
        "topology": {"kind": "ring", "n": 8},
        "problem": {"kind": "least_squares", "dim": 5},
        "algorithm": algorithm,
        "crypto": {"key_bits": 256, "insecure_keys": True, "inline": True},
        "transport": {"kind": "memory", "round_timeout": 10},
        "output": {"dir": str(directory)},
    }


def record(directory: Path) -> dict[str, np.ndarray]:
    """Every variant's states, shape (iterations + 1, agents, dim)."""
    out: dict[str, np.ndarray] = {}
    for name, algorithm in VARIANTS.items():
        doc = scenario(directory / name, algorithm)
        (result,) = asyncio.run(run_scenario(parse(doc, source=name)))
        _, states = Run.load(result.run).states()
        out[name] = states
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        arrays = record(Path(tmp))
    np.savez(GOLDEN, **arrays)  # type: ignore[arg-type]
    print(f"wrote {GOLDEN} ({', '.join(f'{k} {v.shape}' for k, v in arrays.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
