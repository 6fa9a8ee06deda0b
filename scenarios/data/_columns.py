"""Choosing the label column and the feature columns of a table or a 2-D array."""

from __future__ import annotations

from collections.abc import Sequence

from ._refusal import Where, shown

ColumnRef = str | int


def column_index(
    names: Sequence[str], ref: ColumnRef, role: str, where: Where, row: int | None
) -> int:
    if isinstance(ref, bool) or not isinstance(ref, str | int):
        raise where.refuse(f"{role} must be a column name or a 0-based index, got {shown(ref)}")
    if isinstance(ref, int):
        if not -len(names) <= ref < len(names):
            raise where.refuse(
                f"{role} column index {ref} is out of range: there are {len(names)} columns "
                f"(0..{len(names) - 1})",
                row=row,
                column=f"column index {ref}",
            )
        return ref % len(names)
    if ref not in names:
        raise where.refuse(
            f"no {role} column {shown(ref)}; the columns are "
            + ", ".join(shown(n) for n in names[:30])
            + (", ..." if len(names) > 30 else ""),
            row=row,
            column=f"column {shown(ref)}",
        )
    return list(names).index(ref)


def select_columns(
    names: Sequence[str],
    *,
    label: ColumnRef | None,
    features: Sequence[ColumnRef] | None,
    where: Where,
    row: int | None = None,
) -> tuple[int, list[int]]:
    """The label's column index (default: the last column) and the features' column indices
    (default: every other column, in order). ``row`` is the header's row, for messages."""
    if len(names) < 2:
        raise where.refuse(
            f"{len(names)} column found: a label and at least one feature column are needed "
            "(is the delimiter right?)",
            row=row,
            column="all columns",
        )
    label_index = (
        len(names) - 1 if label is None else column_index(names, label, "label", where, row)
    )
    if features is None:
        return label_index, [j for j in range(len(names)) if j != label_index]
    if isinstance(features, str | int):
        raise where.refuse("features must be a list of column names or indices")
    chosen = [column_index(names, ref, "feature", where, row) for ref in features]
    if not chosen:
        raise where.refuse("features is empty: name at least one feature column")
    if label_index in chosen:
        raise where.refuse(
            f"the label column {shown(names[label_index])} is also listed in features",
            row=row,
            column=f"column {shown(names[label_index])} (index {label_index})",
        )
    for j in chosen:
        if chosen.count(j) > 1:
            raise where.refuse(
                f"feature column {shown(names[j])} is listed twice",
                row=row,
                column=f"column {shown(names[j])} (index {j})",
            )
    return label_index, chosen
