"""Validation of communication graphs: undirected, simple, connected, nodes 0..n-1."""

import math
from collections.abc import Hashable, Sequence

import networkx as nx

from ._errors import TopologyError


def validate(graph: nx.Graph, *, weighted: bool = False) -> nx.Graph:
    """Check ``graph`` and return a copy with nodes relabelled 0..n-1.

    Refused: anything but an undirected simple ``nx.Graph``, self-loops, fewer than
    2 nodes, and disconnected graphs. Nodes that are already the ints 0..n-1 keep
    their number; otherwise nodes are numbered in sorted order (numerically if all
    are ints, else by ``str``). Each node keeps its original name, as a string, in
    the attribute ``"name"`` (an existing string ``"name"`` attribute is kept).
    Other node and edge attributes are dropped, except, if ``weighted``, each edge's
    ``"weight"``, which every edge must have (a finite number; kept as a float).
    """
    if not isinstance(graph, nx.Graph):
        raise TopologyError(f"graph must be a networkx.Graph, got {type(graph).__name__}")
    if graph.is_directed():
        raise TopologyError("graph is directed; an undirected graph is needed")
    if graph.is_multigraph():
        raise TopologyError("graph is a multigraph; a simple graph is needed")
    n = graph.number_of_nodes()
    if n < 2:
        raise TopologyError(f"graph must have at least 2 nodes, got {n}")
    loops = sorted(str(u) for u, _ in nx.selfloop_edges(graph))
    if loops:
        raise TopologyError(f"graph has {len(loops)} self-loop(s), on node(s) {', '.join(loops)}")
    if not nx.is_connected(graph):
        components = nx.number_connected_components(graph)
        raise TopologyError(f"graph is disconnected: it has {components} connected components")

    order = _node_order(list(graph.nodes))
    index = {node: i for i, node in enumerate(order)}
    names = [_name(node, graph.nodes[node].get("name")) for node in order]
    if len(set(names)) < n:
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise TopologyError(f"graph has several nodes named {', '.join(map(repr, duplicates))}")

    result = nx.Graph()
    for i, name in enumerate(names):
        result.add_node(i, name=name)
    edges = sorted(tuple(sorted((index[u], index[v]))) for u, v in graph.edges)
    result.add_edges_from(edges)
    if weighted:
        for u, v, weight in graph.edges(data="weight"):
            result.edges[index[u], index[v]]["weight"] = _weight(u, v, weight)
    return result


def _weight(u: Hashable, v: Hashable, weight: object) -> float:
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise TopologyError(f"edge {u!r} - {v!r}: weight must be a number, got {weight!r}")
    if not math.isfinite(weight):
        raise TopologyError(f"edge {u!r} - {v!r}: weight must be finite, got {weight!r}")
    return float(weight)


def _node_order(nodes: list[Hashable]) -> Sequence[Hashable]:
    """Nodes in their new order: by value if all are ints, else by ``str``."""
    ints = [node for node in nodes if isinstance(node, int) and not isinstance(node, bool)]
    if len(ints) == len(nodes):
        return sorted(ints)
    return sorted(nodes, key=str)


def _name(node: Hashable, existing: object) -> str:
    return existing if isinstance(existing, str) else str(node)
