"""What an agent needs from its local objective f_i, and what a classifier adds for metrics."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


class Objective(Protocol):
    """f_i(x) = (1/m) sum_s loss(x; sample s), on the agent's private samples.

    The models here also take ``value(x, batch)``, the loss on a minibatch, which
    :func:`check_gradient` needs to check a minibatch gradient; an agent never calls it.
    """

    @property
    def dim(self) -> int: ...

    @property
    def samples(self) -> int: ...

    def value(self, x: FloatArray) -> float: ...

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        """The gradient on ``batch`` (sample indices), or on all samples when None."""

    def smoothness(self) -> float:
        """A Lipschitz constant of the gradient."""


@runtime_checkable
class Classifier(Protocol):
    """A model that can be scored on held-out data (test accuracy and loss).

    ``loss`` is the mean data loss on the given rows, without the l2 penalty, so on
    the model's own data ``value(x)`` is ``loss(x, features, labels)`` plus that penalty.
    """

    def predict(self, x: FloatArray, features: FloatArray) -> npt.NDArray[Any]: ...

    def accuracy(self, x: FloatArray, features: FloatArray, labels: npt.ArrayLike) -> float: ...

    def loss(self, x: FloatArray, features: FloatArray, labels: npt.ArrayLike) -> float: ...
