"""Named graph generators: plain functions returning validated graphs.

Impossible parameters raise :class:`TopologyError`. A random generator that can
draw a disconnected graph draws again, up to ``max_tries`` times: draw ``i`` uses
the seed ``numpy.random.SeedSequence(seed, spawn_key=(i,))``, so the same ``seed``
always gives the same graph. A disconnected draw is never patched with extra edges;
when every draw is disconnected, :class:`TopologyError` says so.
"""

import math
from collections.abc import Callable
from numbers import Integral, Real

import networkx as nx
import numpy as np

from ._errors import TopologyError
from ._validate import validate


def ring(n: int) -> nx.Graph:
    """Cycle on ``n >= 3`` nodes: every node has degree 2."""
    n = _int("ring", "n", n, minimum=3)
    return validate(nx.cycle_graph(n))


def path(n: int) -> nx.Graph:
    """Path on ``n >= 2`` nodes."""
    n = _int("path", "n", n, minimum=2)
    return validate(nx.path_graph(n))


def star(n: int) -> nx.Graph:
    """Star on ``n >= 2`` nodes: node 0 is the hub, joined to the ``n - 1`` others."""
    n = _int("star", "n", n, minimum=2)
    return validate(nx.star_graph(n - 1))


def complete(n: int) -> nx.Graph:
    """Complete graph on ``n >= 2`` nodes."""
    n = _int("complete", "n", n, minimum=2)
    return validate(nx.complete_graph(n))


def grid(rows: int, cols: int) -> nx.Graph:
    """``rows`` x ``cols`` lattice; nodes numbered row by row, named ``"(r, c)"``."""
    rows = _int("grid", "rows", rows, minimum=1)
    cols = _int("grid", "cols", cols, minimum=1)
    if rows * cols < 2:
        raise TopologyError(f"grid: rows * cols must be >= 2, got {rows} * {cols}")
    return _row_major(nx.grid_2d_graph(rows, cols), cols)


def torus(rows: int, cols: int) -> nx.Graph:
    """``rows`` x ``cols`` lattice with wrap-around (4-regular); numbered like :func:`grid`.

    Both sides must be >= 3, otherwise wrap-around edges would repeat grid edges.
    """
    rows = _int("torus", "rows", rows, minimum=3)
    cols = _int("torus", "cols", cols, minimum=3)
    return _row_major(nx.grid_2d_graph(rows, cols, periodic=True), cols)


def erdos_renyi(n: int, p: float, *, seed: int, max_tries: int = 100) -> nx.Graph:
    """G(n, p) random graph on ``n >= 2`` nodes, each edge present with probability ``p``."""
    n = _int("erdos_renyi", "n", n, minimum=2)
    p = _probability("erdos_renyi", "p", p, allow_zero=False)
    return _connected_draw(
        "erdos_renyi", lambda s: nx.gnp_random_graph(n, p, seed=s), seed, max_tries
    )


def random_regular(n: int, degree: int, *, seed: int, max_tries: int = 100) -> nx.Graph:
    """Uniformly drawn ``degree``-regular graph on ``n`` nodes (``n * degree`` even)."""
    n = _int("random_regular", "n", n, minimum=2)
    degree = _int("random_regular", "degree", degree, minimum=1)
    if degree >= n:
        raise TopologyError(f"random_regular: degree must be < n = {n}, got {degree}")
    if (n * degree) % 2:
        raise TopologyError(f"random_regular: n * degree must be even, got {n} * {degree}")
    if degree == 1 and n > 2:
        raise TopologyError(f"random_regular: degree 1 is connected only for n = 2, got n = {n}")
    return _connected_draw(
        "random_regular", lambda s: nx.random_regular_graph(degree, n, seed=s), seed, max_tries
    )


