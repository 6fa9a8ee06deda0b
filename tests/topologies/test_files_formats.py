"""GML, GEXF, Pajek, GraphML and adjacency matrices (topologies.load); directed input."""

import csv
import json
from collections.abc import Callable
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.io
import scipy.sparse

import topologies
from topologies import FILE_SUFFIXES, TopologyError, load


def named_edges(g: nx.Graph) -> set[frozenset[str]]:
    return {frozenset((g.nodes[u]["name"], g.nodes[v]["name"])) for u, v in g.edges}


def named_weights(g: nx.Graph) -> dict[frozenset[str], float]:
    return {
        frozenset((g.nodes[u]["name"], g.nodes[v]["name"])): w for u, v, w in g.edges(data="weight")
    }


def write_csv(g: nx.Graph, file: Path) -> None:
    with file.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["source", "target", "weight"])
        writer.writerows((u, v, w) for u, v, w in g.edges(data="weight", default=1))


def write_npy(g: nx.Graph, file: Path) -> None:
    np.save(file, nx.to_numpy_array(g, nodelist=sorted(g)), allow_pickle=False)


def write_mtx(g: nx.Graph, file: Path) -> None:
    scipy.io.mmwrite(file, nx.to_scipy_sparse_array(g, nodelist=sorted(g)))


def write_json(g: nx.Graph, file: Path) -> None:
    file.write_text(json.dumps(nx.node_link_data(g, edges="links")))


WRITERS: dict[str, Callable[[nx.Graph, Path], None]] = {
    ".csv": write_csv,
    ".gml": nx.write_gml,
    ".gexf": nx.write_gexf,
    ".net": nx.write_pajek,
    ".pajek": nx.write_pajek,
    ".graphml": nx.write_graphml,
    ".json": write_json,
    ".npy": write_npy,
    ".mtx": write_mtx,
}


def test_every_suffix_is_known() -> None:
    assert FILE_SUFFIXES == (
        ".edgelist", ".txt", ".csv", ".tsv", ".graphml", ".gml", ".gexf",
        ".net", ".pajek", ".json", ".npy", ".mtx",
    )  # fmt: skip


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_karate_club_reads_the_same_in_every_format(tmp_path: Path, suffix: str) -> None:
    karate = nx.karate_club_graph()
    expected = {frozenset((str(u), str(v))) for u, v in karate.edges}
    file = tmp_path / f"karate{suffix}"
    WRITERS[suffix](karate, file)
    g = load(file)
    assert g.number_of_nodes() == 34
    assert named_edges(g) == expected
    if suffix != ".graphml":  # GraphML keeps its string ids, sorted as strings (as it always has)
        assert sorted(g.edges) == sorted(tuple(sorted(e)) for e in karate.edges)
    if suffix != ".json":
        assert any("weight" in note for note in g.graph["notes"])


@pytest.mark.parametrize("suffix", [s for s in WRITERS if s != ".json"])
def test_karate_club_weights_are_kept_when_asked(tmp_path: Path, suffix: str) -> None:
    karate = nx.karate_club_graph()
    file = tmp_path / f"karate{suffix}"
    WRITERS[suffix](karate, file)
    g = load(file, weighted=True)
    assert named_weights(g) == {
        frozenset((str(u), str(v))): float(w) for u, v, w in karate.edges(data="weight")
    }
    assert all(isinstance(w, float) for *_, w in g.edges(data="weight"))


@pytest.mark.parametrize("suffix", [".gml", ".gexf", ".net", ".graphml"])
def test_named_nodes_round_trip(tmp_path: Path, suffix: str) -> None:
    original = nx.Graph([("Alice", "Bob"), ("Bob", "Carol Ann"), ("Carol Ann", "Alice")])
    original.add_edge("Carol Ann", "Dave")
    file = tmp_path / f"people{suffix}"
    WRITERS[suffix](original, file)
    g = load(file)
    assert [g.nodes[i]["name"] for i in g] == ["Alice", "Bob", "Carol Ann", "Dave"]
    assert named_edges(g) == {frozenset(e) for e in original.edges}
    assert g.graph["notes"] == []


def test_gml_written_by_hand(tmp_path: Path) -> None:
    file = tmp_path / "g.gml"
    file.write_text(
        'graph [\n  node [ id 1 label "x" ]\n  node [ id 2 label "y" ]\n  node [ id 3 ]\n'
        "  edge [ source 1 target 2 ]\n  edge [ source 2 target 3 ]\n]\n"
    )
    g = load(file)
    assert [g.nodes[i]["name"] for i in g] == ["3", "x", "y"]
    assert named_edges(g) == {frozenset(("x", "y")), frozenset(("y", "3"))}


