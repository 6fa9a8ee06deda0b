"""The audit's leakage as arrays: each adversary's scores per target and iteration.

Read from ``adversaries/<name>.attack.jsonl`` (one row per target and iteration, as the
audit scored it); a score the audit could not compute is NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._json import read_jsonl
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
