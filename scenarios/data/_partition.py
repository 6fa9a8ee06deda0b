"""Seeded partitions of a dataset's rows across agents.

Every partitioner returns a :class:`Partition`: one array of 0-based row indices per agent,
every row used exactly once, no agent empty (or a :class:`BadInput` saying why). Seeds go
to ``numpy.random.default_rng(seed)``: the same seed gives the same partition.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._dataset import Dataset, FloatArray, IntArray
from ._refusal import Where, shown


@dataclass(frozen=True, kw_only=True, eq=False)
class Partition:
    """One index array per agent (``parts[k]`` is agent k's rows), over ``n_rows`` rows.

    Behaves like a read-only list of arrays (``len``, iteration, indexing). ``names`` are
    the agents' group values for :func:`by_column` (else empty). Checked on construction:
    each row in ``0..n_rows-1`` appears in exactly one part and no part is empty."""

    parts: tuple[IntArray, ...]
    n_rows: int
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = Where(source="partition")
        parts = tuple(np.array(p, dtype=np.int64, copy=True).reshape(-1) for p in self.parts)
        if not parts:
            raise where.refuse("a partition needs at least one agent")
        empty = [k for k, p in enumerate(parts) if p.size == 0]
        if empty:
            raise where.refuse(f"agent {empty[0]} has no rows")
        joined = np.concatenate(parts)
        if joined.size != self.n_rows or not np.array_equal(
            np.sort(joined), np.arange(self.n_rows)
        ):
            raise where.refuse(f"the parts do not use each of the {self.n_rows} rows exactly once")
        if self.names and len(self.names) != len(parts):
            raise where.refuse(f"{len(self.names)} names for {len(parts)} agents")
        for p in parts:
            p.setflags(write=False)
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "names", tuple(self.names))

    def __len__(self) -> int:
        return len(self.parts)

    def __iter__(self) -> Iterator[IntArray]:
        return iter(self.parts)

    def __getitem__(self, agent: int) -> IntArray:
        return self.parts[agent]

    @property
    def sizes(self) -> tuple[int, ...]:
        """Rows per agent."""
        return tuple(int(p.size) for p in self.parts)

    def shards(self, dataset: Dataset) -> list[Dataset]:
        """Each agent's rows of ``dataset`` (which must have ``n_rows`` rows)."""
        if dataset.n_rows != self.n_rows:
            raise Where(source=dataset.source or "dataset").refuse(
                f"{dataset.n_rows} rows, but the partition is over {self.n_rows}"
            )
        return [dataset.take(p) for p in self.parts]


def _checked(n_rows: int, agents: int, source: str) -> Where:
    where = Where(source=source or "partition")
    if isinstance(agents, bool) or not isinstance(agents, int | np.integer) or agents < 1:
        raise where.refuse(f"agents must be a positive integer, got {shown(agents)}")
    if n_rows < agents:
        raise where.refuse(
            f"{n_rows} rows for {agents} agents: each agent needs at least one row "
            "(all rows and columns counted)"
        )
    return where


def _checked_alpha(alpha: float, where: Where) -> float:
    if isinstance(alpha, bool) or not np.isfinite(alpha) or alpha <= 0:
        raise where.refuse(f"alpha must be a finite positive number, got {shown(alpha)}")
    return float(alpha)


def iid(n_rows: int, agents: int, seed: int, *, source: str = "") -> Partition:
    """Rows shuffled and dealt in near-equal contiguous blocks (``numpy.array_split`` of a
    permutation: the first ``n_rows % agents`` agents get one row more). This is the split
    ``problem.csv`` has always used."""
    _checked(n_rows, agents, source)
    order = np.random.default_rng(seed).permutation(n_rows)
    return Partition(parts=tuple(np.array_split(order, agents)), n_rows=n_rows)


def _fill_empty(parts: list[list[int]]) -> None:
    """Give each empty part one row from the part holding the most (its last drawn row),
    until none is empty. Needs at least as many rows as parts."""
    while True:
        empty = [k for k, p in enumerate(parts) if not p]
        if not empty:
            return
        donor = max(range(len(parts)), key=lambda k: len(parts[k]))
        parts[empty[0]].append(parts[donor].pop())


def dirichlet(
    labels: npt.ArrayLike, agents: int, alpha: float, seed: int, *, source: str = ""
) -> Partition:
    """Label skew: for each class (in sorted order), its rows are shuffled and cut among the
    agents in proportions drawn from Dirichlet(alpha, ..., alpha). Small alpha gives each
    agent few classes; large alpha approaches :func:`iid`'s label mix.

    An agent left with no row by the draw is then given one row taken from the agent that
    holds the most rows (the last row it was dealt), repeated until every agent has a row;
    this moves at most ``agents - 1`` rows."""
    values = np.asarray(labels).reshape(-1)
    where = _checked(values.size, agents, source)
    alpha = _checked_alpha(alpha, where)
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(agents)]
    for cls in np.unique(values):
        rows = rng.permutation(np.flatnonzero(values == cls))
        shares = rng.dirichlet(np.full(agents, alpha))
        cuts = np.floor(np.cumsum(shares)[:-1] * rows.size).astype(np.int64)
        for k, block in enumerate(np.split(rows, cuts)):
            parts[k].extend(int(r) for r in block)
    _fill_empty(parts)
    return Partition(parts=tuple(np.array(p, dtype=np.int64) for p in parts), n_rows=values.size)


