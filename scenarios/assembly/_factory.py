"""``kind = "python"``: each agent's objective from a user's function, vetted before a run.

``factory = "package.module:function"`` is called once per agent as
``function(agent=i, agents=n, seed=seed)`` (keywords only; ``seed`` is the scenario's) and
must return an object following :class:`agents.Objective`: ``dim`` and ``samples``
(positive ints), ``value(x)``, ``gradient(x, batch=None)`` and ``smoothness()`` (a
Lipschitz constant of the gradient; without one, set ``algorithm.lambda0``). It must
return the same objective for the same arguments: a run directory records the call, and
reading the run (metrics, ``hemesh summarize``) makes it again.

The module is imported from ``sys.path``; failing that, the folders of
``problem.module_path`` and then the scenario file's folder are appended to ``sys.path``
and the import is tried again (so a module beside the scenario file is found, and it may
import its own siblings).
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from agents import ConfigError, FloatArray, IndexArray, Objective, check_objective

from .._errors import BadInput

_MEMBERS = ("dim", "samples", "value", "gradient")


@dataclass(frozen=True, kw_only=True)
class Factory:
    """A call of a user's objective factory, for every agent of a run."""

    ref: str
    """``package.module:function``."""
    agents: int
    seed: int
    module_path: tuple[str, ...] = ()
    """Folders searched after ``sys.path`` (absolute)."""
    lambda0: float | None = None
    """The scenario's stepsize base, if it sets one: an objective without ``smoothness()``
    is then given ``3 / lambda0`` (the bound lambda0 = 3 / L stands for)."""

    def __post_init__(self) -> None:
        module, _, function = self.ref.partition(":")
        if not module or not function:
            raise BadInput(f"problem.factory: {self.ref!r} is not 'package.module:function'")
        if self.agents < 1:
            raise BadInput(f"problem.factory {self.ref!r}: {self.agents} agents")

    def function(self) -> Callable[..., object]:
        """The factory, imported; BadInput naming it when the import or the lookup fails."""
        name, _, attribute = self.ref.partition(":")
        module = _imported(name, self.module_path, self.ref)
        try:
            function = getattr(module, attribute)
        except AttributeError:
            raise BadInput(
                f"problem.factory {self.ref!r}: module {name!r} ({module.__file__}) has no "
                f"{attribute!r}"
            ) from None
        if not callable(function):
            raise BadInput(
                f"problem.factory {self.ref!r}: {attribute!r} is a {type(function).__name__}, "
                "not a function"
            )
        return function  # type: ignore[no-any-return]

    def objectives(self) -> tuple[Objective, ...]:
        """Every agent's objective, checked (see :func:`checked_objectives`)."""
        function = self.function()
        made = []
        for i in range(self.agents):
            try:
                made.append(function(agent=i, agents=self.agents, seed=self.seed))
            except Exception as exc:  # user code: any failure is the factory's, named
                raise BadInput(
                    f"problem.factory {self.ref!r}: the call for agent {i} raised "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        return checked_objectives(made, self.ref, lambda0=self.lambda0)


def _imported(name: str, folders: Sequence[str], ref: str) -> ModuleType:
    try:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
                raise  # the module was found; something it imports was not
            added = [f for f in folders if f not in sys.path]
            if not added:
                raise
            sys.path.extend(added)
            importlib.invalidate_caches()
            return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        where = ", ".join(folders) or "no other folder"
        raise BadInput(
            f"problem.factory {ref!r}: cannot import {name!r}: {exc} (looked on sys.path, "
            f"then in {where})"
        ) from exc
    except Exception as exc:  # user code runs on import: any failure is the factory's
        raise BadInput(
            f"problem.factory {ref!r}: importing {name!r} raised {type(exc).__name__}: {exc}"
        ) from exc


@dataclass(frozen=True, eq=False)
class WithSmoothness:
    """A user's objective without ``smoothness()``, given the bound the scenario's lambda0
    implies; everything else is the user's object's."""

    objective: Any
    bound: float

    @property
    def dim(self) -> int:
        return int(self.objective.dim)

    @property
    def samples(self) -> int:
        return int(self.objective.samples)

    def value(self, x: FloatArray, batch: IndexArray | None = None) -> float:
        if batch is None:
            return float(self.objective.value(x))
        return float(self.objective.value(x, batch))

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        result: FloatArray = self.objective.gradient(x, batch)
        return result

    def smoothness(self) -> float:
        return self.bound


def checked_objectives(
    made: Sequence[object], ref: str, *, lambda0: float | None
) -> tuple[Objective, ...]:
    """Refuse (BadInput naming the factory) what an agent could not run with: an object
    that is not an objective, dims that disagree, a value or gradient at x0 = 0 that is
    not finite, no smoothness bound (without lambda0), and (agent 0, by
    :func:`agents.check_objective`) a gradient that disagrees with finite differences."""
    where = f"problem.factory {ref!r}"
    objectives: list[Objective] = []
    for i, given in enumerate(made):
        obj: Any = given
        missing = [m for m in _MEMBERS if not hasattr(obj, m)]
        if missing:
            raise BadInput(
                f"{where}: agent {i}: returned a {type(obj).__name__}, not an objective "
                f"(it lacks {', '.join(missing)}; see agents.Objective)"
            )
        if not hasattr(obj, "smoothness"):
            if lambda0 is None:
                raise BadInput(
                    f"{where}: agent {i}: the objective has no smoothness(); give one or set "
                    "algorithm.lambda0"
                )
            obj = WithSmoothness(obj, 3.0 / lambda0)
        objectives.append(obj)
    dims = []
    for i, obj in enumerate(objectives):
        try:
            dim, samples = obj.dim, obj.samples
        except Exception as exc:  # user code
            raise BadInput(f"{where}: agent {i}: dim or samples raised {exc!r}") from exc
        for label, count in (("dim", dim), ("samples", samples)):
            if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
                raise BadInput(f"{where}: agent {i}: {label} must be a positive int, got {count!r}")
        dims.append(int(dim))
    if len(set(dims)) != 1:
        raise BadInput(f"{where}: the agents' objectives disagree on dim: {dims}")
    x0 = np.zeros(dims[0])
    for i, obj in enumerate(objectives):
        _finite_at(obj, x0, f"{where}: agent {i}")
    try:
        check_objective(objectives[0], x0 + _generic_point(dims[0]))
    except ConfigError as exc:
        raise BadInput(f"{where}: agent 0: {exc}") from exc
    return tuple(objectives)


def _generic_point(dim: int) -> FloatArray:
    """A fixed point near 0 that is no minimizer of anything in particular (the gradient
    check at x = 0 would be blind to a wrong gradient of an even function)."""
    point: FloatArray = 0.1 * np.sin(np.arange(1, dim + 1, dtype=np.float64))
    return point


def _finite_at(obj: Objective, x: FloatArray, where: str) -> None:
    try:
        value = obj.value(x.copy())
        gradient = np.asarray(obj.gradient(x.copy()), dtype=np.float64)
        smoothness = obj.smoothness()
    except Exception as exc:  # user code: a failure is the factory's, named
        raise BadInput(f"{where}: at x0 = 0 it raised {type(exc).__name__}: {exc}") from exc
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise BadInput(f"{where}: value(x0) must be a number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise BadInput(f"{where}: value(x0) = {value} is not finite")
    if gradient.shape != x.shape or not np.isfinite(gradient).all():
        raise BadInput(
            f"{where}: gradient(x0) must be {x.shape[0]} finite numbers, got shape "
            f"{gradient.shape}" + ("" if gradient.shape != x.shape else " with NaN or inf")
        )
    if isinstance(smoothness, bool) or not isinstance(smoothness, int | float | np.number):
        raise BadInput(f"{where}: smoothness() must be a number, got {smoothness!r}")
    if not (math.isfinite(float(smoothness)) and smoothness > 0):
        raise BadInput(f"{where}: smoothness() must be finite and > 0, got {smoothness!r}")


def factory_folders(module_path: Sequence[Path]) -> tuple[str, ...]:
    """The folders of ``problem.module_path`` as the strings :class:`Factory` keeps."""
    return tuple(str(p) for p in module_path)
