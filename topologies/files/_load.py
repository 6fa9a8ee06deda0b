"""Loading a graph file: the suffix picks the reader, then one path to a valid graph."""

import os
from pathlib import Path

import networkx as nx

from .._errors import TopologyError
from .._validate import validate
from ._edge_list import read_edge_list
from ._json import read_json
from ._matrix import read_mtx, read_npy
from ._networkx_readers import read_gexf, read_gml, read_graphml, read_pajek
from ._options import ReadOptions
from ._undirected import simple_undirected

EDGE_LIST_SUFFIXES = (".edgelist", ".txt", ".csv", ".tsv")

FILE_SUFFIXES: tuple[str, ...] = (
    *EDGE_LIST_SUFFIXES,
    ".graphml",
    ".gml",
    ".gexf",
    ".net",
    ".pajek",
    ".json",
    ".npy",
    ".mtx",
)


def load(
    path: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    weighted: bool = False,
    symmetrize: bool = False,
) -> nx.Graph:
    """Read the graph in ``path`` and return it validated (see :func:`validate`).

    The format follows the suffix (:data:`FILE_SUFFIXES`):

    - ``.edgelist``, ``.txt``, ``.csv``, ``.tsv``: one edge per line, two node
      names and optionally a numeric weight, separated by ``delimiter``: a comma,
      a tab, ``" "`` for any run of whitespace, or any other one character. By
      default it is detected: the first of tab, comma and whitespace that
      splits every line alike into two names (or two names and a number); a
      run of tabs or of whitespace separates two fields. Names may be quoted
      (``"New York"``, csv style; quote a name that holds ``#``, and, in a
      whitespace file, one that holds a comma); ``#`` outside quotes starts a
      comment; blank lines are skipped.
      ``header=True``/``False`` says whether the first line names the columns;
      by default a first line is a header when its names occur nowhere else and
      it looks like one (``source,target``, a non-numeric weight title, or words
      over integer nodes). Edge lists are undirected: ``a b`` and ``b a`` are one
      edge, and a repeated edge is merged (with a note). Names written as
      integers (``7``, not ``07``) are read as ints.
    - ``.graphml``: ``networkx.read_graphml``.
    - ``.gml``, ``.gexf``: networkx's readers; nodes named by their ``label``.
    - ``.net``, ``.pajek``: Pajek, networkx's reader; nodes named by their label.
    - ``.json``: ``{"nodes": [...], "edges": [[u, v], ...]}`` (nodes as names or as
      ``{"id": ..., "name": ...}``, the form :func:`to_json` writes), or networkx
      node-link data (edges as ``{"source": ..., "target": ...}``).
    - ``.npy`` (dense, read with ``allow_pickle=False``) and ``.mtx`` (Matrix
      Market, ``scipy.io.mmread``): a square adjacency matrix; node ``i`` is row
      and column ``i``, every non-zero entry an edge. It must be symmetric (its
      non-zero pattern, and its values when ``weighted``).

    ``weighted=True`` keeps each edge's weight as the float edge attribute
    ``"weight"`` (the third column, the ``weight`` attribute, the matrix entry);
    every edge must then have one. Otherwise weights are dropped, with a note.
    Directed input (a file that says it is directed, Pajek ``*Arcs``, an
    asymmetric matrix) is refused unless ``symmetrize=True``, which reads every
    arc as an undirected edge (the larger weight if both directions have one).

    What the reader did that the caller may want to show (a header skipped,
    weights ignored, duplicates merged, a graph symmetrized) is listed in
    ``graph.graph["notes"]``, one string per note, each starting with the file
    name (empty list if nothing). Every error is a :class:`TopologyError` whose
    message starts with the file name and, where one line is at fault, its
    1-based line number.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in FILE_SUFFIXES:
        raise TopologyError(
            f"{file}: unknown graph file suffix {file.suffix!r}; expected one of "
            f"{', '.join(FILE_SUFFIXES)}"
        )
    notes: list[str] = []
    try:
        options = ReadOptions(
            delimiter=delimiter, header=header, weighted=weighted, symmetrize=symmetrize
        )
        if options.edge_list_only and suffix not in EDGE_LIST_SUFFIXES:
            raise TopologyError(
                f"{' and '.join(options.edge_list_only)} only apply to edge lists "
                f"({', '.join(EDGE_LIST_SUFFIXES)}), not to {suffix} files"
            )
        graph = simple_undirected(_read(file, suffix, options, notes), options, notes)
        result = validate(graph, weighted=options.weighted)
    except FileNotFoundError as exc:
        raise TopologyError(f"{file}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TopologyError(f"{file}: cannot read: {exc}") from exc
    except TopologyError as exc:
        raise TopologyError(f"{file}: {exc}") from exc
    result.graph["notes"] = [f"{file}: {note}" for note in notes]
    return result


def _read(file: Path, suffix: str, options: ReadOptions, notes: list[str]) -> nx.Graph:
    if suffix == ".graphml":
        return read_graphml(file)
    if suffix == ".gexf":
        return read_gexf(file)
    if suffix == ".npy":
        return read_npy(file, options, notes)
    if suffix == ".mtx":
        return read_mtx(file, options, notes)
    text = file.read_text(encoding="utf-8-sig")
    if suffix == ".json":
        return read_json(text)
    if suffix == ".gml":
        return read_gml(text)
    if suffix in (".net", ".pajek"):
        return read_pajek(text)
    return read_edge_list(text, options, notes)