def test_pajek_written_by_hand(tmp_path: Path) -> None:
    file = tmp_path / "g.net"
    file.write_text('*Vertices 3\n1 "a b"\n2 "c"\n3 "d"\n*Edges\n1 2\n2 3 2.5\n')
    g = load(file)
    assert named_edges(g) == {frozenset(("a b", "c")), frozenset(("c", "d"))}


def test_pajek_arcs_both_ways_and_symmetric_matrix(tmp_path: Path) -> None:
    file = tmp_path / "g.net"
    file.write_text("*Vertices 3\n1 a\n2 b\n3 c\n*Matrix\n0 2 0\n2 0 1\n0 1 0\n")
    assert named_weights(load(file, weighted=True)) == {
        frozenset(("a", "b")): 2.0,
        frozenset(("b", "c")): 1.0,
    }
    file.write_text("*Vertices 3\n1 a\n2 b\n3 c\n*Arcs\n1 2\n2 1\n2 3\n")
    with pytest.raises(TopologyError, match=r"g\.net: graph is directed"):
        load(file)
    assert load(file, symmetrize=True).graph["notes"] == [
        f"{file}: directed graph made undirected (symmetrize): 3 arcs became 2 edges"
    ]


def test_dense_matrix_by_hand(tmp_path: Path) -> None:
    file = tmp_path / "g.npy"
    np.save(file, np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=np.int8))
    assert topologies.to_json(load(file)) == topologies.to_json(topologies.path(3))
    assert load(file).graph["notes"] == []


def test_boolean_matrix(tmp_path: Path) -> None:
    file = tmp_path / "g.npy"
    np.save(file, nx.to_numpy_array(nx.cycle_graph(5), dtype=bool))
    assert topologies.to_json(load(file)) == topologies.to_json(topologies.ring(5))


def test_matrix_market_by_hand(tmp_path: Path) -> None:
    file = tmp_path / "g.mtx"
    file.write_text(
        "%%MatrixMarket matrix coordinate pattern symmetric\n% a path\n3 3 2\n2 1\n3 2\n"
    )
    assert topologies.to_json(load(file)) == topologies.to_json(topologies.path(3))


def test_dense_matrix_market(tmp_path: Path) -> None:
    file = tmp_path / "g.mtx"
    scipy.io.mmwrite(file, nx.to_numpy_array(nx.cycle_graph(4)))
    assert topologies.to_json(load(file)) == topologies.to_json(topologies.ring(4))


# Directed input: refused, or made undirected on request.

DIRECTED = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("a", "c")])


@pytest.mark.parametrize("suffix", [".gml", ".gexf", ".graphml", ".net"])
def test_directed_file_is_refused_unless_symmetrized(tmp_path: Path, suffix: str) -> None:
    file = tmp_path / f"d{suffix}"
    WRITERS[suffix](DIRECTED, file)
    with pytest.raises(
        TopologyError,
        match=rf"d\{suffix}: graph is directed; an undirected graph is needed "
        r"\(pass symmetrize=True",
    ):
        load(file)
    g = load(file, symmetrize=True)
    assert named_edges(g) == {frozenset(e) for e in [("a", "b"), ("b", "c"), ("c", "a")]}
    assert g.graph["notes"] == [
        f"{file}: directed graph made undirected (symmetrize): 4 arcs became 3 edges"
    ]


def test_symmetrized_weights_keep_the_larger(tmp_path: Path) -> None:
    file = tmp_path / "d.gml"
    nx.write_gml(
        nx.DiGraph([(0, 1, {"weight": 2}), (1, 0, {"weight": 5}), (1, 2, {"weight": 1})]), file
    )
    g = load(file, symmetrize=True, weighted=True)
    assert sorted(g.edges(data="weight")) == [(0, 1, 5.0), (1, 2, 1.0)]


