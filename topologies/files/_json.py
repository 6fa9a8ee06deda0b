"""JSON graphs: the form :func:`topologies.to_json` writes, or networkx node-link data."""

import json

import networkx as nx

from .._describe import from_json
from .._errors import TopologyError


def read_json(text: str) -> nx.Graph:
    """``{"nodes": [...], "edges": [[u, v], ...]}`` or node-link data
    (edges as ``{"source": ..., "target": ...}`` under ``"links"`` or ``"edges"``)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TopologyError(f"line {exc.lineno}: malformed JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise TopologyError(f"expected a JSON object, got {type(data).__name__}")
    edges = data.get("links", data.get("edges"))
    if "links" in data or (isinstance(edges, list) and any(isinstance(e, dict) for e in edges)):
        return _node_link_graph(data)
    return from_json(data)


def _node_link_graph(data: dict[str, object]) -> nx.Graph:
    key = "links" if "links" in data else "edges"
    try:
        return nx.node_link_graph(data, directed=False, multigraph=False, edges=key)
    except (KeyError, TypeError, ValueError, nx.NetworkXError) as exc:
        raise TopologyError(f"malformed node-link JSON: {exc!r}") from exc
