import json
from collections import defaultdict

import networkx as nx
import pytest

import topologies
from topologies import (
    TopologyError,
    from_json,
    max_degree,
    metropolis_weights,
    spectral_gap,
    to_json,
)

GRAPHS = {
    "ring": topologies.ring(8),
    "star": topologies.star(6),
    "grid": topologies.grid(3, 4),
    "erdos_renyi": topologies.erdos_renyi(16, 0.3, seed=1),
    "barabasi_albert": topologies.barabasi_albert(12, 2, seed=1),
}


def test_max_degree() -> None:
    assert max_degree(topologies.ring(8)) == 2
    assert max_degree(topologies.star(6)) == 5
    assert max_degree(topologies.torus(3, 4)) == 4


def test_metropolis_weights_of_a_ring() -> None:
    weights = metropolis_weights(topologies.ring(4))
    assert len(weights) == 8
    assert list(weights.values()) == pytest.approx([1 / 3] * 8)


def test_metropolis_weights_of_a_star() -> None:
    weights = metropolis_weights(topologies.star(4))
    assert weights[0, 1] == pytest.approx(1 / 4)
    assert weights[1, 0] == pytest.approx(1 / 4)


@pytest.mark.parametrize("name", GRAPHS)
def test_metropolis_weights_are_symmetric_and_rows_sum_to_at_most_one(name: str) -> None:
    g = GRAPHS[name]
    weights = metropolis_weights(g)
    assert set(weights) == {(i, j) for i, j in g.edges} | {(j, i) for i, j in g.edges}
    rows: defaultdict[int, float] = defaultdict(float)
    for (i, j), w in weights.items():
        assert weights[j, i] == w
        assert 0 < w < 1
        rows[i] += w
    assert all(total <= 1 for total in rows.values())


def test_spectral_gap_of_complete_graph_beats_ring() -> None:
    complete, ring = spectral_gap(topologies.complete(8)), spectral_gap(topologies.ring(8))
    assert complete == pytest.approx(1.0)
    assert ring == pytest.approx(1 - (1 + 2 * 2**-0.5) / 3)
    assert complete > ring


@pytest.mark.parametrize("name", GRAPHS)
def test_spectral_gap_is_in_zero_one(name: str) -> None:
    assert 0 < spectral_gap(GRAPHS[name]) <= 1


def test_unvalidated_graph_is_refused() -> None:
    with pytest.raises(TopologyError, match=r"nodes must be 0\.\.n-1"):
        metropolis_weights(nx.Graph([("a", "b")]))
    with pytest.raises(TopologyError, match=r"nodes must be 0\.\.n-1"):
        spectral_gap(nx.Graph([(1, 2)]))


def test_to_json_form() -> None:
    assert to_json(topologies.path(3)) == {
        "nodes": [{"id": 0, "name": "0"}, {"id": 1, "name": "1"}, {"id": 2, "name": "2"}],
        "edges": [[0, 1], [1, 2]],
    }


def test_to_json_is_sorted() -> None:
    obj = to_json(topologies.erdos_renyi(16, 0.3, seed=1))
    assert obj["edges"] == sorted(obj["edges"])
    assert all(u < v for u, v in obj["edges"])
    assert [node["id"] for node in obj["nodes"]] == list(range(16))


@pytest.mark.parametrize("name", GRAPHS)
def test_json_round_trip(name: str) -> None:
    g = GRAPHS[name]
    back = from_json(json.loads(json.dumps(to_json(g))))
    assert list(back.nodes(data=True)) == list(g.nodes(data=True))
    assert sorted(back.edges) == sorted(g.edges)


def test_json_round_trip_keeps_original_names() -> None:
    g = topologies.validate(nx.Graph([("carol", "alice"), ("alice", "bob")]))
    assert from_json(to_json(g)).nodes[2]["name"] == "carol"


def test_from_json_refuses_bad_objects() -> None:
    with pytest.raises(TopologyError, match="must be an object"):
        from_json([])
    with pytest.raises(TopologyError, match=r"nodes\[1\]: name must be a string"):
        from_json({"nodes": [{"id": 0}, {"id": 1, "name": 5}], "edges": [[0, 1]]})
    with pytest.raises(TopologyError, match="disconnected"):
        from_json({"nodes": [0, 1, 2], "edges": [[0, 1]]})