@pytest.mark.parametrize("suffix", [".npy", ".mtx"])
def test_asymmetric_matrix_is_refused_unless_symmetrized(tmp_path: Path, suffix: str) -> None:
    matrix = np.array([[0, 1, 0], [1, 0, 1], [0, 0, 0]])
    file = tmp_path / f"m{suffix}"
    if suffix == ".npy":
        np.save(file, matrix)
    else:
        scipy.io.mmwrite(file, scipy.sparse.coo_array(matrix))
    with pytest.raises(
        TopologyError,
        match=rf"m\{suffix}: matrix is not symmetric \(a directed graph\): "
        r"entry \[1, 2\] is 1 but \[2, 1\] is 0; pass symmetrize=True",
    ):
        load(file)
    g = load(file, symmetrize=True)
    assert topologies.to_json(g) == topologies.to_json(topologies.path(3))
    assert g.graph["notes"] == [
        f"{file}: asymmetric matrix made undirected (symmetrize): 1 entry without a matching "
        "mirror entry"
    ]


def test_weighted_matrix_must_be_symmetric_in_its_values(tmp_path: Path) -> None:
    file = tmp_path / "m.npy"
    np.save(file, np.array([[0, 2.0], [3.0, 0]]))
    assert load(file).number_of_edges() == 1  # the pattern is symmetric
    with pytest.raises(
        TopologyError, match=r"m\.npy: matrix is not symmetric .*\[0, 1\] is 2 but \[1, 0\] is 3"
    ):
        load(file, weighted=True)
    g = load(file, weighted=True, symmetrize=True)
    assert list(g.edges(data="weight")) == [(0, 1, 3.0)]


def test_edge_lists_are_undirected_whatever_the_directions(tmp_path: Path) -> None:
    file = tmp_path / "g.csv"
    file.write_text("a,b\nb,a\nb,c\n")
    assert load(file).number_of_edges() == 2
    assert load(file, symmetrize=True).number_of_edges() == 2


# Bad input of each kind names the file and, where one line is at fault, the line.


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("g.gml", "graph [\n node [ id 0 ]\n node [ id 1 \n", r"line 4: malformed GML: expected"),
        (
            "g.gml",
            "graph [ node [ id 0 ] edge [ source 0 target 3 ] ]",
            "malformed GML: edge #0 has undefined target 3",
        ),
        (
            "g.gml",
            "graph [ node [ id 0 ] node [ id 1 ]\n"
            "edge [ source 0 target 1 ] edge [ source 1 target 0 ] ]",
            "malformed GML: edge #1 .* is duplicated",
        ),
        (
            "g.gml",
            'graph [ node [ id 0 label "a" ] node [ id 1 label "a" ] ]',
            "nodes 0 and 1 are both named 'a'",
        ),
        (
            "g.gexf",
            "<gexf><graph><nodes>\n<node id='a'>\n</graph>",
            "malformed GEXF: mismatched tag: line 3",
        ),
        ("g.net", '*Vertices 2\n1 "a"\n2 "b\n', r"line 3: No closing quotation: '2 \"b'"),
        (
            "g.net",
            "*Vertices 2\n1 a\n2\n*Edges\n1 2\n",
            r"line 3: expected a vertex number and a label, got 1 field: '2'",
        ),
        (
            "g.net",
            "*Vertices 2\n1 a\n2 b\n*Edges\n1 2\n2\n",
            r"line 6: expected two vertex numbers, got 1 field: '2'",
        ),
        ("g.net", "*Vertices 3\n1 a\n2 b\n", r"line 4: the file ends 1 vertex early"),
        ("g.net", "*Vertices two\n", r"line 1: expected '\*Vertices <count>'"),
        (
            "g.net",
            "*Vertices 2\n1 a\n2 b\n*Edges\n1 2\nb a\n",
            r"line 6: 'b' - 'a' repeats line 5; a simple graph is needed: 'b a'",
        ),
        (
            "g.net",
            "*Vertices 2\n1 a\n2 b\n*Arcs\n1 2\n1 2\n",
            r"line 6: 'a' - 'b' repeats line 5",
        ),
        ("g.net", "*Vertices 2\n1 a\n2 b\n*Edges\n1 2\n2 2\n", r"line 6: self-loop on vertex 'b'"),
        (
            "g.net",
            "*Vertices 3\n1 a\n2 b\n3 c\n*Edges\n1 2\n*Arcs\n2 3\n",
            r"line 7: no section may follow the \*Edges, \*Arcs or \*Matrix section",
        ),
        (
            "g.net",
            "*Vertices 3\n1 a\n2 b\n3 c\n*Edges\n1 2\n2 3\n*Partition x\n1 2\n",
            r"line 8: no section may follow .*: '\*Partition x'",
        ),
        (
            "g.net",
            "*Vertices 2\n1 a\n2 b\n",
            r"graph is disconnected: it has 2 connected components",
        ),
        (
            "g.net",
            "*Vertices 2\n1 a\n2 b\n*Edgeslist\n1 2\n",
            r"line 4: \*Edgeslist is not supported; use \*Edges or \*Arcs",
        ),
        (
            "g.net",
            "*Vertices 3\n1 a\n2 b\n3 c\n*Matrix\n0 1 0\n1 0 1\n0 0 0\n",
            r"graph is directed",
        ),
        (
            "g.gml",
            "graph [ node [ id 0 ] node [ id 1 ] node [ id 2 ] edge [ source 0 target 1 ] ]",
            "graph is disconnected: it has 2 connected components",
        ),
        (
            "g.gml",
            "graph [ node [ id 0 ] node [ id 1 ]\n"
            "edge [ source 0 target 1 ] edge [ source 1 target 1 ] ]",
            r"graph has 1 self-loop\(s\), on node\(s\) 1",
        ),
    ],
)
def test_bad_text_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    file = tmp_path / name
    file.write_text(text)
    with pytest.raises(TopologyError, match=rf"{file.stem}\{file.suffix}: {message}"):
        load(file)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 3)), r"an adjacency matrix must be square, got shape \(2, 3\)"),
        (np.zeros(4), r"an adjacency matrix must be square, got shape \(4,\)"),
        (np.array([["0", "1"], ["1", "0"]]), r"matrix entries must be real numbers, got dtype <U1"),
        (np.array([[0, np.nan], [np.nan, 0]]), r"entry \[0, 1\] is nan; entries must be finite"),
        (np.array([[1, 1], [1, 0]]), r"graph has 1 self-loop\(s\), on node\(s\) 0"),
        (np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]), r"graph is disconnected: it has 2"),
        (np.zeros((0, 0)), r"graph must have at least 2 nodes, got 0"),
    ],
)
def test_bad_matrices(tmp_path: Path, array: np.ndarray, message: str) -> None:
    file = tmp_path / "m.npy"
    np.save(file, array)
    with pytest.raises(TopologyError, match=rf"m\.npy: {message}"):
        load(file)


