"""A small multilayer perceptron for C-class classification, forward and backward in numpy."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from .._errors import ConfigError
from ._cross_entropy import cross_entropy, residual
from ._data import (
    class_labels,
    entry,
    held_out,
    parameters,
    positive_count,
    regularization,
    samples_matrix,
    saved_int,
    saved_ints,
    saved_text,
    scalar,
)
from ._protocol import FloatArray, IndexArray

Activation = Literal["tanh", "relu"]
ACTIVATIONS: tuple[Activation, ...] = ("tanh", "relu")

DEFAULT_SMOOTHNESS_HINT = 10.0
"""What ``Mlp.smoothness()`` returns unless told otherwise: lambda0 = 3/L = 0.3."""


@dataclass(frozen=True, eq=False)
class Mlp:
    """f_i(x) = (1/m) sum_s cross_entropy(net_x(a_s), y_s) + (l2/2)||x||^2.

    The net maps d features through ``hidden`` layers (``activation`` after each)
    to ``classes`` logits, softmax cross-entropy on top. ``hidden=()`` is softmax
    regression with biases.

    Layout of x: layer by layer from the input, each layer's weight matrix W of
    shape (out, in) flattened row-major, then its bias vector b of length out.
    Layer sizes are d, *hidden, classes, so dim = sum_l out_l * (in_l + 1).
    ``unpack(x)`` gives the (W, b) pairs as views. The l2 term covers the whole
    vector, biases included.

    Smoothness: the gradient of a network has no global Lipschitz constant (it
    grows with the weights), so ``smoothness()`` returns ``smoothness_hint``, a
    number the user sets; the default 10.0 gives lambda0 = 3/L = 0.3, a common
    first step size for standardized features. It is not a bound: lower lambda0
    if training diverges.

    Starting point: the agents start from the scenario's x0, and x = 0 is a
    saddle of a network (every hidden unit gets the same gradient); put
    ``init(seed)`` into x0 instead.
    """

    kind: ClassVar[str] = "mlp"

    features: FloatArray
    labels: IndexArray
    _: KW_ONLY
    hidden: tuple[int, ...]
    classes: int
    l2: float = 1e-4
    activation: Activation = "tanh"
    smoothness_hint: float = DEFAULT_SMOOTHNESS_HINT
    _sizes: tuple[tuple[int, int], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        classes = positive_count(self.classes, "classes", minimum=2)
        widths_given: object = self.hidden
        if not isinstance(widths_given, (tuple, list)):
            raise ConfigError(f"hidden must be a tuple of layer widths, got {widths_given!r}")
        hidden = tuple(positive_count(h, "hidden layer width") for h in widths_given)
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        hint = self.smoothness_hint
        if isinstance(hint, bool) or not isinstance(hint, (int, float, np.floating, np.integer)):
            raise ConfigError(f"smoothness_hint must be a number, got {type(hint).__name__}")
        if not (math.isfinite(hint) and hint > 0):
            raise ConfigError(f"smoothness_hint must be > 0 and finite, got {hint}")
        a = samples_matrix(self.features)
        widths = (int(a.shape[1]), *hidden, classes)
        object.__setattr__(self, "features", a)
        object.__setattr__(self, "labels", class_labels(self.labels, a.shape[0], classes))
        object.__setattr__(self, "hidden", hidden)
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "l2", regularization(self.l2))
        object.__setattr__(self, "smoothness_hint", float(hint))
        object.__setattr__(self, "_sizes", tuple(zip(widths[1:], widths[:-1], strict=True)))

    @property
    def dim(self) -> int:
        return sum(out * (inp + 1) for out, inp in self._sizes)

    @property
    def samples(self) -> int:
        return int(self.features.shape[0])

    def unpack(self, x: FloatArray) -> tuple[tuple[FloatArray, FloatArray], ...]:
        """The (W, b) pair of every layer, input first, as views into ``x``."""
        v = parameters(x, self.dim, self.kind)
        layers = []
        start = 0
        for out, inp in self._sizes:
            w = v[start : start + out * inp].reshape(out, inp)
            start += out * inp
            layers.append((w, v[start : start + out]))
            start += out
        return tuple(layers)

    def init(self, seed: int | np.random.Generator) -> FloatArray:
        """A Glorot-uniform starting vector: W ~ U(-r, r), r = sqrt(6 / (in + out)), b = 0."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        parts: list[FloatArray] = []
        for out, inp in self._sizes:
            limit = math.sqrt(6.0 / (inp + out))
            parts.append(rng.uniform(-limit, limit, size=out * inp))
            parts.append(np.zeros(out))
        return np.concatenate(parts)

    def value(self, x: FloatArray, batch: IndexArray | None = None) -> float:
        """f_i(x), or the data term averaged over ``batch`` only (plus the full l2 term)."""
        a = self.features if batch is None else self.features[batch]
        y = self.labels if batch is None else self.labels[batch]
        return cross_entropy(self._logits(x, a), y) + 0.5 * self.l2 * float(x @ x)

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        a = self.features if batch is None else self.features[batch]
        y = self.labels if batch is None else self.labels[batch]
        layers = self.unpack(x)
        outputs = self._forward(layers, a)  # input, each hidden layer's output, logits
        delta = residual(outputs[-1], y)
        pieces: list[FloatArray] = []
        for depth in range(len(layers) - 1, -1, -1):
            below = outputs[depth]
            pieces.append(delta.sum(axis=0))
            pieces.append((delta.T @ below).ravel())
            if depth:
                delta = (delta @ layers[depth][0]) * self._slope(below)
        g: FloatArray = np.concatenate(pieces[::-1]) + self.l2 * x
        return g

    def smoothness(self) -> float:
        """``smoothness_hint``: a user-chosen L, not a bound (see the class docstring)."""
        return self.smoothness_hint

    def predict(self, x: FloatArray, features: npt.ArrayLike) -> IndexArray:
        """The most likely class id of every row of ``features`` (ties: the lowest id)."""
        a = held_out(features, self._sizes[0][1], self.kind)
        predicted: IndexArray = np.argmax(self._logits(x, a), axis=1).astype(np.intp)
        return predicted

    def accuracy(self, x: FloatArray, features: npt.ArrayLike, labels: npt.ArrayLike) -> float:
        """The fraction of rows whose class ``predict`` gets right."""
        a = held_out(features, self._sizes[0][1], self.kind)
        y = class_labels(labels, a.shape[0], self.classes)
        return float(np.mean(self.predict(x, a) == y))

    def loss(self, x: FloatArray, features: npt.ArrayLike, labels: npt.ArrayLike) -> float:
        """The mean cross-entropy on the given rows, without the l2 term."""
        a = held_out(features, self._sizes[0][1], self.kind)
        y = class_labels(labels, a.shape[0], self.classes)
        return cross_entropy(self._logits(x, a), y)

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays :meth:`from_arrays` rebuilds this objective from (``np.savez``-safe)."""
        return {
            "features": self.features,
            "labels": self.labels.astype(np.int64),
            "hidden": np.array(self.hidden, dtype=np.int64),
            "classes": np.array(self.classes, dtype=np.int64),
            "l2": np.array(self.l2),
            "activation": np.array(self.activation),
            "smoothness_hint": np.array(self.smoothness_hint),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]]) -> Mlp:
        k = cls.kind
        return cls(
            entry(arrays, "features", k),
            entry(arrays, "labels", k),
            hidden=saved_ints(arrays, "hidden", k),
            classes=saved_int(arrays, "classes", k),
            l2=scalar(arrays, "l2", k),
            activation=_activation(saved_text(arrays, "activation", k)),
            smoothness_hint=scalar(arrays, "smoothness_hint", k),
        )

    def _logits(self, x: FloatArray, a: FloatArray) -> FloatArray:
        return self._forward(self.unpack(x), a)[-1]

    def _forward(
        self, layers: tuple[tuple[FloatArray, FloatArray], ...], a: FloatArray
    ) -> list[FloatArray]:
        """[a, h_1, ..., h_L, logits]: the input, every hidden layer's output, the logits."""
        outputs = [a]
        for w, b in layers[:-1]:
            z = outputs[-1] @ w.T + b
            outputs.append(np.tanh(z) if self.activation == "tanh" else np.maximum(z, 0.0))
        w, b = layers[-1]
        outputs.append(outputs[-1] @ w.T + b)
        return outputs

    def _slope(self, h: FloatArray) -> FloatArray:
        """The activation's derivative, from its output h."""
        slope: FloatArray = 1.0 - h * h if self.activation == "tanh" else (h > 0).astype(np.float64)
        return slope


def _activation(text: str) -> Activation:
    for option in ACTIVATIONS:
        if text == option:
            return option
    raise ConfigError(f"mlp: saved activation must be one of {ACTIVATIONS}, got {text!r}")
