"""A run directory's graph, as drawn: node names, agent ids, edges, adversaries' roles."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..spec import agent_id
from ._rundir import RunDir


@dataclass(frozen=True, slots=True)
class RunGraph:
    """``graph.json`` read back, with each node's agent id."""

    names: list[str]
    """Display names, indexed by node id."""
    ids: list[str]
    """Agent ids, indexed by node id."""
    edges: list[tuple[int, int]]
    members: list[int] = field(default_factory=list)
    """Adversary members (colluders), node ids."""
    targets: list[int] = field(default_factory=list)


def read_graph(run: RunDir) -> RunGraph:
    """The graph of ``run`` and, from ``resolved.json``, which nodes the adversaries hold
    and target (raises OSError/ValueError/KeyError/TypeError on an unreadable graph)."""
    graph = run.read_json(run.graph.name)
    names = [_node_name(n) for n in graph["nodes"]]
    edges = [(int(u), int(v)) for u, v in graph["edges"]]
    ids = [agent_id(i) for i in range(len(names))]
    try:
        adversary = run.read_json(run.resolved.name).get("adversary")
    except (OSError, ValueError, AttributeError):
        adversary = None
    members, targets = _adversary_nodes(adversary, names, ids)
    return RunGraph(names, ids, edges, members, targets)


def _node_name(node: object) -> str:
    return str(node.get("name", node["id"])) if isinstance(node, dict) else str(node)


def _adversary_nodes(
    adversary: object, names: list[str], ids: list[str]
) -> tuple[list[int], list[int]]:
    """Node ids named as adversary members and targets, whatever the entries look like."""
    lookup: dict[str, int] = {}
    for i in range(len(names)):
        lookup[str(i)] = i
        lookup[names[i]] = i
        lookup[ids[i]] = i
    members: set[int] = set()
    targets: set[int] = set()

    def collect(value: object, into: set[int]) -> None:
        if isinstance(value, list | tuple):
            for item in value:
                collect(item, into)
        elif isinstance(value, str | int) and not isinstance(value, bool) and str(value) in lookup:
            into.add(lookup[str(value)])

    entries = adversary if isinstance(adversary, list) else [adversary]
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        for key, value in entry.items():
            if key in ("members", "colluders", "agents"):
                collect(value, members)
            elif key in ("target", "targets"):
                collect(value, targets)
    return sorted(members), sorted(targets)
