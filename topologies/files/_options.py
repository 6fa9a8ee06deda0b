"""The options a graph file is read with, checked once, before any reading."""

from dataclasses import dataclass

from .._errors import TopologyError


@dataclass(frozen=True, kw_only=True)
class ReadOptions:
    """How to read a graph file (see :func:`topologies.load`).

    ``delimiter`` and ``header`` apply to edge lists only: ``None`` means "detect".
    ``weighted`` keeps edge weights; ``symmetrize`` makes directed input undirected.
    """

    delimiter: str | None = None
    header: bool | None = None
    weighted: bool = False
    symmetrize: bool = False

    def __post_init__(self) -> None:
        if self.delimiter is not None and (
            not isinstance(self.delimiter, str)
            or len(self.delimiter) != 1
            or self.delimiter in '"#\r\n'
        ):
            raise TopologyError(
                "delimiter must be one character other than a quote, '#' or a newline "
                f"(e.g. ',', '\\t', ';', or ' ' for any whitespace), got {self.delimiter!r}"
            )
        if self.header is not None and not isinstance(self.header, bool):
            raise TopologyError(f"header must be true, false or absent, got {self.header!r}")
        for name in ("weighted", "symmetrize"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise TopologyError(f"{name} must be true or false, got {value!r}")

    @property
    def edge_list_only(self) -> list[str]:
        """The options given that only an edge list can use."""
        return [name for name in ("delimiter", "header") if getattr(self, name) is not None]