def watts_strogatz(n: int, k: int, p: float, *, seed: int, max_tries: int = 100) -> nx.Graph:
    """Small-world graph: a ring joining each node to its ``k`` nearest (``k`` even,
    ``2 <= k < n``), each edge rewired with probability ``p`` in [0, 1]."""
    n = _int("watts_strogatz", "n", n, minimum=3)
    k = _int("watts_strogatz", "k", k, minimum=2)
    if k % 2:
        raise TopologyError(f"watts_strogatz: k must be even, got {k}")
    if k >= n:
        raise TopologyError(f"watts_strogatz: k must be < n = {n}, got {k}")
    p = _probability("watts_strogatz", "p", p, allow_zero=True)
    return _connected_draw(
        "watts_strogatz", lambda s: nx.watts_strogatz_graph(n, k, p, seed=s), seed, max_tries
    )


def barabasi_albert(n: int, m: int, *, seed: int) -> nx.Graph:
    """Preferential attachment: each new node joins ``m`` existing ones (``1 <= m < n``).

    Always connected, so there is no retry.
    """
    n = _int("barabasi_albert", "n", n, minimum=2)
    m = _int("barabasi_albert", "m", m, minimum=1)
    if m >= n:
        raise TopologyError(f"barabasi_albert: m must be < n = {n}, got {m}")
    seed = _seed("barabasi_albert", seed)
    return validate(nx.barabasi_albert_graph(n, m, seed=seed))


def random_geometric(n: int, radius: float, *, seed: int, max_tries: int = 100) -> nx.Graph:
    """``n`` uniform points in the unit square, joined when closer than ``radius``."""
    n = _int("random_geometric", "n", n, minimum=2)
    radius = _real("random_geometric", "radius", radius)
    if radius <= 0:
        raise TopologyError(f"random_geometric: radius must be > 0, got {radius}")
    return _connected_draw(
        "random_geometric",
        lambda s: nx.random_geometric_graph(n, radius, seed=s),
        seed,
        max_tries,
    )


def _connected_draw(
    kind: str, draw: Callable[[int], nx.Graph], seed: int, max_tries: int
) -> nx.Graph:
    """The first connected graph among ``max_tries`` draws with seeds derived from ``seed``."""
    seed = _seed(kind, seed)
    max_tries = _int(kind, "max_tries", max_tries, minimum=1)
    for attempt in range(max_tries):
        sequence = np.random.SeedSequence(seed, spawn_key=(attempt,))
        graph = draw(int(sequence.generate_state(1)[0]))
        if nx.is_connected(graph):
            return validate(graph)
    raise TopologyError(
        f"{kind}: all {max_tries} draws were disconnected (seed={seed}); "
        "use denser parameters, another seed or a larger max_tries"
    )


def _row_major(lattice: nx.Graph, cols: int) -> nx.Graph:
    """Number the ``(r, c)`` nodes of a lattice as ``r * cols + c``, keeping the pair as name."""
    graph = nx.Graph()
    for r, c in lattice.nodes:
        graph.add_node(r * cols + c, name=str((r, c)))
    graph.add_edges_from(((r1 * cols + c1, r2 * cols + c2) for (r1, c1), (r2, c2) in lattice.edges))
    return validate(graph)


def _int(kind: str, name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TopologyError(f"{kind}: {name} must be an int, got {value!r}")
    if value < minimum:
        raise TopologyError(f"{kind}: {name} must be >= {minimum}, got {value}")
    return int(value)


def _real(kind: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise TopologyError(f"{kind}: {name} must be a finite number, got {value!r}")
    return float(value)


def _probability(kind: str, name: str, value: object, *, allow_zero: bool) -> float:
    p = _real(kind, name, value)
    if p > 1 or p < 0 or (p == 0 and not allow_zero):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise TopologyError(f"{kind}: {name} must be in {interval}, got {value}")
    return p


def _seed(kind: str, seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        raise TopologyError(f"{kind}: seed must be an int >= 0, got {seed!r}")
    return int(seed)
