"""The small paillier ring the container tests bring up, and their project names."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.scenarios.support import write_toml

AGENTS = 6


def ring_scenario(
    folder: Path,
    *,
    iterations: int,
    baselines: tuple[str, ...] = (),
    adversaries: str = "",
    **transport: Any,
) -> Path:
    """A paillier ring of :data:`AGENTS` (and ``baselines``, other algorithms of the same
    scenario) with ``adversaries`` (``[[adversary]]`` entries, TOML); its broker URL is
    the compose file's business."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "name": "ring6",
        "seed": 7,
        "iterations": iterations,
        "topology": {"kind": "ring", "n": AGENTS},
        "problem": {"kind": "least_squares", "dim": 4},
        "algorithm": {"kind": "paillier", "baselines": list(baselines)},
        "crypto": {"key_bits": 256, "insecure_keys": True, "inline": True},
        "transport": {
            "kind": "mqtt",
            "broker": "embedded",  # the in-process run's; containers get theirs from compose
            "round_timeout": 10,
            "startup_timeout": 90,
            **transport,
        },
        "output": {"dir": str(folder / "runs")},
    }
    path = write_toml(folder / "ring6.toml", doc)
    with path.open("a") as f:
        f.write(adversaries)
    return path


def project_name() -> str:
    return "hemesh-test-" + uuid.uuid4().hex[:8]
