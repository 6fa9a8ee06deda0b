"""Building a graph from a plain mapping, as written in a scenario file."""

import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import networkx as nx

from ._errors import TopologyError
from ._generators import (
    barabasi_albert,
    complete,
    erdos_renyi,
    grid,
    path,
    random_geometric,
    random_regular,
    ring,
    star,
    torus,
    watts_strogatz,
)
from .files import load

_GENERATORS: dict[str, Callable[..., nx.Graph]] = {
    f.__name__: f
    for f in (
        ring,
        path,
        star,
        complete,
        grid,
        torus,
        erdos_renyi,
        random_regular,
        watts_strogatz,
        barabasi_albert,
        random_geometric,
    )
}

KINDS: tuple[str, ...] = (*_GENERATORS, "file")

# The keys of a ``{"kind": "file", ...}`` spec: ``path`` and load()'s options.
_FILE_PARAMETERS = ("path", "delimiter", "header", "symmetrize", "weighted")


def from_spec(
    spec: Mapping[str, object], *, root: str | os.PathLike[str] | None = None
) -> nx.Graph:
    """Build the graph that ``spec`` names, e.g. ``{"kind": "ring", "n": 8}``,
    ``{"kind": "erdos_renyi", "n": 16, "p": 0.3, "seed": 1}`` or
    ``{"kind": "file", "path": "graph.graphml"}``.

    The other keys are the generator's parameters (see :data:`KINDS`). For
    ``"file"`` they are ``path`` and, optionally, :func:`load`'s options
    ``delimiter``, ``header``, ``symmetrize`` and ``weighted``, e.g.
    ``{"kind": "file", "path": "graph.csv", "delimiter": ",", "header": True}``.
    A relative ``path`` is resolved against ``root`` when given (e.g. the
    scenario's folder).
    """
    kind = spec.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise TopologyError(f"unknown topology kind {kind!r}; expected one of {', '.join(KINDS)}")
    params = {key: value for key, value in spec.items() if key != "kind"}
    if kind == "file":
        _check_params(kind, params, expected=list(_FILE_PARAMETERS), required=["path"])
        file = params.pop("path")
        if not isinstance(file, str | os.PathLike):
            raise TopologyError(f"topology kind 'file': path must be a string, got {file!r}")
        return load(Path(root, file) if root is not None else file, **params)  # type: ignore[arg-type]
    generator = _GENERATORS[kind]
    signature = inspect.signature(generator).parameters.values()
    _check_params(
        kind,
        params,
        expected=[p.name for p in signature],
        required=[p.name for p in signature if p.default is inspect.Parameter.empty],
    )
    return generator(**params)


def _check_params(
    kind: str, params: Mapping[str, object], *, expected: list[str], required: list[str]
) -> None:
    unknown = [key for key in params if key not in expected]
    if unknown:
        raise TopologyError(
            f"topology kind {kind!r}: unknown parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(map(repr, unknown))}; expected {', '.join(expected)}"
        )
    missing = [name for name in required if name not in params]
    if missing:
        raise TopologyError(
            f"topology kind {kind!r}: missing parameter{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))}; expected {', '.join(expected)}"
        )
