"""An agent's log read back and checked line by line (DESIGN.md, Logs).

Each line is one JSON object: an integer ``k`` >= 0, a finite number ``t`` (seconds since
the epoch), and when the run records states an ``x`` of ``dim`` finite numbers; the
counters, if present, have their types. A line that breaks this refuses the whole log
with :class:`BadInput` naming the file and the line: what is computed from a log must
not rest on a guess.

One damage is expected and tolerated: a writer killed mid-line leaves a *torn* line,
the start of a record that does not parse (ASCII, opening ``{``). It is skipped and
reported (:attr:`AgentLog.bad_lines`, :attr:`AgentLog.warnings`) when it is the file's
last line, or when the agent resumed from its checkpoint right after it (the next record
has ``resumed``). Anything else that does not parse (binary bytes, text that is not a
record) is refused.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from json import JSONDecodeError
from pathlib import Path
from typing import Any

from .._errors import BadInput

_INTEGERS = ("msgs_in", "msgs_out", "bytes_in", "bytes_out")
_NUMBERS = ("crypto_s", "wait_s", "compute_s")
_LISTS = ("skipped", "compensated")


@dataclass(frozen=True, slots=True)
class AgentLog:
    agent: str
    records: list[dict[str, Any]]
    bad_lines: list[int] = field(default_factory=list)
    """1-based numbers of torn lines that were skipped (a writer killed mid-line)."""
    warnings: list[str] = field(default_factory=list)
    """One line per skipped torn line, naming the file and the line."""


def read_log(path: Path, *, dim: int | None = None) -> AgentLog:
    """Read and check one agent's JSONL log (see the module). ``dim``: the length every
    ``x`` must have (unchecked when None). :class:`BadInput` naming the file (and the
    line) when it cannot be read or a line is not a record of an agent's log."""
    if path.is_dir():
        raise BadInput(f"{path}: is a directory, not an agent's log")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from exc
    lines = [(n, line) for n, line in enumerate(raw.split(b"\n"), start=1) if line.strip()]
    records: list[dict[str, Any]] = []
    torn: list[int] = []
    for i, (number, line) in enumerate(lines):
        where = f"{path}: line {number}"
        try:
            record = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            bad = line[exc.start : exc.start + 1].hex()
            raise BadInput(f"{where}: not UTF-8 text (byte 0x{bad}); not an agent's log") from None
        except ValueError as exc:
            last = i == len(lines) - 1
            if _torn(line) and (last or _resumed(lines[i + 1][1])):
                torn.append(number)
                continue
            what = f"{exc.msg} at column {exc.colno}" if isinstance(exc, JSONDecodeError) else exc
            raise BadInput(f"{where}: not a JSON record ({what})") from None
        _check(record, where, dim)
        records.append(record)
    warnings = [
        f"{path}: line {n} is not a complete record (its writer was killed?); skipped" for n in torn
    ]
    return AgentLog(path.stem, records, torn, warnings)


def _resumed(line: bytes) -> bool:
    """A record written by an agent resuming from its checkpoint."""
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return isinstance(record, dict) and record.get("resumed") is True


def _torn(line: bytes) -> bool:
    """The start of a record as the agent writes it (ASCII JSON, an object)."""
    return line.isascii() and line.lstrip().startswith(b"{")


def _check(record: Any, where: str, dim: int | None) -> None:
    if not isinstance(record, dict):
        raise BadInput(f"{where}: not a JSON object but {_shown(record)}")
    for name in ("k", "t"):
        if name not in record:
            raise BadInput(f"{where}: no {name!r} (every line of an agent's log has one)")
    k = record["k"]
    if not _is_int(k) or k < 0:
        raise BadInput(f"{where}: 'k' must be an iteration number >= 0, got {_shown(k)}")
    t = record["t"]
    if not _is_number(t) or not math.isfinite(t):
        raise BadInput(f"{where}: 't' must be a finite number (seconds), got {_shown(t)}")
    if "x" in record:
        x = record["x"]
        if not isinstance(x, list) or not all(_is_number(v) and math.isfinite(v) for v in x):
            raise BadInput(f"{where}: 'x' must be a list of finite numbers, got {_shown(x)}")
        if dim is not None and len(x) != dim:
            raise BadInput(f"{where}: 'x' has {len(x)} entries; the problem's dim is {dim}")
    for name in _INTEGERS:
        if name in record and not _is_int(record[name]):
            raise BadInput(f"{where}: {name!r} must be an integer, got {_shown(record[name])}")
    for name in _NUMBERS:
        if name in record and not _is_number(record[name]):
            raise BadInput(f"{where}: {name!r} must be a number, got {_shown(record[name])}")
    for name in _LISTS:
        if name in record and not isinstance(record[name], list):
            raise BadInput(f"{where}: {name!r} must be a list, got {_shown(record[name])}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    """``value`` for an error line: its JSON, cut to a readable length."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
