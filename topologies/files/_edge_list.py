"""Edge lists: one edge per line, two node names and an optional weight.

Fields are split with the csv module (so ``"New York"`` may be quoted); the
delimiter is a comma, a tab or any whitespace, detected from the content unless
given. ``#`` outside quotes starts a comment; blank lines are skipped.
"""

import csv
import math
import re
from dataclasses import dataclass

import networkx as nx

from .._errors import TopologyError
from ._names import node_name, plural
from ._options import ReadOptions

# Column titles that mark a first line as a header (when its names appear nowhere else).
_HEADER_WORDS = frozenset(
    {
        "source", "target", "from", "to", "src", "dst", "dest", "destination",
        "node", "node1", "node2", "node_1", "node_2", "u", "v", "i", "j",
        "id1", "id2", "start", "end", "head", "tail", "weight", "w", "value", "cost",
    }
)  # fmt: skip

_QUOTED = re.compile(r'"(?:[^"]|"")*"?')


@dataclass(frozen=True)
class _Line:
    number: int
    text: str
    """The line as written (stripped), quoted in errors."""
    fields: tuple[str, ...]


def read_edge_list(text: str, options: ReadOptions, notes: list[str]) -> nx.Graph:
    """The graph of the edge list ``text`` (errors name the 1-based line)."""
    raw = [
        (number, line.strip(), content)
        for number, line in enumerate(text.splitlines(), start=1)
        if (content := _without_comment(line).strip())
    ]
    graph = nx.Graph()
    if not raw:
        return graph
    delimiter = options.delimiter
    if delimiter is None:
        delimiter = _detect([content for *_, content in raw])
    lines = [_Line(n, line, _split(n, line, content, delimiter)) for n, line, content in raw]
    if _is_header(lines, options.header):
        notes.append(f"line {lines[0].number}: header skipped: {lines[0].text!r}")
        lines = lines[1:]
    if not lines:
        return graph
    first = lines[0]
    columns = _columns(first, options)
    if columns == 3 and not options.weighted:
        notes.append("the third column (edge weights) was ignored; pass weighted=True to keep it")
    duplicates: list[tuple[int, int]] = []
    first_seen: dict[frozenset[int | str], int] = {}
    for line in lines:
        u, v, weight = _edge(line, columns, first.number)
        if u == v:
            raise TopologyError(f"line {line.number}: self-loop on node {line.fields[0]!r}")
        key = frozenset((u, v))
        if key in first_seen:
            duplicates.append((line.number, first_seen[key]))
            if options.weighted and graph.edges[u, v]["weight"] != weight:
                raise TopologyError(
                    f"line {line.number}: edge {u!r} - {v!r} again, with weight {weight!r} "
                    f"where line {first_seen[key]} said {graph.edges[u, v]['weight']!r}: "
                    f"{line.text!r}"
                )
            continue
        first_seen[key] = line.number
        graph.add_edge(u, v, **({"weight": weight} if options.weighted else {}))
    if duplicates:
        number, earlier = duplicates[0]
        notes.append(
            f"{plural(len(duplicates), 'duplicate edge')} merged "
            f"(the first: line {number} repeats line {earlier})"
        )
    return graph


def _without_comment(line: str) -> str:
    quoted = False
    for position, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:position]
    return line


def _detect(contents: list[str]) -> str:
    """The first of tab, comma and whitespace (``" "``) that splits every line alike
    into two names, or two names and a number (the first line, maybe a header, into
    two or three fields); failing that, a tab if every line has one outside quotes,
    a comma if the first line has one, else whitespace (so that the error then
    points at the odd line)."""
    for delimiter in ("\t", ",", " "):
        if _splits_alike(contents, delimiter):
            return delimiter
    if all("\t" in _QUOTED.sub("", content) for content in contents):
        return "\t"
    if "," in _QUOTED.sub("", contents[0]):
        return ","
    return " "


def _splits_alike(contents: list[str], delimiter: str) -> bool:
    try:
        first, *rest = (_fields(content, delimiter) for content in contents)
    except csv.Error:
        return False
    if len(first) not in (2, 3) or not all(first):
        return False
    counts = {len(fields) for fields in rest}
    return len(counts) <= 1 and all(
        len(fields) in (2, 3) and all(fields[:2]) and (len(fields) == 2 or _is_number(fields[2]))
        for fields in rest
    )


def _split(number: int, line: str, content: str, delimiter: str) -> tuple[str, ...]:
    try:
        return _fields(content, delimiter)
    except csv.Error as exc:
        raise TopologyError(f"line {number}: {exc}: {line!r}") from exc


def _fields(content: str, delimiter: str) -> tuple[str, ...]:
    if delimiter == " ":
        content = content.replace("\t", " ")
    fields = next(csv.reader([content], delimiter=delimiter, skipinitialspace=True))
    stripped = (field.strip() for field in fields)
    if delimiter.isspace():
        return tuple(field for field in stripped if field)
    return tuple(stripped)


def _is_header(lines: list[_Line], header: bool | None) -> bool:
    """A first line whose names occur on no other line could only be a header or an
    edge cut off from the rest (a disconnected graph, refused anyway); it is taken
    for a header only when it also looks like one, so that a disconnected file is
    still reported as such."""
    if header is not None:
        return header
    first, rest = lines[0], lines[1:]
    if len(first.fields) not in (2, 3) or not rest:
        return False
    elsewhere = {field for line in rest for field in line.fields[:2]}
    if elsewhere.intersection(first.fields[:2]):
        return False
    if any(field.lower() in _HEADER_WORDS for field in first.fields):
        return True
    if (
        len(first.fields) == 3
        and not _is_number(first.fields[2])
        and all(len(line.fields) == 3 and _is_number(line.fields[2]) for line in rest)
    ):
        return True
    return all(isinstance(node_name(field), int) for field in elsewhere) and not any(
        isinstance(node_name(field), int) for field in first.fields[:2]
    )


def _columns(first: _Line, options: ReadOptions) -> int:
    count = len(first.fields)
    if count == 3 and _is_number(first.fields[2]):
        return 3
    if count != 2:
        hint = " (a third field must be a numeric weight)" if count == 3 else ""
        raise TopologyError(
            f"line {first.number}: expected two node names, got {plural(count, 'field')}: "
            f"{first.text!r}{hint}"
        )
    if options.weighted:
        raise TopologyError(
            f"line {first.number}: weighted=True needs a third column of weights, "
            f"got 2 fields: {first.text!r}"
        )
    return 2


def _edge(line: _Line, columns: int, first: int) -> tuple[int | str, int | str, float | None]:
    if len(line.fields) != columns:
        expected = (
            "two node names" if columns == 2 else f"two node names and a weight (as line {first})"
        )
        raise TopologyError(
            f"line {line.number}: expected {expected}, got {plural(len(line.fields), 'field')}: "
            f"{line.text!r}"
        )
    if not all(line.fields[:2]):
        raise TopologyError(f"line {line.number}: empty node name: {line.text!r}")
    weight = None
    if columns == 3:
        if not _is_number(line.fields[2]):
            raise TopologyError(
                f"line {line.number}: weight {line.fields[2]!r} is not a finite number: "
                f"{line.text!r}"
            )
        weight = float(line.fields[2])
    return node_name(line.fields[0]), node_name(line.fields[1]), weight


def _is_number(field: str) -> bool:
    try:
        return math.isfinite(float(field))
    except ValueError:
        return False
