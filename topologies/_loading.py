"""Loading graphs from files: edge lists, GraphML and JSON."""

import json
import os
import re
from pathlib import Path
from xml.etree.ElementTree import ParseError

import networkx as nx

from ._describe import from_json
from ._errors import TopologyError
from ._validate import validate

SUFFIXES = (".edgelist", ".txt", ".graphml", ".json")

_CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]*")


def load(path: str | os.PathLike[str]) -> nx.Graph:
    """Read the graph in ``path`` and return it validated (see :func:`validate`).

    The format follows the suffix:

    - ``.edgelist`` / ``.txt``: one edge per line, two whitespace-separated node
      names; ``#`` starts a comment; blank lines are skipped. Names written as
      integers (``7``, not ``07``) are read as ints.
    - ``.graphml``: read by ``networkx.read_graphml``.
    - ``.json``: ``{"nodes": [...], "edges": [[u, v], ...]}`` (nodes as names or as
      ``{"id": ..., "name": ...}``, the form :func:`to_json` writes), or networkx
      node-link data (edges as ``{"source": ..., "target": ...}``).
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in SUFFIXES:
        raise TopologyError(
            f"{file}: unknown graph file suffix {file.suffix!r}; expected one of "
            f"{', '.join(SUFFIXES)}"
        )
    try:
        if suffix == ".graphml":
            graph = _read_graphml(file)
        else:
            text = file.read_text(encoding="utf-8")
            graph = _parse_json(text) if suffix == ".json" else _parse_edge_list(text)
        return validate(graph)
    except FileNotFoundError as exc:
        raise TopologyError(f"{file}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TopologyError(f"{file}: cannot read: {exc}") from exc
    except TopologyError as exc:
        raise TopologyError(f"{file}: {exc}") from exc


def _parse_edge_list(text: str) -> nx.Graph:
    graph = nx.Graph()
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2:
            raise TopologyError(f"line {number}: expected two node names, got {len(fields)} fields")
        u, v = (_node_name(field) for field in fields)
        if u == v:
            raise TopologyError(f"line {number}: self-loop on node {fields[0]!r}")
        graph.add_edge(u, v)
    return graph


def _node_name(field: str) -> int | str:
    return int(field) if _CANONICAL_INT.fullmatch(field) else field


def _read_graphml(file: Path) -> nx.Graph:
    try:
        return nx.read_graphml(file)
    except (ParseError, nx.NetworkXError, KeyError, ValueError) as exc:
        raise TopologyError(f"malformed GraphML: {exc}") from exc


def _parse_json(text: str) -> nx.Graph:
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
