"""Property: any connected graph written as an edge list, with any of the delimiters,
quoting where needed, reads back as the same named graph (and weights, if asked)."""

from pathlib import Path
from tempfile import TemporaryDirectory

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from topologies import load

NAMES = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cf", "Zl", "Zp")),
    min_size=1,
    max_size=8,
).map(str.strip)

DELIMITERS = [",", "\t", " ", ";"]


@st.composite
def named_graphs(draw: st.DrawFn) -> tuple[list[str], list[tuple[int, int, float]]]:
    names = draw(st.lists(NAMES.filter(bool), min_size=3, max_size=9, unique=True))
    n = len(names)
    edges = {(draw(st.integers(0, i - 1)), i) for i in range(1, n)}  # a spanning tree
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=6))
    edges |= {(min(u, v), max(u, v)) for u, v in extra if u != v}
    ordered = draw(st.permutations(sorted(edges)))
    flips = draw(st.lists(st.booleans(), min_size=len(ordered), max_size=len(ordered)))
    weights = draw(
        st.lists(
            st.floats(-1e6, 1e6, allow_nan=False), min_size=len(ordered), max_size=len(ordered)
        )
    )
    return names, [
        ((v, u) if flip else (u, v)) + (w,)
        for (u, v), flip, w in zip(ordered, flips, weights, strict=True)
    ]


def field(name: str, delimiter: str) -> str:
    """Quoted where csv would quote it, where it holds ``#``, and, in a whitespace
    file, where it holds a comma (else ``a,b c`` could be a comma-separated line)."""
    special = [delimiter, '"', "#"] + ([","] if delimiter == " " else [])
    if any(char in name for char in special):
        return '"' + name.replace('"', '""') + '"'
    return name


@settings(max_examples=150, deadline=None)
@given(
    graph=named_graphs(),
    delimiter=st.sampled_from(DELIMITERS),
    header=st.booleans(),
    weighted=st.booleans(),
    suffix=st.sampled_from([".csv", ".tsv", ".txt", ".edgelist"]),
)
def test_edge_list_round_trip(
    graph: tuple[list[str], list[tuple[int, int, float]]],
    delimiter: str,
    header: bool,
    weighted: bool,
    suffix: str,
) -> None:
    names, edges = graph
    lines = [delimiter.join(["source", "target", "weight"][: 2 + weighted])] if header else []
    for u, v, w in edges:
        row = [field(names[u], delimiter), field(names[v], delimiter)]
        lines.append(delimiter.join([*row, repr(w)] if weighted else row))
    with TemporaryDirectory() as folder:
        file = Path(folder, f"g{suffix}")
        file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        g = load(
            file,
            delimiter=";" if delimiter == ";" else None,
            header=True if header else None,
            weighted=weighted,
        )
    expected = nx.Graph()
    expected.add_weighted_edges_from((names[u], names[v], w) for u, v, w in edges)
    assert sorted(g.nodes[i]["name"] for i in g) == sorted(names)
    read = {
        frozenset((g.nodes[u]["name"], g.nodes[v]["name"])): w for u, v, w in g.edges(data="weight")
    }
    assert read == {
        frozenset((u, v)): (w if weighted else None) for u, v, w in expected.edges(data="weight")
    }
