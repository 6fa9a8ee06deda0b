"""Adjacency matrices: dense NumPy ``.npy`` and Matrix Market ``.mtx``.

Row and column ``i`` is node ``i``; every non-zero entry ``[i, j]`` is an edge.
"""

from pathlib import Path

import networkx as nx
import numpy as np
import numpy.typing as npt

from .._errors import TopologyError
from ._names import plural
from ._options import ReadOptions


def read_npy(file: Path, options: ReadOptions, notes: list[str]) -> nx.Graph:
    """The graph of the square matrix in a ``.npy`` file (read without pickle)."""
    try:
        array = np.load(file, allow_pickle=False)
    except (ValueError, EOFError) as exc:
        if "pickle" in str(exc):  # object arrays, or not a .npy file at all
            raise TopologyError(
                "cannot read as a .npy array: not a .npy file of numbers "
                "(pickled data is never loaded)"
            ) from exc
        raise TopologyError(f"cannot read as a .npy array: {exc}") from exc
    if not isinstance(array, np.ndarray):
        raise TopologyError(f"expected one .npy array, got {type(array).__name__}")
    _check_square(array.shape, array.dtype)
    rows, cols = np.nonzero(array)
    return _graph(array.shape[0], rows, cols, array[rows, cols], options=options, notes=notes)


def read_mtx(file: Path, options: ReadOptions, notes: list[str]) -> nx.Graph:
    """The graph of the square matrix in a Matrix Market file (``scipy.io.mmread``)."""
    import scipy.io
    import scipy.sparse

    try:
        matrix = scipy.io.mmread(file)
    except (ValueError, IndexError, TypeError) as exc:
        raise TopologyError(f"malformed Matrix Market file: {exc}") from exc
    if isinstance(matrix, np.ndarray):
        _check_square(matrix.shape, matrix.dtype)
        rows, cols = np.nonzero(matrix)
        return _graph(matrix.shape[0], rows, cols, matrix[rows, cols], options=options, notes=notes)
    coo = scipy.sparse.coo_array(matrix)
    _check_square(coo.shape, coo.dtype)
    coo.sum_duplicates()
    coo.eliminate_zeros()
    return _graph(coo.shape[0], coo.row, coo.col, coo.data, options=options, notes=notes)


def _check_square(shape: tuple[int, ...], dtype: np.dtype[np.generic]) -> None:
    if len(shape) != 2 or shape[0] != shape[1]:
        raise TopologyError(
            f"an adjacency matrix must be square, got shape {tuple(int(s) for s in shape)}"
        )
    if dtype.kind not in "biuf":
        raise TopologyError(f"matrix entries must be real numbers, got dtype {dtype}")


def _graph(
    n: int,
    rows: npt.NDArray[np.intp],
    cols: npt.NDArray[np.intp],
    values: npt.NDArray[np.generic],
    *,
    options: ReadOptions,
    notes: list[str],
) -> nx.Graph:
    entries: dict[tuple[int, int], float] = {}
    for i, j, value in zip(
        rows.tolist(), cols.tolist(), values.astype(float).tolist(), strict=True
    ):
        if not np.isfinite(value):
            raise TopologyError(f"entry [{i}, {j}] is {value}; entries must be finite")
        entries[i, j] = value
    one_way = [
        (i, j)
        for (i, j), value in entries.items()
        if (j, i) not in entries or (options.weighted and entries[j, i] != value)
    ]
    if one_way and not options.symmetrize:
        i, j = min(one_way)
        raise TopologyError(
            f"matrix is not symmetric (a directed graph): entry [{i}, {j}] is "
            f"{entries[i, j]:g} but [{j}, {i}] is {entries.get((j, i), 0.0):g}; "
            "pass symmetrize=True to read every non-zero entry as an undirected edge"
        )
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for (i, j), value in entries.items():
        if not options.weighted:
            graph.add_edge(i, j)
        elif graph.has_edge(i, j):
            graph.edges[i, j]["weight"] = max(value, graph.edges[i, j]["weight"])
        else:
            graph.add_edge(i, j, weight=value)
    if one_way:
        notes.append(
            f"asymmetric matrix made undirected (symmetrize): "
            f"{plural(len(one_way), 'entry', 'entries')} without a matching mirror entry"
            + ("; the larger weight kept" if options.weighted else "")
        )
    if not options.weighted and any(value != 1 for value in entries.values()):
        notes.append(
            "matrix values other than 0 and 1 read as plain edges; "
            "pass weighted=True to keep them as weights"
        )
    return graph
