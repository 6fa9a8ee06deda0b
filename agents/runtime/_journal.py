"""The agent's append-only JSONL log: one line per iteration (DESIGN.md, Logs)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import numpy as np

from transport import TrafficCounters

from .._config import Record


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

    def write_iteration(
        self,
        k: int,
        x: np.ndarray,
        *,
        agent: str,
        objective: float,
        record: Record,
        stepsize: float | list[float] | None = None,
        gamma: float | None = None,
        skipped: Sequence[str] = (),
        traffic: TrafficCounters | None = None,
        crypto: float = 0.0,
        wait: float = 0.0,
        elapsed: float = 0.0,
        compensated: Sequence[tuple[str, int]] = (),
        jumped: bool = False,
        resumed: bool = False,
    ) -> None:
        """One iteration's line: x(k), f_i(x(k)) as ``objective``, the stepsize and
        gamma of the iteration that led to it, its traffic and times, the neighbours
        skipped and the (neighbour, iteration) terms undone in it; ``jumped``:
        iteration k - 1 was jumped over, ``resumed``: the agent restarted from its
        checkpoint at k (a line for k may already be in the log). ``record`` says
        whether the line holds x itself or its :func:`digest`."""
        traffic = traffic or TrafficCounters()
        line: dict[str, Any] = {
            "k": k,
            "t": time.time(),
            "agent": agent,
            "objective": objective,
            "stepsize": stepsize,
            "gamma": gamma,
            "bytes_in": traffic.bytes_received,
            "bytes_out": traffic.bytes_sent,
            "msgs_in": traffic.messages_received,
            "msgs_out": traffic.messages_sent,
            "crypto_s": round(crypto, 6),
            "wait_s": round(wait, 6),
            "compute_s": round(max(0.0, elapsed - crypto - wait), 6),
            "skipped": list(skipped),
            "compensated": [[n, i] for n, i in compensated],
        }
        if jumped:
            line["jumped"] = True
        if resumed:
            line["resumed"] = True
        if record is Record.STATE:
            line["x"] = x.tolist()
        else:
            line["digest"] = digest(x)
        self.write(line)


def _ends_mid_line(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            if f.seek(0, 2) == 0:
                return False
            f.seek(-1, 2)
            return f.read(1) != b"\n"
    except FileNotFoundError:
        return False
