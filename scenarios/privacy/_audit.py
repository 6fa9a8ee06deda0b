"""The privacy audit of a run directory: attack from the records, then score.

``RUN_DIR/adversaries/`` (its files are named by :class:`scenarios.results.AdversaryDir`).

:func:`attack` sees only the record and ``public.json``; :func:`score` compares its
estimates with the truth: the targets' logged states and their true gradients.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import BadInput
from ..results import RunDir, read_json, read_jsonl, write_json, write_jsonl
from ._attacks import Estimates, FloatArray, colluders_attack, eavesdropper_attack, read_record
from ._params import PublicParams
from ._scores import cosine, magnitude_error, relative_error


def attack(spec: dict[str, Any], record: list[dict[str, Any]], public: PublicParams) -> Estimates:
    """The estimates of the adversary ``spec`` from its record and the public parameters."""
    if spec["kind"] == "eavesdropper":
        return eavesdropper_attack(spec["name"], record, public)
    if spec["kind"] == "colluders":
        return colluders_attack(spec["name"], record, public, target=spec["target"])
    raise BadInput(f"adversary {spec.get('name')!r}: unknown kind {spec['kind']!r}")


Truth = dict[str, tuple[dict[int, FloatArray], dict[int, FloatArray]]]
"""Per agent: its states by iteration, and its gradients by iteration."""


def load_truth(run: RunDir, agents: list[str]) -> Truth:
    """The targets' states (their logs) and gradients (``truth/``): evaluation only."""
    truth: Truth = {}
    for agent in agents:
        states: dict[int, FloatArray] = {}
        for line in _jsonl(run.log(agent)):
            if "x" in line:
                states[int(line["k"])] = np.array(line["x"], dtype=np.float64)
        gradients = {
            int(line["k"]): np.array(line["g"], dtype=np.float64)
            for line in _jsonl(run.adversaries.truth_gradients(agent))
        }
        truth[agent] = (states, gradients)
    return truth


def _jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of ``path`` (none if it is missing; a cut-off last line is skipped)."""
    return read_jsonl(path, iteration=True, missing_ok=True).records


def score(estimates: Estimates, truth: Truth) -> list[dict[str, Any]]:
    """One row per target and iteration: relative error, cosine similarity and magnitude
    error of the state and the gradient estimates (None where there is nothing to score)."""
    rows = []
    for target in sorted(estimates.states):
        states, gradients = truth.get(target, ({}, {}))
        est_x = estimates.states.get(target, {})
        est_g = estimates.gradients.get(target, {})
        for k in sorted(set(est_x) | set(est_g)):
            row: dict[str, Any] = {"adversary": estimates.adversary, "target": target, "k": k}
            for quantity, est, true in (("state", est_x, states), ("gradient", est_g, gradients)):
                if k in est and k in true:
                    row[f"{quantity}_rel_error"] = relative_error(est[k], true[k])
                    row[f"{quantity}_cosine"] = cosine(est[k], true[k])
                    row[f"{quantity}_magnitude_error"] = magnitude_error(est[k], true[k])
                else:
                    row.update(
                        {
                            f"{quantity}_rel_error": None,
                            f"{quantity}_cosine": None,
                            f"{quantity}_magnitude_error": None,
                        }
                    )
            rows.append(row)
    return rows


_KEYS = ("state_rel_error", "state_cosine", "gradient_rel_error", "gradient_cosine")
_KEYS_MAGNITUDE = ("gradient_magnitude_error",)


def summarize(estimates: Estimates, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Final (last scored iteration, median over targets) and median (over all rows)."""
    out: dict[str, Any] = {"kind": estimates.kind, "method": estimates.method}
    out["targets"] = sorted(estimates.states)
    for key in (*_KEYS, *_KEYS_MAGNITUDE):
        values = [r[key] for r in rows if r[key] is not None]
        out[f"{key}_median"] = statistics.median(values) if values else None
        finals = []
        for target in out["targets"]:
            scored = [r for r in rows if r["target"] == target and r[key] is not None]
            if scored:
                finals.append(max(scored, key=lambda r: r["k"])[key])
        out[f"{key}_final"] = statistics.median(finals) if finals else None
    meta = estimates.metadata
    if "graph_recovered" in meta:
        out["metadata"] = {
            "messages": meta["messages"],
            "graph_recovered": meta["graph_recovered"],
            "edges_seen": len(meta["edges_seen"]),
            "sizes": {kind: s["max"] for kind, s in meta["sizes"].items()},
        }
    return out


def audit_run(run: RunDir) -> dict[str, Any]:
    """Attack from every adversary's record, score against the truth, write the attack
    JSONL files and ``audit.json``; returns the summary (adversary name -> numbers)."""
    folder = run.adversaries
    public = PublicParams.from_json(read_json(folder.public))
    summary: dict[str, Any] = {}
    for path in folder.specs():
        spec = read_json(path)
        estimates = attack(spec, read_record(folder.record(spec["name"])), public)
        rows = score(estimates, load_truth(run, sorted(estimates.states)))
        meta = {"adversary": spec["name"], "metadata": estimates.metadata}
        write_jsonl(folder.attack(spec["name"]), [meta, *rows])
        summary[spec["name"]] = summarize(estimates, rows)
    write_json(folder.audit, summary)
    return summary


_ROWS = (
    ("state rel. error (median)", "state_rel_error_median", "{:.2e}"),
    ("gradient cosine (median)", "gradient_cosine_median", "{:.3f}"),
    ("gradient rel. error (median)", "gradient_rel_error_median", "{:.2e}"),
)


def audit_rows(summaries: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Rows of the CLI summary table: leakage per adversary, one column per run."""
    names: list[str] = []
    for s in summaries:
        names += [n for n in (s.get("audit") or {}) if n not in names]
    rows = []
    for name in names:
        for label, key, fmt in _ROWS:
            cells = []
            for s in summaries:
                value = (s.get("audit") or {}).get(name, {}).get(key)
                cells.append("-" if value is None else fmt.format(value))
            rows.append((f"{name}: {label}", cells))
    return rows