@pytest.mark.parametrize("content", ["pickled", "text"])
def test_pickled_or_foreign_npy_is_refused(tmp_path: Path, content: str) -> None:
    file = tmp_path / "m.npy"
    if content == "pickled":
        np.save(file, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    else:
        file.write_text("0 1\n1 0\n")
    with pytest.raises(
        TopologyError,
        match=r"m\.npy: cannot read as a \.npy array: not a \.npy file of numbers "
        r"\(pickled data is never loaded\)$",
    ):
        load(file)


def test_truncated_npy_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "m.npy"
    np.save(file, np.eye(3))
    file.write_bytes(file.read_bytes()[:-5])
    with pytest.raises(TopologyError, match=r"m\.npy: cannot read as a \.npy array: .*9 elements"):
        load(file)


def test_npz_archive_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "m.npy"
    with file.open("wb") as stream:
        np.savez(stream, a=np.eye(2))
    with pytest.raises(TopologyError, match=r"m\.npy: expected one \.npy array, got NpzFile"):
        load(file)


def test_malformed_matrix_market(tmp_path: Path) -> None:
    file = tmp_path / "m.mtx"
    file.write_text("%%MatrixMarket matrix coordinate real general\n2 2 1\n1\n")
    with pytest.raises(TopologyError, match=r"m\.mtx: malformed Matrix Market file"):
        load(file)


def test_weighted_needs_a_weight_on_every_edge(tmp_path: Path) -> None:
    file = tmp_path / "g.gml"
    nx.write_gml(nx.Graph([(0, 1, {"weight": 1.5}), (1, 2)]), file)
    with pytest.raises(TopologyError, match=r"g\.gml: weighted=True, but edge 1 - 2 has no weight"):
        load(file, weighted=True)


@pytest.mark.parametrize("option", ["delimiter", "header"])
def test_edge_list_options_are_refused_for_other_formats(tmp_path: Path, option: str) -> None:
    file = tmp_path / "g.gml"
    nx.write_gml(nx.path_graph(3), file)
    with pytest.raises(
        TopologyError,
        match=rf"g\.gml: {option} only apply to edge lists \(\.edgelist, .*\.gml files",
    ):
        load(file, **{option: "," if option == "delimiter" else True})  # type: ignore[arg-type]
