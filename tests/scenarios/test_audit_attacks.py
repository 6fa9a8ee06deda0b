"""The privacy audit: what each adversary learns, shown on small runs (DESIGN.md, Threat model).

256-bit keys (insecure, for speed), the in-memory transport unless marked. Every
attack is recomputed here from the adversary's record with the honest agents'
logs deleted, so none of the numbers can come from them.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents import CLEAR_INT_BYTES
from scenarios import RunResult, parse, run_scenario
from scenarios.privacy import PublicParams, attack, cosine, load_truth, read_record
from scenarios.results import decode_bytes, read_json
from transport import BrokerAddress, pack_floats

BITS = 256


def scenario(
    tmp_path: Path,
    *,
    kind: str,
    adversary: list[dict[str, Any]],
    topology: dict[str, Any] | None = None,
    iterations: int = 25,
    dim: int = 3,
    **algorithm: Any,
) -> dict[str, Any]:
    return {
        "name": "audit",
        "seed": 3,
        "iterations": iterations,
        "topology": topology or {"kind": "ring", "n": 6},
        "problem": {"kind": "least_squares", "dim": dim},
        "algorithm": {"kind": kind, **algorithm},
        "crypto": {"key_bits": BITS, "insecure_keys": True, "inline": True},
        "transport": {"kind": "memory", "round_timeout": 10},
        "output": {"dir": str(tmp_path)},
        "adversary": adversary,
    }


def run(doc: dict[str, Any]) -> RunResult:
    (result,) = asyncio.run(run_scenario(parse(doc, source="test")))
    return result


def attack_rows(result: RunResult, name: str) -> list[dict[str, Any]]:
    path = result.run.adversaries.attack(name)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if "k" in line]


def states(result: RunResult) -> dict[str, dict[int, np.ndarray]]:
    agents = sorted(p.stem for p in result.run.logs.glob("*.jsonl"))
    return {a: s for a, (s, _) in load_truth(result.run, agents).items()}


def delete_honest_logs(result: RunResult) -> None:
    """Everything an attack must not need: the logs, the truth, the data and x*."""
    shutil.rmtree(result.run.logs)
    shutil.rmtree(result.run.adversaries.truth)
    for name in ("problem.npz", "x_star.json", "summary.json"):
        (result.run.path / name).unlink(missing_ok=True)


def attack_offline(result: RunResult, name: str) -> Any:
    """The attack from the adversary's record and the public parameters only."""
    folder = result.run.adversaries
    spec = read_json(folder.spec(name))
    public = PublicParams.from_json(read_json(folder.public))
    return attack(spec, read_record(folder.record(name)), public)


def test_plain_eavesdropper_reads_states_and_gradients_exactly(tmp_path: Path) -> None:
    result = run(
        scenario(tmp_path, kind="plain", adversary=[{"kind": "eavesdropper", "name": "eve"}])
    )
    rows = attack_rows(result, "eve")
    iterations, agents = 25, 6
    scored_states = [r for r in rows if r["state_rel_error"] is not None]
    scored_gradients = [r for r in rows if r["gradient_rel_error"] is not None]
    # x(0) = 0 is not scored (relative error undefined); x(K) is never sent
    assert len(scored_states) == agents * (iterations - 1)
    assert len(scored_gradients) == agents * (iterations - 1)  # g(k) needs x(k + 1)
    assert max(r["state_rel_error"] for r in scored_states) == 0.0
    assert max(r["gradient_rel_error"] for r in scored_gradients) < 1e-9
    assert min(r["gradient_cosine"] for r in scored_gradients) > 1 - 1e-12
    audit = result.summary["audit"]["eve"]
    assert audit["metadata"]["graph_recovered"] is True
    # the same from the record alone
    truth = states(result)
    delete_honest_logs(result)
    estimates = attack_offline(result, "eve")
    for agent, xs in truth.items():
        for k in range(1, iterations):
            assert np.array_equal(estimates.states[agent][k], xs[k])


def _blobs(record: list[dict[str, Any]]) -> list[bytes]:
    out = []
    for line in record:
        env = line.get("envelope")
        if isinstance(env, dict):
            out += [v for v in map(decode_bytes, env["p"].values()) if isinstance(v, bytes)]
        elif "raw" in line:
            out.append(decode_bytes(line["raw"]))
    return out


