from collections.abc import Callable

import networkx as nx
import numpy as np
import pytest

import topologies
from topologies import TopologyError


def degrees(g: nx.Graph) -> list[int]:
    return sorted(d for _, d in g.degree)


def edges(g: nx.Graph) -> list[tuple[int, int]]:
    return sorted(tuple(sorted(e)) for e in g.edges)


def test_ring() -> None:
    g = topologies.ring(8)
    assert list(g.nodes) == list(range(8))
    assert g.number_of_edges() == 8
    assert degrees(g) == [2] * 8


def test_path() -> None:
    g = topologies.path(5)
    assert g.number_of_edges() == 4
    assert degrees(g) == [1, 1, 2, 2, 2]


def test_star_has_n_nodes_and_hub_zero() -> None:
    g = topologies.star(6)
    assert g.number_of_nodes() == 6
    assert g.number_of_edges() == 5
    assert g.degree[0] == 5
    assert degrees(g) == [1] * 5 + [5]


def test_complete() -> None:
    g = topologies.complete(6)
    assert g.number_of_edges() == 15
    assert degrees(g) == [5] * 6


def test_grid() -> None:
    g = topologies.grid(2, 3)
    assert g.number_of_nodes() == 6
    assert g.number_of_edges() == 7
    assert degrees(g) == [2, 2, 2, 2, 3, 3]
    # numbered row by row, named by (row, col)
    assert g.nodes[4]["name"] == "(1, 1)"
    assert g.has_edge(0, 1)
    assert g.has_edge(0, 3)
    assert not g.has_edge(2, 3)


def test_grid_single_row_is_a_path() -> None:
    assert edges(topologies.grid(1, 4)) == edges(topologies.path(4))


def test_torus_is_4_regular() -> None:
    g = topologies.torus(3, 4)
    assert g.number_of_nodes() == 12
    assert g.number_of_edges() == 24
    assert degrees(g) == [4] * 12


def test_erdos_renyi_counts() -> None:
    g = topologies.erdos_renyi(16, 0.3, seed=1)
    assert g.number_of_nodes() == 16
    assert nx.is_connected(g)
    assert topologies.erdos_renyi(5, 1.0, seed=0).number_of_edges() == 10


def test_random_regular_degrees() -> None:
    g = topologies.random_regular(10, 3, seed=1)
    assert g.number_of_nodes() == 10
    assert g.number_of_edges() == 15
    assert degrees(g) == [3] * 10


def test_watts_strogatz_counts() -> None:
    g = topologies.watts_strogatz(12, 4, 0.3, seed=1)
    assert g.number_of_nodes() == 12
    assert g.number_of_edges() == 24


def test_watts_strogatz_without_rewiring_is_a_ring_lattice() -> None:
    g = topologies.watts_strogatz(10, 4, 0.0, seed=0)
    assert degrees(g) == [4] * 10
    assert g.has_edge(0, 2)
    assert g.has_edge(0, 8)


def test_barabasi_albert_counts() -> None:
    g = topologies.barabasi_albert(12, 2, seed=1)
    assert g.number_of_nodes() == 12
    assert g.number_of_edges() == 2 * (12 - 2)
    assert min(degrees(g)) >= 2


def test_random_geometric_counts() -> None:
    g = topologies.random_geometric(20, 0.4, seed=1)
    assert g.number_of_nodes() == 20
    assert nx.is_connected(g)
    assert set(g.nodes[0]) == {"name"}  # positions are not kept


def test_random_geometric_large_radius_is_complete() -> None:
    assert topologies.random_geometric(6, 1.5, seed=0).number_of_edges() == 15


def test_node_names_are_the_original_labels() -> None:
    g = topologies.ring(4)
    assert [g.nodes[i]["name"] for i in g] == ["0", "1", "2", "3"]


RANDOM = [
    lambda seed: topologies.erdos_renyi(20, 0.25, seed=seed),
    lambda seed: topologies.random_regular(20, 3, seed=seed),
    lambda seed: topologies.watts_strogatz(20, 4, 0.3, seed=seed),
    lambda seed: topologies.barabasi_albert(20, 2, seed=seed),
    lambda seed: topologies.random_geometric(20, 0.45, seed=seed),
]
RANDOM_IDS = ["erdos_renyi", "random_regular", "watts_strogatz", "barabasi_albert", "geometric"]


@pytest.mark.parametrize("make", RANDOM, ids=RANDOM_IDS)
def test_same_seed_gives_the_same_graph(make: Callable[[int], nx.Graph]) -> None:
    assert edges(make(3)) == edges(make(3))


@pytest.mark.parametrize("make", RANDOM, ids=RANDOM_IDS)
def test_different_seeds_give_different_graphs(make: Callable[[int], nx.Graph]) -> None:
    assert edges(make(3)) != edges(make(4))


def derived_seed(seed: int, attempt: int) -> int:
    """The documented seed of draw ``attempt``."""
    return int(np.random.SeedSequence(seed, spawn_key=(attempt,)).generate_state(1)[0])


def test_first_draw_uses_the_documented_seed() -> None:
    first = nx.gnp_random_graph(16, 0.5, seed=derived_seed(1, 0))
    assert nx.is_connected(first)
    assert edges(topologies.erdos_renyi(16, 0.5, seed=1)) == edges(first)


