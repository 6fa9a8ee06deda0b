"""The problem of a run: every agent's local objective, x*, the start, held-out rows.

The runner builds every agent's shard from the scenario's seed, so a run directory
(scenario + ``problem.npz``) is enough to recompute every metric offline. A problem made
by a user's factory (``kind = "python"``) cannot be saved as arrays: ``problem.npz`` then
records the call (the factory, the agents, the seed, the module folders) and reading it
makes the call again, so that reading such a run imports and runs the user's module
(read only run directories you trust).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agents import Classifier, ConfigError, Objective, objective_from_arrays

from .._errors import BadInput
from ._factory import Factory

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class HeldOut:
    """Rows kept out of every agent's data: the test set for test loss and accuracy."""

    features: FloatArray
    labels: npt.NDArray[Any]

    def __post_init__(self) -> None:
        if self.features.ndim != 2 or self.labels.shape != (self.features.shape[0],):
            raise BadInput(
                f"held-out rows: features {self.features.shape} and labels "
                f"{self.labels.shape} do not match"
            )


@dataclass(frozen=True, slots=True)
class Problem:
    """The agents' local objectives (in agent order), the minimizer x* of their sum
    (None where there is no x* to compute, e.g. a non-convex model), every agent's
    starting point ``x0`` (zeros unless given) and the held-out rows, if any.
    ``factory``: the call that made the objectives (``kind = "python"``), which
    :meth:`save` records in their place."""

    objectives: tuple[Objective, ...]
    x_star: FloatArray | None = None
    x0: FloatArray = field(default_factory=lambda: np.zeros(0))
    test: HeldOut | None = None
    factory: Factory | None = None

    def __post_init__(self) -> None:
        if not self.objectives:
            raise BadInput("a problem needs at least one agent's objective")
        dims = {f.dim for f in self.objectives}
        if len(dims) != 1:
            raise BadInput(f"the agents' objectives disagree on the dimension: {sorted(dims)}")
        dim = dims.pop()
        if self.x0.size == 0:
            object.__setattr__(self, "x0", np.zeros(dim))
        for name, value in (("x0", self.x0), ("x_star", self.x_star)):
            if value is not None and value.shape != (dim,):
                raise BadInput(f"{name} has shape {value.shape}; the objectives take ({dim},)")

    @property
    def dim(self) -> int:
        return self.objectives[0].dim

    @property
    def model(self) -> Objective:
        """The model every agent trains (the first agent's objective on held-out rows)."""
        return self.objectives[0]

    def total(self, x: FloatArray) -> float:
        """F(x) = sum_i f_i(x)."""
        return float(sum(f.value(x) for f in self.objectives))

    def smoothness(self) -> float:
        """The largest local smoothness constant L (lambda0 defaults to 3/L)."""
        return max(f.smoothness() for f in self.objectives)

    def evaluate(self, x: FloatArray) -> dict[str, float]:
        """Test loss (and test accuracy for a classifier) of the model ``x`` on the
        held-out rows; empty without held-out rows. A regression's test loss is half the
        mean squared error, the training objective's own scale."""
        if self.test is None:
            return {}
        model, test = self.model, self.test
        if isinstance(model, Classifier):
            return {
                "test_loss": float(model.loss(x, test.features, test.labels)),
                "test_accuracy": float(model.accuracy(x, test.features, test.labels)),
            }
        residual = test.features @ x - test.labels
        return {"test_loss": float(0.5 * np.mean(residual**2))}

    def save(self, path: Path) -> None:
        """Write every agent's objective (its ``kind`` and ``to_arrays()``), x*, x0 and
        the held-out rows as one ``.npz`` (no pickle)."""
        arrays: dict[str, npt.NDArray[Any]] = {"x0": self.x0}
        if self.x_star is not None:
            arrays["x_star"] = self.x_star
        if self.test is not None:
            arrays["test.features"], arrays["test.labels"] = self.test.features, self.test.labels
        if self.factory is not None:
            arrays.update(_factory_arrays(self.factory))
            np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
            return
        kinds = []
        for i, f in enumerate(self.objectives):
            kind, to_arrays = getattr(f, "kind", None), getattr(f, "to_arrays", None)
            if not isinstance(kind, str) or to_arrays is None:
                raise BadInput(
                    f"agent {i}'s objective {type(f).__name__} cannot be saved: it has no "
                    "kind and to_arrays()"
                )
            kinds.append(kind)
            arrays.update({f"f{i}.{name}": value for name, value in to_arrays().items()})
        arrays["kinds"] = np.array(kinds)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> Problem:
        """Read what :meth:`save` wrote; a damaged or foreign file is BadInput naming it."""
        try:
            with np.load(path, allow_pickle=False) as data:
                x_star = data["x_star"] if "x_star" in data.files else None
                test = None
                if "test.features" in data.files:
                    test = HeldOut(data["test.features"], data["test.labels"])
                if "factory.ref" in data.files:
                    factory = _factory_from(data)
                    return cls(factory.objectives(), x_star, data["x0"], test, factory)
                kinds = [str(k) for k in data["kinds"]]
                objectives = []
                for i, kind in enumerate(kinds):
                    prefix = f"f{i}."
                    own = {n[len(prefix) :]: data[n] for n in data.files if n.startswith(prefix)}
                    objectives.append(objective_from_arrays(kind, own))
                return cls(tuple(objectives), x_star, data["x0"], test)
        except (OSError, ValueError, KeyError, ConfigError) as exc:
            raise BadInput(f"{path}: not a readable problem file: {exc}") from exc


def _factory_arrays(factory: Factory) -> dict[str, npt.NDArray[Any]]:
    return {
        "factory.ref": np.array(factory.ref),
        "factory.agents": np.array(factory.agents, dtype=np.int64),
        "factory.seed": np.array(factory.seed, dtype=np.int64),
        "factory.module_path": np.array(list(factory.module_path), dtype=np.str_),
        "factory.lambda0": np.array(np.nan if factory.lambda0 is None else factory.lambda0),
    }


def _factory_from(data: Any) -> Factory:
    lambda0 = float(data["factory.lambda0"])
    return Factory(
        ref=str(data["factory.ref"]),
        agents=int(data["factory.agents"]),
        seed=int(data["factory.seed"]),
        module_path=tuple(str(p) for p in data["factory.module_path"]),
        lambda0=None if np.isnan(lambda0) else lambda0,
    )
