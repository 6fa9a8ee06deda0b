"""Edge lists with any delimiter, quoting, headers and weights (topologies.load)."""

import re
from pathlib import Path

import networkx as nx
import pytest

import topologies
from topologies import TopologyError, load


def names(g: nx.Graph) -> list[str]:
    return [g.nodes[i]["name"] for i in g]


def named_edges(g: nx.Graph) -> set[frozenset[str]]:
    return {frozenset((g.nodes[u]["name"], g.nodes[v]["name"])) for u, v in g.edges}


RING4 = {frozenset(pair) for pair in [("0", "1"), ("1", "2"), ("2", "3"), ("3", "0")]}


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".csv", "0,1\n1,2\n2,3\n3,0\n"),
        (".csv", "0, 1\n1 ,2\n 2,3\n3,0 \n"),
        (".tsv", "0\t1\n1\t2\n2\t3\n3\t0\n"),
        (".txt", "0 1\n1   2\n2\t3\n3 \t 0\n"),
        (".edgelist", "0,1\n1,2\n2,3\n3,0\n"),
        (".txt", "0\t\t1\n1\t2\n2\t3\n3\t0\n"),
    ],
)
def test_delimiter_is_detected(tmp_path: Path, suffix: str, text: str) -> None:
    file = tmp_path / f"ring{suffix}"
    file.write_text(text)
    g = load(file)
    assert topologies.to_json(g) == topologies.to_json(topologies.ring(4))
    assert g.graph["notes"] == []


@pytest.mark.parametrize(
    ("delimiter", "text"),
    [
        (";", "0;1\n1;2\n2;3\n3;0\n"),
        ("|", "0|1\n1|2\n2|3\n3|0\n"),
        (" ", "0 1\n1\t2\n2 3\n3 0\n"),
        (",", "0,1\n1,2\n2,3\n3,0\n"),
    ],
)
def test_delimiter_given(tmp_path: Path, delimiter: str, text: str) -> None:
    file = tmp_path / "ring.txt"
    file.write_text(text)
    assert named_edges(load(file, delimiter=delimiter)) == RING4


def test_semicolons_are_not_guessed(tmp_path: Path) -> None:
    file = tmp_path / "graph.csv"
    file.write_text("a;b\n")
    with pytest.raises(
        TopologyError, match=r"graph\.csv: line 1: expected two node names, got 1 field: 'a;b'$"
    ):
        load(file)


def test_quoted_names_with_spaces_and_commas(tmp_path: Path) -> None:
    file = tmp_path / "cities.csv"
    file.write_text(
        '"New York",Boston\nBoston,"Washington, D.C."\n"New York" , "Washington, D.C."\n'
    )
    g = load(file)
    assert names(g) == ["Boston", "New York", "Washington, D.C."]
    assert g.number_of_edges() == 3


def test_quoted_names_in_a_whitespace_edge_list(tmp_path: Path) -> None:
    file = tmp_path / "cities.txt"
    file.write_text('"New York" Boston  # a comment\n"Boston" "San José #1"\n')
    g = load(file)
    assert names(g) == ["Boston", "New York", "San José #1"]


def test_tab_separated_names_with_spaces(tmp_path: Path) -> None:
    file = tmp_path / "people.tsv"
    file.write_text("Ada Lovelace\tAlan Turing\nAlan Turing\tGrace Hopper\n")
    assert names(load(file)) == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]


def test_tabs_win_over_commas_inside_names(tmp_path: Path) -> None:
    file = tmp_path / "people.tsv"
    file.write_text("Lovelace, A\tTuring, A\nTuring, A\tHopper, G\n")
    assert names(load(file)) == ["Hopper, G", "Lovelace, A", "Turing, A"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b c\nc d\n", ["a,b", "c", "d"]),  # a comma in a name on the first line
        ("New York,Boston\nBoston,Chicago\n", ["Boston", "Chicago", "New York"]),
        ("x y\ty z\ny z\tw\n", ["w", "x y", "y z"]),
        ("source target weight\na,b c 1\nc d 2\n", ["a,b", "c", "d"]),
    ],
)
def test_the_delimiter_that_splits_every_line_alike_wins(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    file = tmp_path / "g.txt"
    file.write_text(text)
    assert names(load(file)) == expected


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path: Path) -> None:
    file = tmp_path / "excel.csv"
    file.write_bytes("\ufeffa,b\nb,c\n".encode())
    assert names(load(file)) == ["a", "b", "c"]


@pytest.mark.parametrize(
    "first",
    ["source,target", "Source,Target", "from,to", "node1,node2", "src,dst,weight", "a,b,w"],
)
def test_header_is_detected(tmp_path: Path, first: str) -> None:
    weights = ",1" * (first.count(",") - 1)
    file = tmp_path / "ring.csv"
    file.write_text(f"{first}\n" + "".join(f"{u},{v}{weights}\n" for u, v in RING_PAIRS))
    g = load(file)
    assert named_edges(g) == RING4
    assert g.graph["notes"][0] == f"{file}: line 1: header skipped: {first!r}"


RING_PAIRS = [(0, 1), (1, 2), (2, 3), (3, 0)]


def test_words_over_integer_nodes_are_a_header(tmp_path: Path) -> None:
    file = tmp_path / "ring.csv"
    file.write_text("# exported\nalpha,beta\n0,1\n1,2\n2,3\n3,0\n")
    g = load(file)
    assert named_edges(g) == RING4
    assert g.graph["notes"] == [f"{file}: line 2: header skipped: 'alpha,beta'"]


