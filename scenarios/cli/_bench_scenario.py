"""The scenario every whole-run row of ``hemesh bench`` runs: least squares, d = 10,
degree 4, paillier on the in-memory transport, the crypto pool one worker per core."""

from __future__ import annotations

import os
from typing import Any

from agents import MIN_SECURE_BITS


def bench_scenario(
    agents: int, iterations: int, key_bits: int, *, round_timeout: float | None = None
) -> dict[str, Any]:
    """The scenario document of ``agents`` agents (a ring below 6, else a random
    4-regular graph) for ``iterations``; keys under ``MIN_SECURE_BITS`` are named
    insecure, as ``--key-bits`` allows."""
    topology: dict[str, Any] = (
        {"kind": "ring", "n": agents}
        if agents < 6
        else {"kind": "random_regular", "n": agents, "degree": 4, "seed": 1}
    )
    transport: dict[str, Any] = {"kind": "memory"}
    if round_timeout is not None:
        transport["round_timeout"] = round_timeout
    return {
        "name": f"bench{agents}",
        "seed": 1,
        "iterations": iterations,
        "topology": topology,
        "problem": {"kind": "least_squares", "dim": 10},
        "algorithm": {"kind": "paillier"},
        "crypto": {
            "key_bits": key_bits,
            "insecure_keys": key_bits < MIN_SECURE_BITS,
            "workers": os.cpu_count() or 1,
        },
        "transport": transport,
        "output": {"dir": "/tmp/hemesh-bench"},
    }
