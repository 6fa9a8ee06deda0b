"""From what a reader returned (maybe directed, maybe a multigraph) to a simple graph."""

import math
from collections import Counter
from collections.abc import Hashable

import networkx as nx

from .._errors import TopologyError
from ._names import plural
from ._options import ReadOptions


def simple_undirected(graph: nx.Graph, options: ReadOptions, notes: list[str]) -> nx.Graph:
    """An undirected simple ``nx.Graph`` with the nodes of ``graph`` (and their
    ``"name"`` attribute, if a string), its edges and, if ``options.weighted``, each
    edge's ``"weight"``.

    Directed input is refused unless ``options.symmetrize``: then an arc in either
    direction is an edge (the larger weight if both directions have one). Parallel
    edges are refused. Weights present but not asked for are dropped, with a note.
    """
    if graph.is_directed() and not options.symmetrize:
        raise TopologyError(
            "graph is directed; an undirected graph is needed "
            "(pass symmetrize=True to read every arc as an undirected edge)"
        )
    _refuse_parallel_edges(graph)
    result = nx.Graph()
    for node, data in graph.nodes(data=True):
        name = data.get("name")
        result.add_node(node, **({"name": name} if isinstance(name, str) else {}))
    weights = 0
    for u, v, data in graph.edges(data=True):
        weight = data.get("weight")
        weights += weight is not None
        if not options.weighted:
            result.add_edge(u, v)
            continue
        value = _weight(u, v, weight)
        if result.has_edge(u, v):
            value = max(value, result.edges[u, v]["weight"])
        result.add_edge(u, v, weight=value)
    if graph.is_directed():
        notes.append(
            f"directed graph made undirected (symmetrize): {plural(graph.number_of_edges(), 'arc')}"
            f" became {plural(result.number_of_edges(), 'edge')}"
            + (", the larger weight kept where both directions had one" if options.weighted else "")
        )
    if weights and not options.weighted and _not_all_one(graph):
        notes.append(
            f"edge weights ignored ({plural(weights, 'edge')} had one); "
            "pass weighted=True to keep them"
        )
    return result


def _refuse_parallel_edges(graph: nx.Graph) -> None:
    if not graph.is_multigraph():
        return
    directed = graph.is_directed()
    counts = Counter(
        (u, v) if directed else tuple(sorted((u, v), key=str)) for u, v in graph.edges()
    )
    parallel = sorted((pair for pair, count in counts.items() if count > 1), key=str)
    if parallel:
        u, v = parallel[0]
        raise TopologyError(
            "graph is a multigraph; a simple graph is needed: "
            f"{plural(len(parallel), 'pair')} of nodes joined more than once, "
            f"e.g. {u!r} and {v!r}"
        )


def _weight(u: Hashable, v: Hashable, weight: object) -> float:
    if weight is None:
        raise TopologyError(f"weighted=True, but edge {u!r} - {v!r} has no weight")
    if isinstance(weight, bool) or not isinstance(weight, int | float | str):
        raise TopologyError(f"edge {u!r} - {v!r}: weight must be a number, got {weight!r}")
    try:
        value = float(weight)
    except ValueError as exc:
        raise TopologyError(f"edge {u!r} - {v!r}: weight must be a number, got {weight!r}") from exc
    if not math.isfinite(value):
        raise TopologyError(f"edge {u!r} - {v!r}: weight must be finite, got {weight!r}")
    return value


def _not_all_one(graph: nx.Graph) -> bool:
    return any(data.get("weight", 1) != 1 for *_, data in graph.edges(data=True))
