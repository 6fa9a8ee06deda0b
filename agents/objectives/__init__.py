"""Local objectives f_i an agent minimizes on its own data, with minibatch gradients.

Each model is a frozen dataclass validated on construction, has a stable ``kind``
and ``to_arrays()``/``from_arrays()`` for saving without pickle; classifiers add
``predict``/``accuracy``/``loss`` on held-out data. A user's own objective need only
follow :class:`Objective`; :func:`check_objective` vets it before a run.
"""

from ._gradient_check import check_gradient, check_objective
from ._kinds import OBJECTIVE_KINDS, objective_from_arrays
from ._least_squares import LeastSquares, Ridge
from ._logistic import Logistic
from ._mlp import ACTIVATIONS, DEFAULT_SMOOTHNESS_HINT, Activation, Mlp
from ._protocol import Classifier, FloatArray, IndexArray, Objective
from ._softmax import Softmax

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_SMOOTHNESS_HINT",
    "OBJECTIVE_KINDS",
    "Activation",
    "Classifier",
    "FloatArray",
    "IndexArray",
    "LeastSquares",
    "Logistic",
    "Mlp",
    "Objective",
    "Ridge",
    "Softmax",
    "check_gradient",
    "check_objective",
    "objective_from_arrays",
]
