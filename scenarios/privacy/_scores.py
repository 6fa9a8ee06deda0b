"""How close an estimate is to the truth: relative error, cosine similarity, magnitude error."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def relative_error(estimate: FloatArray, truth: FloatArray) -> float | None:
    norm = float(np.linalg.norm(truth))
    return float(np.linalg.norm(estimate - truth)) / norm if norm > 0 else None


def cosine(estimate: FloatArray, truth: FloatArray) -> float | None:
    """Cosine similarity; 0 for a zero estimate, None for a zero truth."""
    a, b = float(np.linalg.norm(estimate)), float(np.linalg.norm(truth))
    if b == 0:
        return None
    if a == 0:
        return 0.0
    return float(np.dot(estimate, truth)) / (a * b)


def magnitude_error(estimate: FloatArray, truth: FloatArray) -> float | None:
    """| ||x^|| - ||x|| | / ||x||."""
    norm = float(np.linalg.norm(truth))
    return abs(float(np.linalg.norm(estimate)) - norm) / norm if norm > 0 else None


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
