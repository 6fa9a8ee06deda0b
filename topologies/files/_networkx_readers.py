"""GraphML, GML, GEXF and Pajek, read by networkx; their errors become TopologyErrors."""

import re
import shlex
from collections.abc import Hashable
from pathlib import Path
from xml.etree.ElementTree import ParseError

import networkx as nx

from .._errors import TopologyError
from ._names import node_name, plural

_PAJEK_EDGE_SECTIONS = ("*edges", "*arcs", "*matrix")

_GML_POSITION = re.compile(r"^(?P<message>.*) at \((?P<line>\d+), (?P<column>\d+)\)$")


def read_graphml(file: Path) -> nx.Graph:
    """As networkx reads it: node ids as strings, a ``"name"`` attribute kept."""
    try:
        return nx.read_graphml(file)
    except (ParseError, nx.NetworkXError, KeyError, ValueError) as exc:
        raise TopologyError(f"malformed GraphML: {exc}") from exc


def read_gml(text: str) -> nx.Graph:
    """Nodes named by their ``label`` (else their ``id``)."""
    try:
        graph = nx.parse_gml(text, label=None)
    except (nx.NetworkXError, ValueError) as exc:
        match = _GML_POSITION.match(str(exc))
        if match is None:
            raise TopologyError(f"malformed GML: {exc}") from exc
        raise TopologyError(
            f"line {match['line']}: malformed GML: {match['message']} (column {match['column']})"
        ) from exc
    return _named_by(graph, "label")


def read_gexf(file: Path) -> nx.Graph:
    """Nodes named by their ``label`` (else their ``id``)."""
    try:
        graph = nx.read_gexf(file, node_type=None, relabel=False)
    except ParseError as exc:  # its message ends with the line and column
        raise TopologyError(f"malformed GEXF: {exc}") from exc
    except (nx.NetworkXError, KeyError, ValueError, TypeError) as exc:
        raise TopologyError(f"malformed GEXF: {exc!r}") from exc
    return _named_by(graph, "label")


def read_pajek(text: str) -> nx.Graph:
    """Nodes named by their label. The lines are checked first, since networkx's
    parser skips or trips over bad ones without saying where."""
    edges = _check_pajek(text)
    try:
        graph = nx.parse_pajek(text)
    except (ValueError, IndexError, KeyError, StopIteration) as exc:
        raise TopologyError(f"malformed Pajek file: {exc!r}") from exc
    # networkx reads every *Matrix as arcs, and a file without edges as directed
    if edges == "" or (edges == "*matrix" and _symmetric(graph)):
        graph = graph.to_undirected()
    return _named_by(graph, None)


def _symmetric(graph: nx.Graph) -> bool:
    return all(
        graph.has_edge(v, u) and graph.edges[v, u] == data for u, v, data in graph.edges(data=True)
    )


def _check_pajek(text: str) -> str:
    """Refuse, naming the line, what networkx's parser would skip or misread: short
    lines, a second edge section (it would read arcs as edges), ``*Edgeslist``,
    self-loops and repeated edges. Returns the edge section (``"*edges"``,
    ``"*arcs"``, ``"*matrix"``, or ``""`` if none)."""
    section = ""
    edges_seen = False
    labels: dict[str, str] = {}
    seen: dict[object, int] = {}
    vertices_left = 0
    number = 0
    for number, line in enumerate(text.splitlines(), start=1):
        quoted = repr(line.strip())
        try:
            fields = shlex.split(line)
        except ValueError as exc:
            raise TopologyError(f"line {number}: {exc}: {quoted}") from exc
        if vertices_left:
            vertices_left -= 1
            if len(fields) < 2:
                raise TopologyError(
                    f"line {number}: expected a vertex number and a label, "
                    f"got {plural(len(fields), 'field')}: {quoted}"
                )
            labels[fields[0]] = fields[1]
        elif fields and fields[0].startswith("*"):
            section = _pajek_section(number, fields, quoted, edges_seen=edges_seen)
            edges_seen = edges_seen or section in _PAJEK_EDGE_SECTIONS
            vertices_left = int(fields[1]) if section == "*vertices" else 0
        elif fields and section in ("*edges", "*arcs"):
            if len(fields) < 2:
                raise TopologyError(
                    f"line {number}: expected two vertex numbers, "
                    f"got {plural(len(fields), 'field')}: {quoted}"
                )
            u, v = (labels.get(field, field) for field in fields[:2])
            if u == v:
                raise TopologyError(f"line {number}: self-loop on vertex {u!r}: {quoted}")
            key = (u, v) if section == "*arcs" else frozenset((u, v))
            if key in seen:
                raise TopologyError(
                    f"line {number}: {u!r} - {v!r} repeats line {seen[key]}; "
                    f"a simple graph is needed: {quoted}"
                )
            seen[key] = number
    if vertices_left:
        raise TopologyError(
            f"line {number + 1}: the file ends {plural(vertices_left, 'vertex', 'vertices')} early"
        )
    return section if edges_seen else ""


def _pajek_section(number: int, fields: list[str], quoted: str, *, edges_seen: bool) -> str:
    section = fields[0].lower()
    if edges_seen:
        raise TopologyError(
            f"line {number}: no section may follow the *Edges, *Arcs or *Matrix section "
            f"(networkx would read its lines as edges): {quoted}"
        )
    if section == "*vertices":
        if len(fields) < 2 or not fields[1].isdigit():
            raise TopologyError(f"line {number}: expected '*Vertices <count>': {quoted}")
    elif section.startswith(_PAJEK_EDGE_SECTIONS) and section not in _PAJEK_EDGE_SECTIONS:
        raise TopologyError(
            f"line {number}: {fields[0]} is not supported; use *Edges or *Arcs: {quoted}"
        )
    return section


def _named_by(graph: nx.Graph, attribute: str | None) -> nx.Graph:
    """``graph`` (same class, same edges and edge data) with each node renamed to
    its ``attribute`` (or, if ``None`` or absent, its own key); names written as
    canonical integers become ints. Other node attributes are dropped."""
    names: dict[Hashable, int | str] = {}
    owner: dict[int | str, Hashable] = {}
    for node, data in graph.nodes(data=True):
        label = data.get(attribute) if attribute is not None else None
        text = label if isinstance(label, str) else str(node)
        name = node_name(text)
        if name in owner:
            raise TopologyError(f"nodes {owner[name]!r} and {node!r} are both named {text!r}")
        names[node], owner[name] = name, node
    result = graph.__class__()
    result.add_nodes_from(names.values())
    result.add_edges_from((names[u], names[v], data) for u, v, data in graph.edges(data=True))
    return result