def quantity_skew(
    n_rows: int, agents: int, alpha: float, seed: int, *, source: str = ""
) -> Partition:
    """Size skew: agent sizes follow proportions drawn from Dirichlet(alpha, ..., alpha);
    each agent first gets one row, the other ``n_rows - agents`` rows are shared in those
    proportions (rounded by largest remainder), and rows are dealt from a permutation."""
    where = _checked(n_rows, agents, source)
    alpha = _checked_alpha(alpha, where)
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.full(agents, alpha))
    spare = n_rows - agents
    quotas = shares * spare
    sizes = np.floor(quotas).astype(np.int64)
    order = np.argsort(-(quotas - sizes), kind="stable")
    sizes[order[: spare - int(sizes.sum())]] += 1
    sizes += 1
    rows = rng.permutation(n_rows)
    return Partition(parts=tuple(np.split(rows, np.cumsum(sizes)[:-1])), n_rows=n_rows)


def by_column(
    values: Sequence[object] | npt.ArrayLike, agents: int | None = None, *, source: str = ""
) -> Partition:
    """One agent per distinct value of a column (e.g. a ``site`` column from
    :func:`load_column` or :meth:`Dataset.column`), agents in sorted order of the values;
    ``Partition.names`` holds the values. With ``agents`` given, the number of distinct
    values must equal it."""
    array = np.asarray(values)
    where = Where(source=source or "partition")
    if array.ndim != 1 or array.size == 0:
        raise where.refuse(f"values must be a non-empty 1-D column, got shape {array.shape}")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array))[0])
        raise where.at_data_row(row, "NaN or infinity cannot name an agent")
    if array.dtype.kind not in "biufUS":
        array = array.astype(np.str_)
    groups, inverse = np.unique(array, return_inverse=True)
    inverse = inverse.reshape(-1)
    if agents is not None and groups.size != agents:
        raise where.refuse(
            f"the column has {groups.size} distinct values "
            f"({', '.join(shown(g) for g in groups.tolist()[:10])}"
            f"{', ...' if groups.size > 10 else ''}) but agents={agents}"
        )
    parts = tuple(np.flatnonzero(inverse == k) for k in range(groups.size))
    names = tuple(str(g) for g in groups.tolist())
    return Partition(parts=parts, n_rows=array.size, names=names)


def label_histograms(labels: npt.ArrayLike, partition: Partition) -> FloatArray:
    """Each agent's label distribution (rows: agents; columns: sorted distinct labels)."""
    values = np.asarray(labels).reshape(-1)
    classes, ids = np.unique(values, return_inverse=True)
    ids = ids.reshape(-1)
    counts = np.array(
        [np.bincount(ids[p], minlength=classes.size) for p in partition], dtype=np.float64
    )
    histograms: FloatArray = counts / counts.sum(axis=1, keepdims=True)
    return histograms


def label_skew(labels: npt.ArrayLike, partition: Partition) -> float:
    """Mean over agents of the total-variation distance between the agent's label
    distribution and the whole dataset's: 0 for identical mixes, up to 1."""
    values = np.asarray(labels).reshape(-1)
    overall = label_histograms(
        values, Partition(parts=(np.arange(values.size),), n_rows=values.size)
    )
    per_agent = label_histograms(values, partition)
    return float(np.mean(0.5 * np.abs(per_agent - overall).sum(axis=1)))
