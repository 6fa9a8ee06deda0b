"""The privacy audit of a run directory: attack from the records, then score.

``RUN_DIR/adversaries/`` (its files are named by :class:`scenarios.results.AdversaryDir`).

:func:`attack` sees only the record and ``public.json``; :func:`score` compares its
estimates with the truth: the targets' logged states and their true gradients.
"""

from __future__ import annotations

import dataclasses
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from agents import Classifier

from .._errors import BadInput
from ..assembly import Problem
from ..results import RunDir, inversions_file, read_json, read_jsonl, write_json, write_jsonl
from ._attacks import Estimates, FloatArray, colluders_attack, eavesdropper_attack, read_record
from ._inversion import invert_all, match
from ._linear_system import linear_system_attack
from ._membership import bootstrap_auc, loss_scores
from ._params import PublicParams
from ._scores import cosine, magnitude_error, relative_error

LINEAR = "-linear"
"""The linear-system attack's estimates are filed as adversary ``<name>-linear``."""
LINEAR_HORIZON = 120
"""The linear-system attack solves for the first this many iterations at most (its
least-squares problem has agents x iterations unknowns per coordinate)."""


def attack(spec: dict[str, Any], record: list[dict[str, Any]], public: PublicParams) -> Estimates:
    """The estimates of the adversary ``spec`` from its record and the public parameters
    (with the inputs of the targets' minibatches inverted from the gradient estimates)."""
    if spec["kind"] == "eavesdropper":
        estimates = eavesdropper_attack(spec["name"], record, public)
    elif spec["kind"] == "colluders":
        estimates = colluders_attack(spec["name"], record, public, target=spec["target"])
    else:
        raise BadInput(f"adversary {spec.get('name')!r}: unknown kind {spec['kind']!r}")
    return _with_inputs(estimates, public)


def linear_attack(
    spec: dict[str, Any], record: list[dict[str, Any]], public: PublicParams
) -> Estimates:
    """The linear-system attack (``_linear_system``) from the adversary's record: every
    agent's states and gradients, distances counted from the colluders' members (an
    eavesdropper: from the agents whose states it read)."""
    vantage = list(spec.get("members") or []) or None
    short = dataclasses.replace(public, iterations=min(public.iterations, LINEAR_HORIZON))
    kept = [line for line in record if int(_k(line)) <= LINEAR_HORIZON]
    estimates = linear_system_attack(
        spec["name"] + LINEAR, spec["kind"], kept, short, vantage=vantage
    )
    return _with_inputs(estimates, public)


def _k(line: dict[str, Any]) -> int:
    env = line.get("envelope")
    k = env.get("k") if isinstance(env, dict) else line.get("k")
    return k if isinstance(k, int) else 0


def _with_inputs(estimates: Estimates, public: PublicParams) -> Estimates:
    prior = estimates.method.startswith("prior")
    inputs = invert_all(estimates.states, estimates.gradients, public, prior=prior)
    return dataclasses.replace(estimates, inputs=inputs) if inputs else estimates


Inputs = dict[str, dict[int, FloatArray]]
"""Per agent and iteration: the true feature rows of its minibatch (scoring only)."""


def load_inputs(run: RunDir, agents: list[str]) -> Inputs:
    """The targets' minibatch rows (``truth/``, where the objective has features)."""
    return {
        agent: {
            int(line["k"]): np.array(line["inputs"], dtype=np.float64)
            for line in _jsonl(run.adversaries.truth_gradients(agent))
            if "inputs" in line
        }
        for agent in agents
    }


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


def score(estimates: Estimates, truth: Truth, inputs: Inputs | None = None) -> list[dict[str, Any]]:
    """One row per target and iteration: relative error, cosine similarity and magnitude
    error of the state and the gradient estimates (None where there is nothing to score);
    with ``inputs``, the reconstructed minibatch rows' relative error and |cosine|."""
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
            if inputs is not None:
                est_rows = estimates.inputs.get(target, {}).get(k)
                true_rows = inputs.get(target, {}).get(k)
                error, cos = (None, None)
                if est_rows is not None and true_rows is not None:
                    error, cos = match(est_rows, true_rows)
                row["input_rel_error"], row["input_cosine"] = error, cos
            rows.append(row)
    return rows


