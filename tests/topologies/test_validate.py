import networkx as nx
import pytest

from topologies import TopologyError, validate


def test_directed_graph_is_refused() -> None:
    with pytest.raises(TopologyError, match="directed"):
        validate(nx.DiGraph([(0, 1), (1, 2)]))


def test_multigraph_is_refused() -> None:
    with pytest.raises(TopologyError, match="multigraph"):
        validate(nx.MultiGraph([(0, 1), (1, 2)]))


def test_self_loop_is_refused_and_named() -> None:
    with pytest.raises(TopologyError, match=r"1 self-loop\(s\), on node\(s\) 2"):
        validate(nx.Graph([(0, 1), (1, 2), (2, 2)]))


@pytest.mark.parametrize("nodes", [[], [0]])
def test_fewer_than_two_nodes_is_refused(nodes: list[int]) -> None:
    g = nx.Graph()
    g.add_nodes_from(nodes)
    with pytest.raises(TopologyError, match=f"at least 2 nodes, got {len(nodes)}"):
        validate(g)


def test_disconnected_graph_names_the_number_of_components() -> None:
    g = nx.Graph([(0, 1), (2, 3)])
    g.add_node(4)
    with pytest.raises(TopologyError, match="disconnected: it has 3 connected components"):
        validate(g)


def test_not_a_graph_is_refused() -> None:
    with pytest.raises(TopologyError, match=r"must be a networkx\.Graph, got list"):
        validate([(0, 1)])


def test_string_nodes_are_relabelled_in_str_order_keeping_names() -> None:
    g = validate(nx.Graph([("carol", "alice"), ("alice", "bob")]))
    assert list(g.nodes) == [0, 1, 2]
    assert [g.nodes[i]["name"] for i in g] == ["alice", "bob", "carol"]
    assert sorted(g.edges) == [(0, 1), (0, 2)]


def test_mixed_nodes_are_sorted_by_str() -> None:
    g = validate(nx.Graph([(("a", 1), 10), (10, "b")]))
    assert [g.nodes[i]["name"] for i in g] == ["('a', 1)", "10", "b"]


def test_int_nodes_not_starting_at_zero_keep_numeric_order() -> None:
    g = validate(nx.path_graph(range(1, 12)))
    assert [g.nodes[i]["name"] for i in g] == [str(i) for i in range(1, 12)]
    assert g.has_edge(8, 9)  # nodes 9 and 10


def test_zero_based_int_nodes_keep_their_numbers() -> None:
    original = nx.Graph()
    original.add_nodes_from([2, 0, 1])
    original.add_edges_from([(0, 2), (2, 1)])
    g = validate(original)
    assert list(g.nodes) == [0, 1, 2]
    assert sorted(g.edges) == [(0, 2), (1, 2)]
    assert g.nodes[2]["name"] == "2"


def test_existing_name_attribute_is_kept() -> None:
    original = nx.Graph([(0, 1)])
    original.nodes[0]["name"] = "hub"
    g = validate(original)
    assert [g.nodes[i]["name"] for i in g] == ["hub", "1"]


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(TopologyError, match="several nodes named '1'"):
        validate(nx.Graph([(1, "1"), ("1", "x")]))


def test_result_is_a_copy_without_other_attributes() -> None:
    original = nx.Graph()
    original.add_edge("a", "b", weight=3.0)
    original.nodes["a"]["pos"] = (0.0, 0.0)
    g = validate(original)
    assert g is not original
    assert dict(g.nodes[0]) == {"name": "a"}
    assert g.edges[0, 1] == {}
    assert original.nodes["a"]["pos"] == (0.0, 0.0)


def test_validate_is_idempotent() -> None:
    once = validate(nx.Graph([("x", "y"), ("y", "z")]))
    twice = validate(once)
    assert list(twice.nodes(data=True)) == list(once.nodes(data=True))
    assert sorted(twice.edges) == sorted(once.edges)


def test_weights_are_dropped_unless_asked_for() -> None:
    g = nx.Graph([("a", "b", {"weight": 2}), ("b", "c", {"weight": 0.5})])
    assert all(not data for *_, data in validate(g).edges(data=True))
    kept = validate(g, weighted=True)
    assert sorted(kept.edges(data="weight")) == [(0, 1, 2.0), (1, 2, 0.5)]
    assert all(isinstance(w, float) for *_, w in kept.edges(data="weight"))


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (None, r"edge 'b' - 'c': weight must be a number, got None"),
        (True, r"edge 'b' - 'c': weight must be a number, got True"),
        ("2", r"edge 'b' - 'c': weight must be a number, got '2'"),
        (float("inf"), r"edge 'b' - 'c': weight must be finite, got inf"),
    ],
)
def test_bad_weights_are_refused(weight: object, message: str) -> None:
    g = nx.Graph([("a", "b", {"weight": 1}), ("b", "c", {"weight": weight})])
    with pytest.raises(TopologyError, match=message):
        validate(g, weighted=True)
