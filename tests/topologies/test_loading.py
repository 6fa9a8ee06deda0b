import json
from pathlib import Path

import networkx as nx
import pytest

import topologies
from topologies import TopologyError, load


def names(g: nx.Graph) -> list[str]:
    return [g.nodes[i]["name"] for i in g]


def test_edge_list_with_comments_and_blank_lines(tmp_path: Path) -> None:
    file = tmp_path / "ring.edgelist"
    file.write_text("# a ring of four\n0 1\n\n1 2  # second edge\n2\t3\n3 0\n")
    g = load(file)
    assert topologies.to_json(g) == topologies.to_json(topologies.ring(4))


def test_txt_edge_list_with_named_nodes(tmp_path: Path) -> None:
    file = tmp_path / "names.txt"
    file.write_text("bob alice\ncarol bob\n")
    g = load(str(file))
    assert names(g) == ["alice", "bob", "carol"]
    assert sorted(g.edges) == [(0, 1), (1, 2)]


def test_edge_list_integers_keep_numeric_order(tmp_path: Path) -> None:
    file = tmp_path / "path.txt"
    file.write_text("".join(f"{i} {i + 1}\n" for i in range(1, 12)))
    assert names(load(file)) == [str(i) for i in range(1, 13)]


def test_edge_list_bad_line_names_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "bad.txt"
    file.write_text("0 1\n1 2 3\n")
    with pytest.raises(TopologyError, match=r"bad\.txt: line 2: expected two node names, got 3"):
        load(file)


def test_edge_list_self_loop_names_the_line(tmp_path: Path) -> None:
    file = tmp_path / "loop.edgelist"
    file.write_text("0 1\n# note\n1 1\n")
    with pytest.raises(TopologyError, match=r"loop\.edgelist: line 3: self-loop on node '1'"):
        load(file)


def test_edge_list_disconnected_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "two.txt"
    file.write_text("0 1\n2 3\n")
    with pytest.raises(TopologyError, match=r"two\.txt: graph is disconnected: it has 2"):
        load(file)


def test_empty_edge_list_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "empty.txt"
    file.write_text("# nothing\n")
    with pytest.raises(TopologyError, match=r"empty\.txt: graph must have at least 2 nodes"):
        load(file)


def test_graphml(tmp_path: Path) -> None:
    file = tmp_path / "g.graphml"
    original = nx.Graph([("a", "b"), ("b", "c"), ("c", "a")])
    nx.write_graphml(original, file)
    g = load(file)
    assert names(g) == ["a", "b", "c"]
    assert g.number_of_edges() == 3


def test_directed_graphml_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "d.graphml"
    nx.write_graphml(nx.DiGraph([(0, 1), (1, 2)]), file)
    with pytest.raises(TopologyError, match=r"d\.graphml: graph is directed"):
        load(file)


def test_malformed_graphml(tmp_path: Path) -> None:
    file = tmp_path / "broken.graphml"
    file.write_text("<graphml><graph><node id='a'></graph>")
    with pytest.raises(TopologyError, match=r"broken\.graphml: malformed GraphML"):
        load(file)


def test_json_nodes_and_edges(tmp_path: Path) -> None:
    file = tmp_path / "g.json"
    file.write_text(json.dumps({"nodes": ["x", "y", "z"], "edges": [["x", "y"], ["y", "z"]]}))
    g = load(file)
    assert names(g) == ["x", "y", "z"]
    assert sorted(g.edges) == [(0, 1), (1, 2)]


def test_json_written_by_to_json(tmp_path: Path) -> None:
    original = topologies.grid(2, 3)
    file = tmp_path / "graph.json"
    file.write_text(json.dumps(topologies.to_json(original)))
    assert topologies.to_json(load(file)) == topologies.to_json(original)


@pytest.mark.parametrize("edges_key", ["edges", "links"])
def test_json_node_link(tmp_path: Path, edges_key: str) -> None:
    data = nx.node_link_data(nx.Graph([("a", "b"), ("b", "c")]), edges=edges_key)
    file = tmp_path / "nl.json"
    file.write_text(json.dumps(data))
    g = load(file)
    assert names(g) == ["a", "b", "c"]
    assert g.number_of_edges() == 2


def test_json_node_link_without_graph_flags(tmp_path: Path) -> None:
    data = {"nodes": [{"id": 1}, {"id": 2}], "edges": [{"source": 1, "target": 2}]}
    file = tmp_path / "bare.json"
    file.write_text(json.dumps(data))
    assert load(file).number_of_edges() == 1


def test_json_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text('{\n  "nodes": [0, 1],\n  "edges": [[0, 1]\n}\n')
    with pytest.raises(TopologyError, match=r"bad\.json: line 4: malformed JSON"):
        load(file)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([[0, 1]], "expected a JSON object, got list"),
        ({"nodes": [0, 1]}, 'must have lists "nodes" and "edges"'),
        ({"nodes": [0, 1], "edges": [[0]]}, r"edges\[0\]: expected a pair of node ids"),
        ({"nodes": [0, 1], "edges": [[0, 2]]}, r"edges\[0\]: unknown node 2"),
        ({"nodes": [0, 0], "edges": [[0, 0]]}, r"nodes\[1\]: duplicate node id 0"),
        ({"nodes": [[0]], "edges": []}, r"nodes\[0\]: node id must be an int or a string"),
        ({"nodes": [{"id": "a"}], "links": [{"source": "a"}]}, "malformed node-link JSON"),
    ],
)
def test_malformed_json_content(tmp_path: Path, content: object, message: str) -> None:
    file = tmp_path / "g.json"
    file.write_text(json.dumps(content))
    with pytest.raises(TopologyError, match=r"g\.json: (graph JSON )?" + message):
        load(file)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match=r"nowhere\.graphml: no such file"):
        load(tmp_path / "nowhere.graphml")


def test_missing_edge_list(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match=r"nowhere\.txt: no such file"):
        load(tmp_path / "nowhere.txt")


def test_unknown_suffix(tmp_path: Path) -> None:
    file = tmp_path / "g.xlsx"
    file.write_text("0,1\n")
    with pytest.raises(
        TopologyError, match=r"g\.xlsx: unknown graph file suffix '\.xlsx'; expected one of .*\.csv"
    ):
        load(file)


def test_binary_content_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "g.txt"
    file.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(TopologyError, match=r"g\.txt: cannot read"):
        load(file)