_KEYS = ("state_rel_error", "state_cosine", "gradient_rel_error", "gradient_cosine")
_KEYS_MAGNITUDE = ("gradient_magnitude_error",)
_KEYS_INPUT = ("input_rel_error", "input_cosine")


def summarize(estimates: Estimates, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Final (last scored iteration, median over targets) and median (over all rows)."""
    out: dict[str, Any] = {"kind": estimates.kind, "method": estimates.method}
    out["targets"] = sorted(estimates.states)
    keys = [*_KEYS, *_KEYS_MAGNITUDE]
    keys += [key for key in _KEYS_INPUT if any(r.get(key) is not None for r in rows)]
    for key in keys:
        values = [r[key] for r in rows if r[key] is not None]
        out[f"{key}_median"] = statistics.median(values) if values else None
        finals = []
        for target in out["targets"]:
            scored = [r for r in rows if r["target"] == target and r[key] is not None]
            if scored:
                finals.append(max(scored, key=lambda r: r["k"])[key])
        out[f"{key}_final"] = statistics.median(finals) if finals else None
    meta = estimates.metadata
    if "distance" in meta:
        out["vantage"] = meta["vantage"]
        out["by_distance"] = _by_distance(rows, meta["distance"], set(meta["observed"]))
    if "graph_recovered" in meta:
        out["metadata"] = {
            "messages": meta["messages"],
            "graph_recovered": meta["graph_recovered"],
            "edges_seen": len(meta["edges_seen"]),
            "sizes": {kind: s["max"] for kind, s in meta["sizes"].items()},
        }
    return out


def _by_distance(
    rows: list[dict[str, Any]], distance: dict[str, int], observed: set[str]
) -> dict[str, dict[str, Any]]:
    """Per graph distance from the adversary: the agents there, whether their states
    were read or reconstructed, and the median final and overall scores."""
    out: dict[str, dict[str, Any]] = {}
    for d in sorted(set(distance.values())):
        agents = sorted(a for a, v in distance.items() if v == d)
        entry: dict[str, Any] = {"agents": agents, "read": sorted(set(agents) & observed)}
        for key in ("state_rel_error", "gradient_cosine", "gradient_rel_error", "input_rel_error"):
            finals, values = [], []
            for agent in agents:
                scored = [r for r in rows if r["target"] == agent and r.get(key) is not None]
                values += [r[key] for r in scored]
                if scored:
                    finals.append(max(scored, key=lambda r: r["k"])[key])
            entry[f"{key}_median"] = statistics.median(values) if values else None
            entry[f"{key}_final"] = statistics.median(finals) if finals else None
        out[str(d)] = entry
    return out


def membership_audit(
    spec: dict[str, Any], record: list[dict[str, Any]], problem: Problem
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The loss-threshold attack on every agent's final model (its record), scored as
    an AUC with a bootstrap interval: members its training rows, non-members the
    held-out rows. Rows (one per agent) and the summary."""
    out: dict[str, Any] = {"kind": "membership", "method": "loss threshold on the final model"}
    model = problem.model
    test = problem.test
    if not isinstance(model, Classifier) or test is None:
        out["method"] += ": not applicable (no classifier or no held-out rows)"
        return [], out
    rows = []
    for line in record:
        index, x = int(line["index"]), np.array(line["x"], dtype=np.float64)
        own = problem.objectives[index]
        features, labels = getattr(own, "features", None), getattr(own, "labels", None)
        if not isinstance(own, Classifier) or features is None or labels is None:
            continue  # the attack needs the agent's rows as candidates
        features, labels = np.asarray(features, dtype=np.float64), np.asarray(labels)
        inside = loss_scores(own.loss, x, features, labels)
        outside = loss_scores(own.loss, x, test.features, test.labels)
        value, low, high = bootstrap_auc(
            inside, outside, resamples=int(spec["bootstrap"]), seed=int(spec["seed"]) + index
        )
        rows.append(
            {
                "adversary": spec["name"],
                "target": line["agent"],
                "k": int(line["k"]),
                "mi_auc": value,
                "mi_auc_interval": [low, high],
                "detail": {
                    "members": int(inside.size),
                    "non_members": int(outside.size),
                    "train_accuracy": own.accuracy(x, features, labels),
                    "test_accuracy": own.accuracy(x, test.features, test.labels),
                },
            }
        )
    out["targets"] = [r["target"] for r in rows]
    flat = [
        {
            "mi_auc": r["mi_auc"],
            "mi_auc_low": r["mi_auc_interval"][0],
            "mi_auc_high": r["mi_auc_interval"][1],
            **r["detail"],
        }
        for r in rows
    ]
    for key in ("mi_auc", "mi_auc_low", "mi_auc_high", "test_accuracy", "train_accuracy"):
        values = [r[key] for r in flat]
        out[f"{key}_median"] = statistics.median(values) if values else None
    return rows, out


def audit_run(run: RunDir) -> dict[str, Any]:
    """Attack from every adversary's record, score against the truth, write the attack
    JSONL files and ``audit.json``; returns the summary (adversary name -> numbers).

    Every eavesdropper and colluders' record is attacked twice: by its own attack
    (``<name>``) and by the linear-system attack (``<name>-linear``) when some agent's
    state was not read directly."""
    folder = run.adversaries
    public = PublicParams.from_json(read_json(folder.public))
    summary: dict[str, Any] = {}
    for path in folder.specs():
        spec = read_json(path)
        record = read_record(folder.record(spec["name"]))
        if spec["kind"] == "membership":
            rows, summary[spec["name"]] = membership_audit(spec, record, Problem.load(run.problem))
            write_jsonl(folder.attack(spec["name"]), [{"adversary": spec["name"]}, *rows])
            continue
        estimates = attack(spec, record, public)
        found = [estimates]
        if _needs_linear(estimates, public):
            found.append(linear_attack(spec, record, public))
        for estimates in found:
            targets = sorted(estimates.states)
            rows = score(estimates, load_truth(run, targets), load_inputs(run, targets))
            meta = {"adversary": estimates.adversary, "metadata": estimates.metadata}
            write_jsonl(folder.attack(estimates.adversary), [meta, *rows])
            summary[estimates.adversary] = summarize(estimates, rows)
            shown = _inversions_shown(estimates, load_inputs(run, targets))
            if shown:
                write_json(inversions_file(folder, estimates.adversary), {"inputs": shown})
    write_json(folder.audit, summary)
    return summary


INVERSIONS_SHOWN = 8
"""How many reconstructed inputs ``<name>.inputs.json`` shows beside the true ones."""


def _inversions_shown(estimates: Estimates, inputs: Inputs) -> list[dict[str, Any]]:
    """The first few (target, iteration) pairs with a reconstructed and a true row: the
    true row and the best candidate for it (the dashboards draw them as images)."""
    shown: list[dict[str, Any]] = []
    per_target = max(1, INVERSIONS_SHOWN // max(1, len(estimates.inputs)))
    for target in sorted(estimates.inputs):
        count = 0
        for k in sorted(estimates.inputs[target]):
            true_rows = inputs.get(target, {}).get(k)
            if true_rows is None or len(shown) >= INVERSIONS_SHOWN or count >= per_target:
                continue
            count += 1
            candidates = estimates.inputs[target][k]
            row = true_rows[0]
            norm = float(np.linalg.norm(row))
            if norm == 0 or candidates.shape[1] != row.size:
                continue
            errors = [float(np.linalg.norm(c - row)) / norm for c in candidates]
            best = int(np.argmin(errors))
            shown.append(
                {
                    "target": target,
                    "k": k,
                    "original": row.tolist(),
                    "reconstructed": candidates[best].tolist(),
                    "rel_error": errors[best],
                }
            )
    return shown


def _needs_linear(estimates: Estimates, public: PublicParams) -> bool:
    """Whether some agent's states are not read outright by the adversary's own attack."""
    read = {a for a, xs in estimates.states.items() if xs}
    return estimates.method.startswith("prior") or not read >= set(public.agents)


_ROWS = (
    ("membership AUC [95%] (median)", "mi_auc_median", "{:.3f}"),
    ("input rel. error (median)", "input_rel_error_median", "{:.2e}"),
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
                found = (s.get("audit") or {}).get(name, {})
                value = found.get(key)
                cell = "-" if value is None else fmt.format(value)
                low, high = found.get("mi_auc_low_median"), found.get("mi_auc_high_median")
                if key == "mi_auc_median" and low is not None and high is not None:
                    cell += f" [{low:.2f}, {high:.2f}]"
                cells.append(cell)
            if any(cell != "-" for cell in cells):  # a row for what this adversary measures
                rows.append((f"{name}: {label}", cells))
    return rows
