"""How bad data is refused: one line naming the file, the row and the column.

Rows are 1-based. In a table with a header the header is row 1 and the first data row is
row 2, so a row number is the line number in the file (for records without line breaks
inside quoted fields). Without a header, and in arrays, the first data row is row 1.
Columns are named and given by their 0-based index, the way ``features=`` takes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._errors import BadInput

HEADER_NOTE = "header = row 1"
NO_HEADER_NOTE = "first data row = row 1"
LINE_NOTE = "row = line of the file"

_SHOWN_CHARS = 40


def shown(value: object) -> str:
    """A value as it appears in a message: repr, on one line, cut to a readable length."""
    text = repr(value)
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 3] + "..."
    return text.replace("\n", "\\n")


def column_named(name: str, index: int) -> str:
    """``column 'age' (index 2)``."""
    return f"column {shown(name)} (index {index})"


def _one_row(index: int) -> int:
    return index + 1


@dataclass(frozen=True, kw_only=True)
class Where:
    """Where the data came from, and how a data row's index becomes a reported row number."""

    source: str
    row_note: str = NO_HEADER_NOTE
    row_of: Callable[[int], int] = _one_row

    def refuse(self, what: str, *, row: int | None = None, column: str | None = None) -> BadInput:
        """A :class:`BadInput` whose one-line message is ``source: row R (note), column: what``.

        ``row`` is a reported (1-based) row number, not a data index: use :meth:`at_data_row`
        for those."""
        parts = [self.source]
        if row is not None:
            parts.append(f"row {row} ({self.row_note})")
        if column is not None:
            parts.append(column)
        return BadInput(", ".join(parts) + ": " + what.replace("\n", " "))

    def at_data_row(self, index: int, what: str, *, column: str | None = None) -> BadInput:
        """Like :meth:`refuse`, for the data row with 0-based ``index``."""
        return self.refuse(what, row=self.row_of(index), column=column)