@pytest.mark.parametrize(
    "text",
    [
        "a,b\nb,c\nc,a\n",  # names that occur again are data
        "u,v\nv,w\nw,u\n",  # header words that are also node names elsewhere
        "source,target\n",  # a lone line is data
    ],
)
def test_data_is_not_taken_for_a_header(tmp_path: Path, text: str) -> None:
    file = tmp_path / "g.csv"
    file.write_text(text)
    g = load(file)
    assert g.number_of_edges() == text.count("\n")
    assert g.graph["notes"] == []


def test_header_given(tmp_path: Path) -> None:
    file = tmp_path / "g.csv"
    file.write_text("x,y\ny,z\nz,q\n")
    assert names(load(file, header=True)) == ["q", "y", "z"]
    assert names(load(file, header=False)) == ["q", "x", "y", "z"]


def test_header_false_keeps_a_header_like_first_line(tmp_path: Path) -> None:
    file = tmp_path / "g.csv"
    file.write_text("source,target\ntarget,0\n0,1\n")
    assert names(load(file, header=False)) == ["0", "1", "source", "target"]


def test_third_column_is_ignored_with_a_note(tmp_path: Path) -> None:
    file = tmp_path / "w.csv"
    file.write_text("a,b,0.5\nb,c,2\n")
    g = load(file)
    assert all(not data for *_, data in g.edges(data=True))
    assert g.graph["notes"] == [
        f"{file}: the third column (edge weights) was ignored; pass weighted=True to keep it"
    ]


def test_weighted_keeps_the_third_column(tmp_path: Path) -> None:
    file = tmp_path / "w.csv"
    file.write_text("source,target,weight\na,b,0.5\nb,c,2\n")
    g = load(file, weighted=True)
    assert sorted(g.edges(data="weight")) == [(0, 1, 0.5), (1, 2, 2.0)]
    assert g.graph["notes"] == [f"{file}: line 1: header skipped: 'source,target,weight'"]


def test_both_directions_and_repeats_are_one_edge(tmp_path: Path) -> None:
    file = tmp_path / "g.txt"
    file.write_text("a b\nb a\nb c\na b\n")
    g = load(file)
    assert sorted(g.edges) == [(0, 1), (1, 2)]
    assert g.graph["notes"] == [
        f"{file}: 2 duplicate edges merged (the first: line 2 repeats line 1)"
    ]


BAD_LINES = [
    ("g.csv", "a,b\nb,c,d,e\n", r"line 2: expected two node names, got 4 fields: 'b,c,d,e'"),
    ("g.csv", "a,b\n\n# c\n  a;c  \n", r"line 4: expected two node names, got 1 field: 'a;c'"),
    (
        "g.txt",
        "a b c\nb c d\n",
        r"line 1: expected two node names, got 3 fields: 'a b c' \(a third",
    ),
    (
        "g.txt",
        "a b 1\nb c\n",
        r"line 2: expected two node names and a weight \(as line 1\), got 2 fields: 'b c'",
    ),
    ("g.csv", "a,b,1\nb,c,heavy\n", r"line 2: weight 'heavy' is not a finite number: 'b,c,heavy'"),
    ("g.csv", "a,b,1\nb,c,nan\n", r"line 2: weight 'nan' is not a finite number"),
    ("g.csv", "a,b\n,c\n", r"line 2: empty node name: ',c'"),
    ("g.csv", 'a,b\n"b,c\n', r"line 2: expected two node names, got 1 field: '\"b,c'"),
    ("g.tsv", "a\tb\nb\tb\n", r"line 2: self-loop on node 'b'"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_LINES)
def test_bad_line_names_file_and_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    file = tmp_path / name
    file.write_text(text)
    with pytest.raises(TopologyError, match=f"{re.escape(name)}: {message}"):
        load(file)


def test_weighted_edge_list_needs_weights(tmp_path: Path) -> None:
    file = tmp_path / "g.csv"
    file.write_text("a,b\nb,c\n")
    with pytest.raises(
        TopologyError, match=r"g\.csv: line 1: weighted=True needs a third column of weights"
    ):
        load(file, weighted=True)


def test_weighted_repeat_with_another_weight_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "g.csv"
    file.write_text("a,b,1\nb,c,1\nb,a,2\n")
    with pytest.raises(
        TopologyError, match=r"g\.csv: line 3: edge 'b' - 'a' again, with weight 2\.0 where line 1"
    ):
        load(file, weighted=True)
    file.write_text("a,b,1\nb,c,1\nb,a,1\n")
    assert load(file, weighted=True).number_of_edges() == 2


def test_disconnected_edge_list_names_the_file(tmp_path: Path) -> None:
    file = tmp_path / "two.csv"
    file.write_text("a,b\nc,d\n")
    with pytest.raises(TopologyError, match=r"two\.csv: graph is disconnected: it has 2"):
        load(file)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"delimiter": ",,"}, r"delimiter must be one character"),
        ({"delimiter": '"'}, r"delimiter must be one character other than a quote"),
        ({"delimiter": 1}, r"delimiter must be one character"),
        ({"header": "yes"}, r"header must be true, false or absent, got 'yes'"),
        ({"weighted": 1}, r"weighted must be true or false, got 1"),
        ({"symmetrize": None}, r"symmetrize must be true or false, got None"),
    ],
)
def test_bad_options(tmp_path: Path, options: dict[str, object], message: str) -> None:
    file = tmp_path / "g.csv"
    file.write_text("a,b\n")
    with pytest.raises(TopologyError, match=rf"g\.csv: {message}"):
        load(file, **options)  # type: ignore[arg-type]
