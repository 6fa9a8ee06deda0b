"""Communication graphs: named generators, loading from files, validation.

Every graph handed out is undirected, simple, connected, with nodes 0..n-1 that
keep their original names in the node attribute ``"name"``. Errors are
:class:`TopologyError`. Imports only networkx and numpy.
"""

from ._describe import from_json, max_degree, metropolis_weights, spectral_gap, to_json
from ._errors import TopologyError
from ._generators import (
    barabasi_albert,
    complete,
    erdos_renyi,
    grid,
    path,
    random_geometric,
    random_regular,
    ring,
    star,
    torus,
    watts_strogatz,
)
from ._loading import load
from ._spec import KINDS, from_spec
from ._validate import validate

__all__ = [
    "KINDS",
    "TopologyError",
    "barabasi_albert",
    "complete",
    "erdos_renyi",
    "from_json",
    "from_spec",
    "grid",
    "load",
    "max_degree",
    "metropolis_weights",
    "path",
    "random_geometric",
    "random_regular",
    "ring",
    "spectral_gap",
    "star",
    "to_json",
    "torus",
    "validate",
    "watts_strogatz",
]
