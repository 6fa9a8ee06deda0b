"""CSV and TSV files: delimiter sniffing, header, column choice, categorical columns.

Rows in messages are the file's line numbers: with a header the header is row 1 and the
first data row is row 2. Blank lines are skipped (and still counted).
"""

from __future__ import annotations

import csv
import io
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from ._columns import ColumnRef, column_index, select_columns
from ._dataset import Dataset, FloatArray
from ._labels import check_task, encode_labels
from ._refusal import HEADER_NOTE, Where, column_named, shown

Categorical: TypeAlias = Literal["refuse", "onehot"]
WHITESPACE = "whitespace"
SNIFFED = (",", "\t", ";")
_SNIFF_LINES = 30
_NO_HEADER_NOTE = "no header: line 1 = row 1"

Record: TypeAlias = tuple[int, list[str]]


def read_text(path: Path, where: Where) -> str:
    """The file as UTF-8 text (a leading byte-order mark is dropped)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise where.refuse(
            f"cannot read the file: {exc.strerror or exc} (no row or column was read)"
        ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        offset = exc.start - data.rfind(b"\n", 0, exc.start)
        raise where.refuse(
            f"not UTF-8 text (byte {shown(data[exc.start : exc.start + 1])})",
            row=line,
            column=f"byte {offset} of the line",
        ) from exc


def _is_blank(fields: list[str]) -> bool:
    return not fields or (len(fields) == 1 and not fields[0].strip())


def _split_records(text: str, delimiter: str, where: Where) -> list[Record]:
    """Non-blank records with the line each starts on."""
    records: list[Record] = []
    if delimiter == WHITESPACE:
        for line_number, line in enumerate(text.splitlines(), start=1):
            try:
                fields = shlex.split(line)
            except ValueError as exc:
                raise where.refuse(f"cannot split the line: {exc}", row=line_number) from exc
            if fields:
                records.append((line_number, fields))
        return records
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for fields in reader:
            if not _is_blank(fields):
                records.append((start, fields))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise where.refuse(f"malformed quoting: {exc}", row=start) from exc
    return records


def sniff_delimiter(text: str) -> str:
    """``,``, tab or ``;`` if it splits the first lines into the same number (> 1) of fields
    (the most fields wins, ties in that order); failing that, the one that splits the first
    line into most fields (so that a ragged row is named); else ``whitespace``."""
    lines = [line for line in text.splitlines() if line.strip()][:_SNIFF_LINES]
    best, best_width = WHITESPACE, 1
    first_widths: dict[str, int] = {}
    for candidate in SNIFFED:
        rows = [r for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=candidate) if r]
        widths = {len(r) for r in rows}
        first_widths[candidate] = len(rows[0]) if rows else 0
        if len(widths) == 1 and (width := widths.pop()) > best_width:
            best, best_width = candidate, width
    if best == WHITESPACE:
        widest = max(SNIFFED, key=lambda c: first_widths[c])
        if first_widths[widest] > 1:
            return widest
    return best


def _delimiter(path: Path, text: str, delimiter: str | None, where: Where) -> str:
    if delimiter is None:
        return "\t" if path.suffix.lower() == ".tsv" else sniff_delimiter(text)
    if delimiter in (WHITESPACE, " "):
        return WHITESPACE
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '"\r\n':
        raise where.refuse(
            f"delimiter must be one character, {WHITESPACE!r} or None (sniffed), "
            f"got {shown(delimiter)}"
        )
    return delimiter


def read_table(
    path: str | Path, *, delimiter: str | None, header: bool
) -> tuple[list[str], list[Record], Where, int | None]:
    """Column names, data records, the :class:`Where` that names the file's rows, and the
    header's row (None without a header).

    Refused: a missing or unreadable file, an empty file, a header without rows, duplicate
    column names, a row with more or fewer values than the header (or the first row)."""
    path = Path(path)
    where = Where(source=str(path), row_note=HEADER_NOTE if header else _NO_HEADER_NOTE)
    text = read_text(path, where)
    records = _split_records(text, _delimiter(path, text, delimiter, where), where)
    if not records:
        raise where.refuse(
            "the file is empty (no header, no data rows)", row=1, column="all columns"
        )
    if header:
        header_row, first = records[0]
        names = [n.strip() or f"col{j}" for j, n in enumerate(first)]
        body = records[1:]
        if not body:
            raise where.refuse(
                "only a header, no data rows", row=header_row + 1, column="all columns"
            )
        for j, name in enumerate(names):
            if names.index(name) != j:
                raise where.refuse(
                    f"the column name {shown(name)} appears twice (indices "
                    f"{names.index(name)} and {j})",
                    row=header_row,
                    column=column_named(name, j),
                )
    else:
        body = records
        names = [f"col{j}" for j in range(len(records[0][1]))]
    width = len(names)
    for row, fields in body:
        if len(fields) > width:
            raise where.refuse(
                f"{len(fields)} values where the {'header' if header else 'first row'} has "
                f"{width} columns (a ragged row)",
                row=row,
                column=f"column index {width} (one past the last)",
            )
        if len(fields) < width:
            raise where.refuse(
                f"{len(fields)} values where the {'header' if header else 'first row'} has "
                f"{width} columns (a ragged row): no value",
                row=row,
                column=column_named(names[len(fields)], len(fields)),
            )
    rows = [row for row, _ in body]
    located = Where(source=where.source, row_note=where.row_note, row_of=rows.__getitem__)
    return names, body, located, records[0][0] if header else None


def _texts(body: list[Record], j: int) -> list[str]:
    return [fields[j].strip() for _, fields in body]


def _numeric_column(
    texts: list[str], name: str, j: int, where: Where, categorical: Categorical
) -> FloatArray | None:
    """The column as numbers, or None if it is categorical and ``categorical='onehot'``."""
    if "" in texts:
        raise where.at_data_row(
            texts.index(""), "missing value (empty field)", column=column_named(name, j)
        )
    values = np.empty(len(texts), dtype=np.float64)
    for i, text in enumerate(texts):
        try:
            values[i] = float(text)
        except ValueError:
            if categorical == "onehot":
                return None
            raise where.at_data_row(
                i,
                f"non-numeric value {shown(text)}: a categorical column is refused unless "
                "categorical='onehot' is given",
                column=column_named(name, j),
            ) from None
        if not np.isfinite(values[i]):
            raise where.at_data_row(
                i,
                f"{shown(text)} is not a finite number (NaN and infinity are refused)",
                column=column_named(name, j),
            )
    return values


def _one_hot(texts: list[str], name: str) -> tuple[FloatArray, list[str]]:
    levels = sorted(set(texts))
    lookup = {level: k for k, level in enumerate(levels)}
    encoded = np.zeros((len(texts), len(levels)), dtype=np.float64)
    encoded[np.arange(len(texts)), [lookup[t] for t in texts]] = 1.0
    return encoded, [f"{name}={level}" for level in levels]


def load_table(
    path: str | Path,
    *,
    delimiter: str | None = None,
    header: bool = True,
    label: ColumnRef | None = None,
    features: Sequence[ColumnRef] | None = None,
    categorical: Categorical = "refuse",
    task: str | None = None,
) -> Dataset:
    """A CSV/TSV file as a :class:`Dataset`.

    - ``delimiter``: ``None`` sniffs ``,``, tab, ``;`` or whitespace (tab for a ``.tsv``
      file); or give one character, or ``"whitespace"`` (runs of spaces and tabs). Fields may
      be quoted (``"a, b"``).
    - ``header``: the first non-blank row names the columns (an empty name becomes
      ``colJ``); without one the columns are ``col0, col1, ...``.
    - ``label``: a column name or 0-based index (default: the last column).
    - ``features``: names or 0-based indices (default: every other column, in file order).
    - ``categorical``: a feature column with a non-numeric value is refused (``"refuse"``,
      the message names the column and the value) or one-hot encoded (``"onehot"``: one
      0/1 column per distinct value, sorted, named ``column=value``, in the column's place).
    - ``task``: ``"regression"``, ``"classification"`` or ``None`` (inferred: see
      :func:`scenarios.data.from_arrays`).
    """
    names, body, where, header_row = read_table(path, delimiter=delimiter, header=header)
    checked_task = check_task(task, where)
    if categorical not in ("refuse", "onehot"):
        raise where.refuse(f"categorical must be 'refuse' or 'onehot', got {shown(categorical)}")
    label_index, feature_indices = select_columns(
        names, label=label, features=features, where=where, row=header_row
    )
    blocks: list[FloatArray] = []
    feature_names: list[str] = []
    for j in feature_indices:
        texts = _texts(body, j)
        values = _numeric_column(texts, names[j], j, where, categorical)
        if values is None:
            encoded, encoded_names = _one_hot(texts, names[j])
            blocks.append(encoded)
            feature_names.extend(encoded_names)
        else:
            blocks.append(values[:, None])
            feature_names.append(names[j])
    labels, found_task, classes = encode_labels(
        _texts(body, label_index),
        task=checked_task,
        where=where,
        column=column_named(names[label_index], label_index),
    )
    return Dataset(
        features=np.hstack(blocks),
        labels=labels,
        feature_names=tuple(feature_names),
        label_name=names[label_index],
        task=found_task,
        classes=classes,
        source=where.source,
    )


def load_column(
    path: str | Path, column: ColumnRef, *, delimiter: str | None = None, header: bool = True
) -> npt.NDArray[np.float64] | npt.NDArray[np.str_]:
    """One column of a table, e.g. the ``site`` column for :func:`by_column`: float64 if
    every value is a finite number, else the values as strings. Empty values are refused."""
    names, body, where, header_row = read_table(path, delimiter=delimiter, header=header)
    j = column_index(names, column, "requested", where, header_row)
    texts = _texts(body, j)
    for i, text in enumerate(texts):
        if not text:
            raise where.at_data_row(
                i, "missing value (empty field)", column=column_named(names[j], j)
            )
    try:
        numbers = np.array([float(t) for t in texts], dtype=np.float64)
    except ValueError:
        return np.array(texts, dtype=np.str_)
    return numbers if bool(np.isfinite(numbers).all()) else np.array(texts, dtype=np.str_)
