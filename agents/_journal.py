"""The agent's append-only JSONL log: one line per iteration (DESIGN.md, Logs)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import numpy as np


def digest(x: np.ndarray) -> str:
    """A short fingerprint of a state vector, for logs that must not hold the state."""
    return hashlib.sha256(np.ascontiguousarray(x, dtype="<f8").tobytes()).hexdigest()[:16]


class Journal:
    """Appends one JSON object per line and flushes it, so a killed run keeps its lines."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._file: IO[str] | None = None

    def __enter__(self) -> Self:
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            torn = _ends_mid_line(self._path)
            self._file = self._path.open("a", encoding="utf-8")
            if torn:  # a killed writer left half a line: keep it apart from the next one
                self._file.write("\n")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
            self._file.flush()


def _ends_mid_line(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            if f.seek(0, 2) == 0:
                return False
            f.seek(-1, 2)
            return f.read(1) != b"\n"
    except FileNotFoundError:
        return False
