"""``hemesh topology show SPEC``: a graph's degree statistics, spectral gap and drawing.

SPEC is a generator call written as words, ``ring n=8`` or
``erdos_renyi n=16 p=0.3 seed=1``, or the path of a graph file.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import networkx as nx

import topologies

from .._errors import BadInput


def parse_spec(spec: str) -> dict[str, Any]:
    """``"erdos_renyi n=16 p=0.3 seed=1"`` -> ``{"kind": "erdos_renyi", "n": 16, ...}``;
    an existing file -> ``{"kind": "file", "path": spec}``."""
    text = spec.strip()
    if not text:
        raise BadInput("topology spec is empty; e.g. 'ring n=8'")
    if Path(text).is_file():
        return {"kind": "file", "path": text}
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise BadInput(f"topology spec {spec!r}: {exc}") from exc
    kind, *params = words
    if "=" in kind:
        raise BadInput(f"topology spec {spec!r}: starts with a kind, e.g. 'ring n=8'")
    result: dict[str, Any] = {"kind": kind}
    for word in params:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise BadInput(f"topology spec {spec!r}: {word!r} is not name=value")
        if key in result:
            raise BadInput(f"topology spec {spec!r}: {key!r} is given twice")
        result[key] = _value(value)
    return result


def _value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphReport:
    spec: dict[str, Any]
    nodes: int
    edges: int
    degree_min: int
    degree_max: int
    degree_mean: float
    degree_histogram: dict[int, int]
    diameter: int
    spectral_gap: float
    """1 - second largest eigenvalue modulus of the Metropolis matrix."""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["degree_histogram"] = {str(k): v for k, v in self.degree_histogram.items()}
        return data


def build(spec: dict[str, Any]) -> nx.Graph:
    try:
        return topologies.from_spec(spec)
    except topologies.TopologyError as exc:
        raise BadInput(f"topology: {exc}") from exc
    except (TypeError, ValueError) as exc:  # a parameter of the wrong type
        raise BadInput(f"topology {spec!r}: {exc}") from exc


def report(spec: dict[str, Any], graph: nx.Graph) -> GraphReport:
    degrees = [int(d) for _, d in graph.degree]
    histogram: dict[int, int] = {}
    for d in sorted(degrees):
        histogram[d] = histogram.get(d, 0) + 1
    return GraphReport(
        spec=spec,
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        degree_min=min(degrees),
        degree_max=max(degrees),
        degree_mean=sum(degrees) / len(degrees),
        degree_histogram=histogram,
        diameter=int(nx.diameter(graph)),
        spectral_gap=topologies.spectral_gap(graph),
    )


def draw(graph: nx.Graph, title: str, path: Path) -> None:
    """Write a PNG drawing of ``graph``."""
    from ._figures import write_topology_png
    from ._views import Topology

    data = topologies.to_json(graph)
    topology = Topology(
        nodes=[n["name"] for n in data["nodes"]], edges=[(u, v) for u, v in data["edges"]]
    )
    try:
        write_topology_png(topology, title, path)
    except OSError as exc:
        raise BadInput(f"-o {path}: cannot write: {exc}") from exc