def test_retry_takes_the_first_connected_draw() -> None:
    # with seed=4, draws 0 and 1 of G(12, 0.2) are disconnected and draw 2 is connected
    draws = [nx.gnp_random_graph(12, 0.2, seed=derived_seed(4, i)) for i in range(3)]
    assert [nx.is_connected(d) for d in draws] == [False, False, True]
    assert edges(topologies.erdos_renyi(12, 0.2, seed=4)) == edges(draws[2])
    with pytest.raises(TopologyError, match=r"erdos_renyi: all 2 draws were disconnected"):
        topologies.erdos_renyi(12, 0.2, seed=4, max_tries=2)


def test_disconnected_draws_exhaust_max_tries() -> None:
    with pytest.raises(TopologyError, match=r"erdos_renyi: all 3 draws were disconnected"):
        topologies.erdos_renyi(30, 0.01, seed=0, max_tries=3)


def test_random_geometric_small_radius_exhausts_retries() -> None:
    with pytest.raises(TopologyError, match=r"random_geometric: all 5 draws"):
        topologies.random_geometric(50, 0.01, seed=1, max_tries=5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: topologies.ring(2), r"ring: n must be >= 3, got 2"),
        (
            lambda: topologies.ring(8.0),  # type: ignore[arg-type]
            r"ring: n must be an int, got 8\.0",
        ),
        (lambda: topologies.ring(True), r"ring: n must be an int, got True"),
        (lambda: topologies.path(1), r"path: n must be >= 2, got 1"),
        (lambda: topologies.star(1), r"star: n must be >= 2, got 1"),
        (lambda: topologies.complete(0), r"complete: n must be >= 2, got 0"),
        (lambda: topologies.grid(0, 3), r"grid: rows must be >= 1, got 0"),
        (lambda: topologies.grid(3, -1), r"grid: cols must be >= 1, got -1"),
        (lambda: topologies.grid(1, 1), r"grid: rows \* cols must be >= 2"),
        (lambda: topologies.torus(2, 4), r"torus: rows must be >= 3, got 2"),
        (lambda: topologies.torus(4, 2), r"torus: cols must be >= 3, got 2"),
        (lambda: topologies.erdos_renyi(1, 0.5, seed=0), r"erdos_renyi: n must be >= 2, got 1"),
        (lambda: topologies.erdos_renyi(8, 0, seed=0), r"erdos_renyi: p must be in \(0, 1\]"),
        (
            lambda: topologies.erdos_renyi(8, 1.5, seed=0),
            r"erdos_renyi: p must be in \(0, 1\], got 1.5",
        ),
        (
            lambda: topologies.erdos_renyi(8, float("nan"), seed=0),
            r"erdos_renyi: p must be a finite",
        ),
        (
            lambda: topologies.erdos_renyi(8, 0.5, seed=-1),
            r"erdos_renyi: seed must be an int >= 0, got -1",
        ),
        (
            lambda: topologies.erdos_renyi(8, 0.5, seed=1.5),  # type: ignore[arg-type]
            r"erdos_renyi: seed must be an int",
        ),
        (
            lambda: topologies.erdos_renyi(8, 0.5, seed=0, max_tries=0),
            r"erdos_renyi: max_tries must be >= 1, got 0",
        ),
        (
            lambda: topologies.random_regular(5, 3, seed=0),
            r"random_regular: n \* degree must be even, got 5 \* 3",
        ),
        (
            lambda: topologies.random_regular(4, 4, seed=0),
            r"random_regular: degree must be < n = 4, got 4",
        ),
        (
            lambda: topologies.random_regular(6, 0, seed=0),
            r"random_regular: degree must be >= 1, got 0",
        ),
        (lambda: topologies.random_regular(6, 1, seed=0), r"random_regular: degree 1 .* got n = 6"),
        (
            lambda: topologies.watts_strogatz(10, 3, 0.1, seed=0),
            r"watts_strogatz: k must be even, got 3",
        ),
        (
            lambda: topologies.watts_strogatz(4, 4, 0.1, seed=0),
            r"watts_strogatz: k must be < n = 4, got 4",
        ),
        (
            lambda: topologies.watts_strogatz(10, 0, 0.1, seed=0),
            r"watts_strogatz: k must be >= 2, got 0",
        ),
        (
            lambda: topologies.watts_strogatz(10, 4, -0.1, seed=0),
            r"watts_strogatz: p must be in \[0, 1\], got -0.1",
        ),
        (
            lambda: topologies.barabasi_albert(5, 5, seed=0),
            r"barabasi_albert: m must be < n = 5, got 5",
        ),
        (
            lambda: topologies.barabasi_albert(5, 0, seed=0),
            r"barabasi_albert: m must be >= 1, got 0",
        ),
        (
            lambda: topologies.barabasi_albert(5, 2, seed=-3),
            r"barabasi_albert: seed must be an int >= 0, got -3",
        ),
        (
            lambda: topologies.random_geometric(10, 0.0, seed=0),
            r"random_geometric: radius must be > 0, got 0.0",
        ),
        (
            lambda: topologies.random_geometric(10, "0.3", seed=0),  # type: ignore[arg-type]
            r"random_geometric: radius must be a finite number",
        ),
    ],
)
def test_impossible_parameters_are_refused(call: Callable[[], object], message: str) -> None:
    with pytest.raises(TopologyError, match=message):
        call()
