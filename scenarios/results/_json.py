"""The JSON files of a run: one atomic JSON writer, one JSONL reader, one JSONL writer.

JSONL files are append-only, one record (a JSON object) per line; a reader skips lines
that do not parse (a line cut off by a kill, bytes that are not UTF-8) and reports their
1-based numbers. Agents' logs are read stricter: :mod:`scenarios.results._logs`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from .._errors import BadInput


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically (a temporary file beside it,
    then a rename), so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    """The JSON document in ``path``; :class:`BadInput` naming the file if it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: cannot read: {exc}") from exc


@dataclass(frozen=True, slots=True)
class JsonLines:
    """The records of a JSONL file and the numbers of the lines that were not records."""

    records: list[dict[str, Any]]
    bad_lines: list[int] = field(default_factory=list)


def parse_record(line: str | bytes, *, iteration: bool = False) -> dict[str, Any] | None:
    """One JSONL line as its record: a JSON object (with an integer ``k`` when
    ``iteration``), else None."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or (iteration and not isinstance(record.get("k"), int)):
        return None
    return record


def read_jsonl(path: Path, *, iteration: bool = False, missing_ok: bool = False) -> JsonLines:
    """Read a JSONL file. Blank lines are ignored; a line that does not parse, or is not
    a JSON object (with an integer ``k`` when ``iteration``), is skipped and its number
    reported. ``missing_ok``: a missing file has no records (else :class:`BadInput`)."""
    records: list[dict[str, Any]] = []
    bad: list[int] = []
    try:
        with path.open("rb") as f:  # bytes: a line that is not UTF-8 is one bad line
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                record = parse_record(line, iteration=iteration)
                if record is None:
                    bad.append(number)
                else:
                    records.append(record)
    except FileNotFoundError:
        if missing_ok:
            return JsonLines([])
        raise BadInput(f"{path}: no such file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from exc
    return JsonLines(records, bad)


def jsonable(value: Any) -> Any:
    """``value`` with bytes as ``{"b64": ...}`` (recursively), ready for JSON."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def decode_bytes(value: Any) -> Any:
    """A value :func:`jsonable` wrote: ``{"b64": ...}`` back to bytes, anything else as is."""
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    return value


class JsonlWriter:
    """An append-only JSONL file, flushed line by line (bytes written as base64);
    ``with JsonlWriter(path) as w: w.write({...})``, or :meth:`close` when done."""

    def __init__(self, path: Path, *, mode: str = "a", allow_nan: bool = False) -> None:
        if mode not in ("a", "w"):
            raise ValueError(f"mode must be 'a' or 'w', got {mode!r}")
        self.path = path
        self._allow_nan = allow_nan
        self._file: IO[str] | None = path.open(mode, encoding="utf-8")

    def write(self, line: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(jsonable(line), allow_nan=self._allow_nan) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_jsonl(path: Path, lines: Iterable[dict[str, Any]], *, allow_nan: bool = False) -> None:
    """Write ``lines`` as a whole new JSONL file."""
    with JsonlWriter(path, mode="w", allow_nan=allow_nan) as writer:
        for line in lines:
            writer.write(line)
