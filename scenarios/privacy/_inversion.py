"""Input reconstruction: a minibatch's feature rows from a reconstructed gradient.

For the linear models the gradient of one sample is its feature vector times a scalar
(plus the l2 term, which the attacker removes with the state it reconstructed and the
public l2):

- ``logistic`` with an intercept: ``g = (c a + l2 w, c)``, so ``a = (g[:-1] - l2 w) / g[-1]``,
  exact for batch size 1 (the scalar c = -y sigmoid(-y s) is the bias coordinate);
- ``logistic`` without one: ``g - l2 w = c a``, the input up to its scale (and sign);
- ``softmax`` (weights W, rows per class; with ``intercept`` the features end with a
  column of ones): ``G - l2 W = R^T A``; for batch size 1 every row is ``r_c a``, so
  ``a = row / row[-1]``; for a small batch each class row is a weighted mean of the
  batch's inputs, close to the input whose label is that class when it is alone.

A gradient known up to a positive factor (the colluders' estimate with an unknown scalar
stepsize factor theta) gives the same rows with l2 = 0 and a small bias
``(theta - 1) l2 w / (theta c)`` otherwise. Only the estimates and
:class:`PublicParams` are read; scoring against the true rows is ``_audit``'s.
"""

from __future__ import annotations

import numpy as np

from ._attacks import FloatArray
from ._params import PublicParams

TINY = 1e-12
"""A bias coordinate this small (relative to the gradient) carries no usable scale."""

INVERTIBLE = ("logistic", "softmax")


def invertible(public: PublicParams) -> bool:
    """Whether the run's model is one this module inverts (and its layout is known)."""
    kind = public.model.get("kind")
    return kind == "logistic" or (kind == "softmax" and bool(public.model.get("classes")))


def exact_scale(public: PublicParams) -> bool:
    """Whether the rows come out at their true scale (an intercept), not up to scale."""
    return bool(public.model.get("intercept"))


def invert(gradient: FloatArray, state: FloatArray, public: PublicParams) -> FloatArray | None:
    """Candidate feature rows (one per row of the result) of the minibatch that gave
    ``gradient`` at ``state``; None when the gradient carries no usable scale."""
    model = public.model
    l2 = float(model.get("l2", 0.0))
    intercept = bool(model.get("intercept"))
    if model.get("kind") == "logistic":
        if intercept:
            bias = gradient[-1]
            if abs(bias) <= TINY * max(float(np.linalg.norm(gradient)), TINY):
                return None
            row = (gradient[:-1] - l2 * state[:-1]) / bias
        else:
            row = gradient - l2 * state
        return np.asarray(row[None, :], dtype=np.float64)
    classes = int(model.get("classes") or 0)
    if model.get("kind") != "softmax" or classes < 2 or gradient.size % classes:
        return None
    residual = (gradient - l2 * state).reshape(classes, -1)
    if not intercept:
        order = np.argsort(-np.linalg.norm(residual, axis=1))
        return np.asarray(residual[order], dtype=np.float64)
    scale = residual[:, -1]
    usable = np.abs(scale) > TINY * max(float(np.abs(residual).max()), TINY)
    if not usable.any():
        return None
    kept = [int(c) for c in np.argsort(-np.abs(scale)) if usable[c]]
    return np.asarray(residual[kept] / scale[kept, None], dtype=np.float64)


def prior_rows(public: PublicParams) -> FloatArray | None:
    """Knowing nothing: the mean of standardized features, zero (one row of the
    feature width); None where the layout is unknown."""
    model = public.model
    intercept = bool(model.get("intercept"))
    if model.get("kind") == "logistic":
        return np.zeros((1, public.dim - intercept))
    classes = int(model.get("classes") or 0)
    if model.get("kind") == "softmax" and classes >= 2 and public.dim % classes == 0:
        row = np.zeros((1, public.dim // classes))
        if intercept:
            row[0, -1] = 1.0  # the column of ones is known
        return row
    return None


def invert_all(
    states: dict[str, dict[int, FloatArray]],
    gradients: dict[str, dict[int, FloatArray]],
    public: PublicParams,
    *,
    prior: bool = False,
) -> dict[str, dict[int, FloatArray]]:
    """Per target and iteration, the candidate rows of :func:`invert` (where a state
    and a gradient were reconstructed for that iteration); ``prior``: the adversary
    reconstructed nothing, every iteration gets :func:`prior_rows`."""
    if not invertible(public):
        return {}
    if prior:
        rows0 = prior_rows(public)
        if rows0 is None:
            return {}
        return {t: dict.fromkeys(by_k, rows0) for t, by_k in gradients.items()}
    out: dict[str, dict[int, FloatArray]] = {}
    for target, by_k in gradients.items():
        rows: dict[int, FloatArray] = {}
        for k, g in by_k.items():
            x = states.get(target, {}).get(k)
            if x is None:
                continue
            candidate = invert(g, x, public)
            if candidate is not None:
                rows[k] = candidate
        out[target] = rows
    return out


def match(candidates: FloatArray, truth: FloatArray) -> tuple[float | None, float | None]:
    """For each true row, the best candidate; the median over the true rows of its
    relative error and of its absolute cosine (a scale-free, sign-free measure)."""
    errors, cosines = [], []
    for row in truth:
        norm = float(np.linalg.norm(row))
        if norm == 0 or candidates.shape[1] != row.size:
            continue
        errors.append(min(float(np.linalg.norm(c - row)) / norm for c in candidates))
        cos = [
            abs(float(c @ row)) / (float(np.linalg.norm(c)) * norm)
            for c in candidates
            if np.linalg.norm(c) > 0
        ]
        cosines.append(max(cos) if cos else 0.0)
    if not errors:
        return None, None
    return float(np.median(errors)), float(np.median(cosines))
