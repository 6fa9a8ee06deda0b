"""Communication graphs: named generators, loading from files, validation.

Every graph handed out is undirected, simple, connected, with nodes 0..n-1 that
keep their original names in the node attribute ``"name"``. Errors are
:class:`TopologyError`.

:func:`load` reads the file formats of :data:`FILE_SUFFIXES` (the sub-package
:mod:`topologies.files`): edge lists with any delimiter (``.edgelist``, ``.txt``,
``.csv``, ``.tsv``), GraphML, GML, GEXF, Pajek (``.net``, ``.pajek``), JSON, and
adjacency matrices (``.npy``, Matrix Market ``.mtx``), with the options
``delimiter``, ``header``, ``weighted`` and ``symmetrize``; what it noticed on
the way (a header skipped, weights ignored, a directed graph symmetrized) is in
``graph.graph["notes"]``. :func:`from_spec` builds a graph from a scenario's
``[topology]`` table, e.g. ``{"kind": "file", "path": "g.csv", "header": True}``.

Imports only networkx, numpy and (for ``.mtx``) scipy.
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
from ._spec import KINDS, from_spec
from ._validate import validate
from .files import FILE_SUFFIXES, load

__all__ = [
    "FILE_SUFFIXES",
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
