"""The audit's leakage as arrays: each adversary's scores per target and iteration.

Read from ``adversaries/<name>.attack.jsonl`` (one row per target and iteration, as the
audit scored it); a score the audit could not compute is NaN. Reconstructed inputs next
to the originals: ``adversaries/<name>.inputs.json`` (:func:`read_inversions`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import BadInput
from ._json import read_json, read_jsonl
from ._rundir import AdversaryDir, RunDir

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Leakage:
    """One adversary's estimates of one target, scored: ``scores[name]`` has one value per
    iteration in ``k`` (e.g. ``state_rel_error``, ``gradient_cosine``; NaN: not scored)."""

    adversary: str
    target: str
    k: npt.NDArray[np.int64]
    scores: dict[str, FloatArray]


def read_leakage(run: RunDir) -> list[Leakage]:
    """Every adversary's attack rows, one :class:`Leakage` per (adversary, target), by
    adversary then target; empty for a run without adversaries. Lines that do not parse
    are skipped (the dashboard reports them)."""
    folder: AdversaryDir = run.adversaries
    result = []
    for path in folder.attacks():
        rows: dict[str, list[dict[str, Any]]] = {}
        for record in read_jsonl(path, missing_ok=True).records:
            if isinstance(record.get("k"), int) and isinstance(record.get("target"), str):
                rows.setdefault(record["target"], []).append(record)
        for target in sorted(rows):
            lines = sorted(rows[target], key=lambda r: int(r["k"]))
            names = sorted(
                {
                    key
                    for r in lines
                    for key, value in r.items()
                    if key not in ("k", "t") and _is_score(value)
                }
            )
            scores = {
                name: np.array([_score(r.get(name)) for r in lines], dtype=np.float64)
                for name in names
            }
            k = np.array([int(r["k"]) for r in lines], dtype=np.int64)
            result.append(Leakage(AdversaryDir.name_of(path), target, k, scores))
    return result


def _is_score(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _score(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan


INVERSIONS = ".inputs.json"


def inversions_file(folder: AdversaryDir, name: str) -> Path:
    """``adversaries/<name>.inputs.json``: a few reconstructed inputs next to the true
    ones (written by the audit, drawn by the dashboards as images)."""
    return folder.path / f"{name}{INVERSIONS}"


@dataclass(frozen=True, slots=True)
class Inversion:
    """One reconstructed minibatch row next to the row the target really used."""

    adversary: str
    target: str
    k: int
    original: FloatArray
    reconstructed: FloatArray
    rel_error: float


def read_inversions(run: RunDir) -> list[Inversion]:
    """Every ``*.inputs.json`` of the run, by adversary (empty without any); entries
    that do not parse are skipped."""
    folder = run.adversaries
    if not folder.path.is_dir():
        return []
    result = []
    for path in sorted(folder.path.glob(f"*{INVERSIONS}")):
        name = path.name.removesuffix(INVERSIONS)
        try:
            entries = read_json(path).get("inputs", [])
        except (BadInput, AttributeError):
            continue
        for e in entries if isinstance(entries, list) else []:
            try:
                original = np.array(e["original"], dtype=np.float64)
                reconstructed = np.array(e["reconstructed"], dtype=np.float64)
                item = Inversion(
                    name,
                    str(e["target"]),
                    int(e["k"]),
                    original,
                    reconstructed,
                    float(e["rel_error"]),
                )
            except (KeyError, TypeError, ValueError):
                continue
            if original.shape == reconstructed.shape and original.ndim == 1:
                result.append(item)
    return result
