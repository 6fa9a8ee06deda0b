"""The in-process runner on the in-memory transport: what DESIGN.md says must hold.

These runs use 256-bit keys (INSECURE_TEST_BITS) so the suite stays fast; the
protocol is the same at 2048 bits.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scenarios import Run, RunResult, find_runs, parse, run_scenario
from tests.scenarios.support import mse_of

INSECURE_TEST_BITS = 256


def ring8(tmp_path: Path, *, iterations: int, **algorithm: Any) -> dict[str, Any]:
    return {
        "name": "ring8",
        "seed": 1,
        "iterations": iterations,
        "topology": {"kind": "ring", "n": 8},
        "problem": {"kind": "least_squares", "dim": 5},
        "algorithm": algorithm,
        "crypto": {"key_bits": INSECURE_TEST_BITS, "insecure_keys": True, "inline": True},
        "transport": {"kind": "memory", "round_timeout": 10},
        "output": {"dir": str(tmp_path)},
    }


def run(doc: dict[str, Any]) -> list[RunResult]:
    return asyncio.run(run_scenario(parse(doc, source="test")))


def trajectories(result: RunResult) -> np.ndarray:
    _, states = Run.load(result.run).states()
    return states


def tail_mse(result: RunResult, last: int = 100) -> float:
    return float(np.mean(mse_of(Run.load(result.run).series())[-last:]))


def test_encryption_changes_nothing_but_cost(tmp_path: Path) -> None:
    paillier, clear = run(ring8(tmp_path, iterations=40, kind="paillier", baselines=["clear"]))
    assert paillier.summary["algorithm"] == "paillier"
    assert clear.summary["algorithm"] == "clear"
    a, b = trajectories(paillier), trajectories(clear)
    assert a.shape == (41, 8, 5)
    assert np.array_equal(a, b)
    assert not np.allclose(a[-1], 0.0)  # the states did move
    assert paillier.summary["crypto_seconds"] > 0
    assert paillier.summary["bytes_sent"] > clear.summary["bytes_sent"]  # ciphertexts are wider


@pytest.mark.slow
def test_paillier_ring8_converges(tmp_path: Path) -> None:
    (result,) = run(ring8(tmp_path, iterations=1000, kind="paillier"))
    series = Run.load(result.run).series()
    mse = mse_of(series)
    assert mse[-1] < 1e-3 * mse[0]
    # every agent starts at 0, so consensus error first grows; it must come back down
    assert series.consensus[-1] < 1e-2 * series.consensus.max()
    assert result.summary["skipped_edges"] == 0


@pytest.mark.slow
def test_ablation_attenuation_and_stochastic_rounding(tmp_path: Path) -> None:
    """Coarse quantization (2 fractional bits): attenuation and unbiased rounding matter."""
    common = {"kind": "clear", "frac_bits": 2}
    (on,) = run(ring8(tmp_path / "on", iterations=1000, **common))
    (off,) = run(ring8(tmp_path / "off", iterations=1000, attenuation=False, **common))
    (det,) = run(ring8(tmp_path / "det", iterations=1000, rounding="deterministic", **common))
    assert tail_mse(on) < tail_mse(off)
    assert tail_mse(det) > tail_mse(on)


def test_same_seed_same_trajectory(tmp_path: Path) -> None:
    (first,) = run(ring8(tmp_path / "1", iterations=20, kind="clear"))
    (second,) = run(ring8(tmp_path / "2", iterations=20, kind="clear"))
    assert np.array_equal(trajectories(first), trajectories(second))


def test_plain_and_dp_baselines_share_the_runtime(tmp_path: Path) -> None:
    plain, dp = run(ring8(tmp_path, iterations=200, kind="plain", baselines=["dp"], dp_noise=0.5))
    p, d = Run.load(plain.run).series(), Run.load(dp.run).series()
    assert mse_of(p)[-1] < 0.05 * mse_of(p)[0]
    assert mse_of(d)[-1] > mse_of(p)[-1]  # noise costs accuracy


def test_run_directory_is_self_contained(tmp_path: Path) -> None:
    (result,) = run(ring8(tmp_path, iterations=5, kind="clear"))
    files = {p.name for p in result.run.path.iterdir()}
    assert {"resolved.json", "graph.json", "problem.npz", "x_star.json", "summary.json"} <= files
    assert sorted(p.stem for p in result.run.logs.iterdir()) == sorted(f"a{i}" for i in range(8))
    (found,) = find_runs(result.run.path.parent)
    recomputed = Run.load(found).summary()
    assert recomputed == result.summary


def test_a_digest_run_completes_without_convergence_metrics(tmp_path: Path) -> None:
    doc = ring8(tmp_path, iterations=5, kind="clear")
    doc["output"]["record"] = "digest"
    (result,) = run(doc)
    assert result.summary["mse_final"] is None
    assert result.summary["iterations"] == 5
    assert result.summary["messages_sent"] > 0
    lines = result.run.log("a0").read_text().splitlines()
    assert len(lines) == 6
    assert all('"digest"' in line and '"x"' not in line for line in lines)


def test_padding_changes_sizes_only(tmp_path: Path) -> None:
    plain_doc = ring8(tmp_path / "unpadded", iterations=10, kind="paillier")
    padded_doc = ring8(tmp_path / "padded", iterations=10, kind="paillier")
    padded_doc["transport"]["pad_to"] = 2048
    (unpadded,) = run(plain_doc)
    (padded,) = run(padded_doc)
    assert np.array_equal(trajectories(unpadded), trajectories(padded))
    summary = padded.summary
    assert summary["bytes_sent"] == 2048 * summary["messages_sent"]
    assert unpadded.summary["bytes_sent"] < summary["bytes_sent"]


def test_chunking_changes_nothing_but_the_frames(tmp_path: Path) -> None:
    whole_doc = ring8(tmp_path / "whole", iterations=3, kind="paillier")
    chunked_doc = ring8(tmp_path / "chunked", iterations=3, kind="paillier")
    for doc in (whole_doc, chunked_doc):
        doc["problem"]["dim"] = 100
    chunked_doc["transport"]["max_message_bytes"] = 1024  # every request and reply splits
    (whole,) = run(whole_doc)
    (chunked,) = run(chunked_doc)
    assert np.array_equal(trajectories(whole), trajectories(chunked))
    assert chunked.summary["messages_sent"] == whole.summary["messages_sent"]
    assert chunked.summary["bytes_sent"] > whole.summary["bytes_sent"]  # frame headers
    assert chunked.summary["skipped_edges"] == whole.summary["skipped_edges"] == 0
    assert all(r.traffic.chunks_sent > r.traffic.messages_sent for r in chunked.reports)
    assert all(r.traffic.dropped == 0 for r in chunked.reports)


def test_the_transport_seam_is_for_agents_in_tasks(tmp_path: Path) -> None:
    from scenarios import BadInput
    from transport import MemoryBus

    doc = parse(
        {"name": "seam", "topology": {"kind": "ring", "n": 3}, "output": {"dir": str(tmp_path)}},
        source="t",
    )
    with pytest.raises(BadInput, match="transport factory needs spawn = 'tasks'"):
        asyncio.run(run_scenario(doc, spawn="processes", transport_factory=MemoryBus))
    assert not list(tmp_path.iterdir())
