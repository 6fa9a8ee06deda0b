"""Node names read from text: integers written canonically become ints."""

import re

_CANONICAL_INT = re.compile(r"0|-?[1-9][0-9]*")


def node_name(field: str) -> int | str:
    """``"7"`` -> ``7``; ``"07"``, ``"7.0"`` and ``"alice"`` stay strings."""
    return int(field) if _CANONICAL_INT.fullmatch(field) else field


def plural(count: int, word: str, words: str | None = None) -> str:
    """``plural(1, "field")`` -> ``"1 field"``; ``plural(3, "field")`` -> ``"3 fields"``."""
    return f"{count} {word if count == 1 else words or word + 's'}"
