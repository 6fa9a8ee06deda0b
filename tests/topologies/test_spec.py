from pathlib import Path

import networkx as nx
import pytest

import topologies
from topologies import KINDS, TopologyError, from_spec, to_json


def test_kinds_lists_every_generator_and_file() -> None:
    assert KINDS == (
        "ring",
        "path",
        "star",
        "complete",
        "grid",
        "torus",
        "erdos_renyi",
        "random_regular",
        "watts_strogatz",
        "barabasi_albert",
        "random_geometric",
        "file",
    )
    for kind in KINDS[:-1]:
        assert callable(getattr(topologies, kind))


def test_ring_spec() -> None:
    assert to_json(from_spec({"kind": "ring", "n": 8})) == to_json(topologies.ring(8))


def test_random_spec_matches_the_generator() -> None:
    g = from_spec({"kind": "erdos_renyi", "n": 16, "p": 0.3, "seed": 1})
    assert to_json(g) == to_json(topologies.erdos_renyi(16, 0.3, seed=1))


def test_optional_parameter() -> None:
    g = from_spec({"kind": "watts_strogatz", "n": 10, "k": 4, "p": 0.2, "seed": 2, "max_tries": 5})
    assert g.number_of_nodes() == 10


def test_grid_spec() -> None:
    assert from_spec({"kind": "grid", "rows": 2, "cols": 3}).number_of_edges() == 7


def test_file_spec(tmp_path: Path) -> None:
    file = tmp_path / "graph.graphml"
    nx.write_graphml(nx.cycle_graph(5), file)
    assert from_spec({"kind": "file", "path": str(file)}).number_of_edges() == 5


def test_file_spec_relative_to_root(tmp_path: Path) -> None:
    (tmp_path / "graph.txt").write_text("a b\nb c\n")
    g = from_spec({"kind": "file", "path": "graph.txt"}, root=tmp_path)
    assert g.number_of_edges() == 2


def test_file_spec_with_options(tmp_path: Path) -> None:
    (tmp_path / "graph.csv").write_text("a;b;1\nb;c;2\nc;a;3\n")
    spec = {
        "kind": "file",
        "path": "graph.csv",
        "delimiter": ";",
        "header": False,
        "symmetrize": True,
        "weighted": True,
    }
    g = from_spec(spec, root=tmp_path)
    assert sorted(g.edges(data="weight")) == [(0, 1, 1.0), (0, 2, 3.0), (1, 2, 2.0)]
    assert g.graph["notes"] == []


def test_file_spec_symmetrize(tmp_path: Path) -> None:
    file = tmp_path / "d.gml"
    nx.write_gml(nx.DiGraph([(0, 1), (1, 2)]), file)
    with pytest.raises(TopologyError, match=r"d\.gml: graph is directed"):
        from_spec({"kind": "file", "path": str(file)})
    g = from_spec({"kind": "file", "path": str(file), "symmetrize": True})
    assert g.number_of_edges() == 2
    assert g.graph["notes"] == [
        f"{file}: directed graph made undirected (symmetrize): 2 arcs became 2 edges"
    ]


def test_file_spec_bad_option_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "graph.csv").write_text("a,b\n")
    with pytest.raises(TopologyError, match=r"graph\.csv: header must be true, false or absent"):
        from_spec({"kind": "file", "path": "graph.csv", "header": "yes"}, root=tmp_path)


def test_file_spec_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match=r"graph\.graphml: no such file"):
        from_spec({"kind": "file", "path": "graph.graphml"}, root=tmp_path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"n": 8}, r"unknown topology kind None; expected one of ring, path, .*, file"),
        ({"kind": "hypercube", "n": 8}, r"unknown topology kind 'hypercube'"),
        ({"kind": 3}, r"unknown topology kind 3"),
        (
            {"kind": "erdos_renyi", "n": 16, "q": 0.3, "p": 0.3, "seed": 1},
            r"topology kind 'erdos_renyi': unknown parameter 'q'; expected n, p, seed, max_tries",
        ),
        (
            {"kind": "ring", "n": 8, "m": 1, "size": 2},
            r"topology kind 'ring': unknown parameters 'm', 'size'; expected n$",
        ),
        (
            {"kind": "erdos_renyi", "n": 16, "p": 0.3},
            r"topology kind 'erdos_renyi': missing parameter 'seed'",
        ),
        ({"kind": "grid"}, r"topology kind 'grid': missing parameters 'rows', 'cols'"),
        ({"kind": "file"}, r"topology kind 'file': missing parameter 'path'; expected path"),
        ({"kind": "file", "path": 3}, r"topology kind 'file': path must be a string, got 3"),
        (
            {"kind": "file", "path": "g.txt", "n": 3},
            r"topology kind 'file': unknown parameter 'n'; "
            r"expected path, delimiter, header, symmetrize, weighted$",
        ),
        (
            {"kind": "file", "path": "g.txt", "separator": ",", "directed": False},
            r"topology kind 'file': unknown parameters 'separator', 'directed'; "
            r"expected path, delimiter, header, symmetrize, weighted$",
        ),
        ({"kind": "ring", "n": 2}, r"ring: n must be >= 3, got 2"),
        ({"kind": "ring", "n": "8"}, r"ring: n must be an int, got '8'"),
    ],
)
def test_bad_specs(spec: dict[str, object], message: str) -> None:
    with pytest.raises(TopologyError, match=message):
        from_spec(spec)
