"""Softmax cross-entropy on a matrix of logits, shared by the multiclass models."""

from __future__ import annotations

import numpy as np

from ._protocol import FloatArray, IndexArray


def cross_entropy(logits: FloatArray, labels: IndexArray) -> float:
    """(1/m) sum_s [logsumexp(z_s) - z_s[y_s]] for logits z of shape (m, C)."""
    rows = np.arange(logits.shape[0])
    return float(np.mean(_logsumexp(logits) - logits[rows, labels]))


def residual(logits: FloatArray, labels: IndexArray) -> FloatArray:
    """d cross_entropy / d logits: (softmax(z) - onehot(y)) / m, shape (m, C)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    probabilities[np.arange(logits.shape[0]), labels] -= 1.0
    result: FloatArray = probabilities / logits.shape[0]
    return result


def _logsumexp(logits: FloatArray) -> FloatArray:
    top = logits.max(axis=1)
    result: FloatArray = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
    return result
