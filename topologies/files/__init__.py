"""Reading graph files: edge lists (any delimiter), GraphML, GML, GEXF, Pajek, JSON,
and adjacency matrices (``.npy``, ``.mtx``). See :func:`load`."""

from ._load import FILE_SUFFIXES, load

__all__ = ["FILE_SUFFIXES", "load"]