def _plaintext_hits(blobs: list[bytes], truth: dict[str, dict[int, np.ndarray]], frac: int) -> int:
    """How many logged states appear in the blobs as float64 or as clear quantized ints."""
    hits = 0
    for xs in truth.values():
        for k, x in xs.items():
            if k == 0:
                continue  # x0 = 0 is public and its bytes are zeros
            needles = [pack_floats(x), pack_floats(-x)]
            scaled = x * 2.0**frac
            for rounded in (np.floor(scaled), np.ceil(scaled)):
                needles.append(
                    b"".join(int(-v).to_bytes(CLEAR_INT_BYTES, "big", signed=True) for v in rounded)
                )
            hits += any(n in blob for n in needles for blob in blobs)
    return hits


def test_paillier_eavesdropper_sees_no_plaintext_and_learns_nothing(tmp_path: Path) -> None:
    eve = [{"kind": "eavesdropper", "name": "eve"}]
    first = run(scenario(tmp_path / "one", kind="paillier", adversary=eve))
    second = run(scenario(tmp_path / "two", kind="paillier", adversary=eve))
    clear = run(scenario(tmp_path / "clear", kind="clear", adversary=eve))
    truth = states(first)
    other = states(second)
    assert sorted(truth) == sorted(other) and len(truth["a0"]) == 26
    assert all(np.array_equal(truth[a][k], other[a][k]) for a in truth for k in truth[a])
    folder = first.run.adversaries
    record = read_record(folder.record("eve"))
    envelopes = [line["envelope"] for line in record]
    assert {e["kind"] for e in envelopes} >= {"key", "request", "reply"}
    # ciphertexts and keys (with the public slot layout the owner packs in); a goodbye
    # lists the iterations whose terms it retracts
    public = {"c", "n", "h", "slot_bits", "slots"}
    assert all(set(e["p"]) <= public for e in envelopes if e["kind"] != "bye")
    assert all(set(e["p"]) <= {"skipped"} for e in envelopes if e["kind"] == "bye")
    assert _plaintext_hits(_blobs(record), truth, frac=24) == 0
    # the check can fail: the clear baseline's record holds its states
    clear_record = read_record(clear.run.adversaries.record("eve"))
    assert _plaintext_hits(_blobs(clear_record), states(clear), frac=24) > 0
    # no better than the prior (x0 = 0: relative error 1, no direction)
    rows = [r for r in attack_rows(first, "eve") if r["state_rel_error"] is not None]
    assert rows and min(r["state_rel_error"] for r in rows) >= 1.0 - 1e-12
    assert all(r["gradient_cosine"] in (0.0, None) for r in attack_rows(first, "eve"))

    # identical states in both runs, yet no ciphertext repeats
    def ciphertexts(result: RunResult) -> set[bytes]:
        lines = read_record(result.run.adversaries.record("eve"))
        return {
            decode_bytes(line["envelope"]["p"]["c"])
            for line in lines
            if "c" in line["envelope"]["p"]
        }

    one, two = ciphertexts(first), ciphertexts(second)
    assert len(one) > 100 and len(two) > 100
    assert not one & two
    # metadata without decrypting: the graph, fixed sizes per kind, timing
    meta = first.summary["audit"]["eve"]["metadata"]
    assert meta["graph_recovered"] is True and meta["edges_seen"] == 6
    assert meta["sizes"]["request"] > 0


def test_two_colluders_recover_the_target_under_per_edge_weights(tmp_path: Path) -> None:
    """The known weakness of one scalar weight per edge (README, Privacy audit): two
    neighbours intersect the rays a_ic (x_i - x_c) and get x_i to the quantization error."""
    doc = scenario(
        tmp_path,
        kind="paillier",
        topology={"kind": "complete", "n": 4},
        weights="per_edge",
        adversary=[{"kind": "colluders", "name": "pair", "members": [1, 2], "target": 0}],
    )
    result = run(doc)
    truth = states(result)["a0"]
    delete_honest_logs(result)
    estimates = attack_offline(result, "pair")
    assert estimates.metadata["all_neighbours"] is False  # a3 is honest
    quantization = 2.0**-24
    ks = sorted(estimates.states["a0"])
    assert ks == list(range(25))
    for k in ks:
        error = np.max(np.abs(estimates.states["a0"][k] - truth[k]))
        assert error <= quantization * (1 + 1e-6), (k, error)
    assert result.summary["audit"]["pair"]["state_rel_error_final"] < 1e-5


