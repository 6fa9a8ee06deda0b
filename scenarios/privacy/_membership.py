"""Membership inference against each agent's final model: the loss-threshold attack.

The attacker is given an agent's final model (what the agent would publish or deploy;
the same whatever protected the channel during training) and candidate rows; it
guesses "member" for a low loss (Yeom et al., CSF 2018). Its success over every
threshold is the ROC curve's area (AUC; 0.5: no better than a coin), reported with a
bootstrap 95% interval. Members are the agent's training rows, non-members the
held-out test rows (the challenger's labels; the attack never reads them).

:func:`loss_scores` is the attack (a model, a loss, the candidates); :func:`auc` and
:func:`bootstrap_auc` score it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

from ._attacks import FloatArray

Loss = Callable[[FloatArray, FloatArray, npt.NDArray[np.generic]], float]
"""loss(x, features, labels): the mean loss of the model x on the given rows."""


def loss_scores(
    loss: Loss, model: FloatArray, features: FloatArray, labels: npt.NDArray[np.generic]
) -> FloatArray:
    """The attack's membership score of each candidate row: minus its loss."""
    return np.array(
        [-loss(model, features[i : i + 1], labels[i : i + 1]) for i in range(features.shape[0])],
        dtype=np.float64,
    )


def auc(members: FloatArray, non_members: FloatArray) -> float:
    """P(score of a member > score of a non-member), ties counted half (Mann-Whitney)."""
    m, n = members.size, non_members.size
    if m == 0 or n == 0:
        raise ValueError("AUC needs members and non-members")
    ranks = rankdata(np.concatenate([members, non_members]))
    return float((ranks[:m].sum() - m * (m + 1) / 2) / (m * n))


def bootstrap_auc(
    members: FloatArray, non_members: FloatArray, *, resamples: int, seed: int
) -> tuple[float, float, float]:
    """The AUC and its 95% percentile interval over ``resamples`` bootstrap draws (each
    group resampled with replacement on its own)."""
    rng = np.random.default_rng(seed)
    draws = [
        auc(
            rng.choice(members, members.size, replace=True),
            rng.choice(non_members, non_members.size, replace=True),
        )
        for _ in range(resamples)
    ]
    low, high = np.percentile(draws, [2.5, 97.5])
    return auc(members, non_members), float(low), float(high)
