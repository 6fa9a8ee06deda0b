"""What a validated graph implies: degrees, Metropolis weights, spectral gap, JSON form."""

from collections.abc import Hashable
from typing import Any

import networkx as nx
import numpy as np

from ._errors import TopologyError
from ._validate import validate


def max_degree(g: nx.Graph) -> int:
    """The largest node degree of ``g``."""
    return max((int(degree) for _, degree in g.degree), default=0)


def metropolis_weights(g: nx.Graph) -> dict[tuple[int, int], float]:
    """Metropolis weight ``w_ij = 1 / (1 + max(deg_i, deg_j))`` for every ordered
    neighbour pair ``(i, j)``; ``g`` has nodes 0..n-1 (a validated graph)."""
    _require_indexed(g)
    weights: dict[tuple[int, int], float] = {}
    for u, v in g.edges:
        i, j = int(u), int(v)
        w = 1.0 / (1 + max(g.degree[i], g.degree[j]))
        weights[i, j] = w
        weights[j, i] = w
    return dict(sorted(weights.items()))


def spectral_gap(g: nx.Graph) -> float:
    """``1 - `` the second largest eigenvalue modulus of the Metropolis matrix of ``g``.

    Between 0 and 1 for a connected graph; larger means faster consensus.
    """
    _require_indexed(g)
    n = g.number_of_nodes()
    matrix = np.zeros((n, n))
    for (i, j), w in metropolis_weights(g).items():
        matrix[i, j] = w
    matrix[np.diag_indices(n)] = 1.0 - matrix.sum(axis=1)
    eigenvalues = np.linalg.eigvalsh(matrix)  # ascending; the largest is 1
    return float(1.0 - max(abs(eigenvalues[0]), abs(eigenvalues[-2])))


def to_json(g: nx.Graph) -> dict[str, Any]:
    """JSON-ready form of a validated graph, nodes and edges sorted:
    ``{"nodes": [{"id": 0, "name": "..."}, ...], "edges": [[0, 1], ...]}``."""
    _require_indexed(g)
    nodes = [{"id": i, "name": str(g.nodes[i].get("name", i))} for i in range(len(g))]
    edges = sorted(sorted((int(u), int(v))) for u, v in g.edges)
    return {"nodes": nodes, "edges": edges}


def from_json(obj: object) -> nx.Graph:
    """The validated graph described by ``obj``, the inverse of :func:`to_json`.

    Also accepts nodes given as bare names (``{"nodes": ["a", "b"], ...}``).
    """
    if not isinstance(obj, dict):
        raise TopologyError(f"graph JSON must be an object, got {type(obj).__name__}")
    nodes, edges = obj.get("nodes"), obj.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list):
        raise TopologyError('graph JSON must have lists "nodes" and "edges"')
    graph = nx.Graph()
    for position, entry in enumerate(nodes):
        node, name = _json_node(position, entry)
        if node in graph:
            raise TopologyError(f"nodes[{position}]: duplicate node id {node!r}")
        graph.add_node(node, **({} if name is None else {"name": name}))
    for position, edge in enumerate(edges):
        if not isinstance(edge, list | tuple) or len(edge) != 2:
            raise TopologyError(f"edges[{position}]: expected a pair of node ids, got {edge!r}")
        for end in edge:
            if isinstance(end, bool) or not isinstance(end, Hashable) or end not in graph:
                raise TopologyError(f"edges[{position}]: unknown node {end!r}")
        graph.add_edge(edge[0], edge[1])
    return validate(graph)


def _json_node(position: int, entry: object) -> tuple[int | str, str | None]:
    """A node entry's id and name: ``{"id": ..., "name": ...}`` or a bare id."""
    if isinstance(entry, dict):
        node, name = entry.get("id"), entry.get("name")
        if name is not None and not isinstance(name, str):
            raise TopologyError(f"nodes[{position}]: name must be a string, got {name!r}")
    else:
        node, name = entry, None
    if isinstance(node, bool) or not isinstance(node, int | str):
        raise TopologyError(f"nodes[{position}]: node id must be an int or a string, got {node!r}")
    return node, name


def _require_indexed(g: nx.Graph) -> None:
    if set(g.nodes) != set(range(g.number_of_nodes())):
        raise TopologyError("graph nodes must be 0..n-1; pass the graph through validate() first")