def test_one_colluder_does_not_recover_the_state(tmp_path: Path) -> None:
    doc = scenario(
        tmp_path,
        kind="paillier",
        topology={"kind": "complete", "n": 4},
        adversary=[{"kind": "colluders", "name": "one", "members": [1], "target": 0}],
    )
    audit = run(doc).summary["audit"]["one"]
    assert audit["state_rel_error_median"] > 1e-4  # a direction, not a point


def _recompute_gradients(
    record: list[dict[str, Any]], public: PublicParams, target: str
) -> dict[int, np.ndarray]:
    """Per coordinate intervals and the colluders' exact coupling, written out again."""
    f, w = public.frac_bits, public.weight_bits
    t_lo, t_hi = 2.0**w / public.weight_high, 2.0**w / public.weight_low
    by_k: dict[int, list[dict[str, Any]]] = {}
    for obs in record:
        by_k.setdefault(obs["k"], []).append(obs)
    x_hat, coupling = {}, {}
    for k, seen in by_k.items():
        lows, highs, term = [], [], np.zeros(public.dim)
        for obs in seen:
            q = np.array(obs["quantized"], dtype=float) / 2.0**f
            r_int = np.array(obs["decrypted"][target], dtype=float)
            r = r_int / 2.0 ** (f + w)
            a, b = q + t_lo * r, q + t_hi * r
            lows.append(np.minimum(a, b))
            highs.append(np.maximum(a, b))
            own = np.array(obs["weights"][target], dtype=float)
            term += -own * r_int / 2.0 ** (f + 2 * w)
        low, high = np.max(lows, axis=0), np.min(highs, axis=0)
        mids = ((np.array(lows) + np.array(highs)) / 2).mean(axis=0)
        x_hat[k] = np.where(low <= high, (low + high) / 2, mids)
        coupling[k] = term
    return {
        k: (x_hat[k] - x_hat[k + 1] + public.gamma(k) * coupling[k]) / public.stepsize(k)
        for k in x_hat
        if k + 1 in x_hat
    }


def test_all_colluders_gradient_cosine_is_what_the_record_gives(tmp_path: Path) -> None:
    doc = scenario(
        tmp_path,
        kind="paillier",
        weights="per_coordinate",
        stepsize="per_coordinate",
        adversary=[{"kind": "colluders", "name": "all", "members": [1, 5], "target": 0}],
    )
    result = run(doc)
    folder = result.run.adversaries
    true_gradients = load_truth(result.run, ["a0"])["a0"][1]
    rows = {r["k"]: r for r in attack_rows(result, "all")}
    delete_honest_logs(result)  # the attack itself never needed them
    public = PublicParams.from_json(read_json(folder.public))
    record = read_record(folder.record("all"))
    assert {obs["agent"] for obs in record} == {"a1", "a5"}
    recomputed = _recompute_gradients(record, public, "a0")
    assert sorted(recomputed) == list(range(24))
    for k, g_hat in recomputed.items():
        expected = cosine(g_hat, true_gradients[k])
        assert expected is not None
        assert rows[k]["gradient_cosine"] == pytest.approx(expected, abs=1e-9)
    estimates = attack_offline(result, "all")
    assert estimates.metadata["all_neighbours"] is True
    for k, g_hat in recomputed.items():
        np.testing.assert_allclose(estimates.gradients["a0"][k], g_hat, rtol=1e-9, atol=1e-12)


@pytest.mark.mosquitto
def test_mqtt_eavesdropper_records_the_run(tmp_path: Path, mosquitto: BrokerAddress) -> None:
    doc = scenario(
        tmp_path,
        kind="plain",
        iterations=8,
        topology={"kind": "ring", "n": 4},
        adversary=[{"kind": "eavesdropper", "name": "wire"}],
    )
    doc["transport"] = {"kind": "mqtt", "broker": f"mqtt://{mosquitto.host}:{mosquitto.port}"}
    result = run(doc)
    rows = [r for r in attack_rows(result, "wire") if r["state_rel_error"] is not None]
    assert len(rows) == 4 * 7
    assert max(r["state_rel_error"] for r in rows) == 0.0
    assert max(r["gradient_rel_error"] for r in rows if r["gradient_rel_error"] is not None) < 1e-9
    assert result.summary["audit"]["wire"]["metadata"]["graph_recovered"] is True
