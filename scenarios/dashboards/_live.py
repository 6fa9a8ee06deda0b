"""The live dashboard: a small asyncio HTTP server on 127.0.0.1 that redraws from growing logs.

``GET /`` is the page of ``_page`` in live mode (it polls every second);
``GET /data.json`` is the current figures, rebuilt from the run directories
when a log file changed (size or modification time), so agents in other
processes or containers appending to a shared directory show up. Building runs
in a worker thread so a run in the same event loop keeps going.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .._errors import BadInput, ScenarioError
from ..results import find_runs
from ._page import page, payload, title_for
from ._views import load_views

T = TypeVar("T")
log = logging.getLogger("hemesh.dashboard")

DEFAULT_PORT = 8050
HOST = "127.0.0.1"
_REQUEST_TIMEOUT = 5.0
_MAX_REQUEST = 16 * 1024
_CLOSE_TIMEOUT = 2.0

Paths = Callable[[], Sequence[Path]]


def latest_run_folder(out: Path, name: str, *, since: float) -> Paths:
    """The folder ``hemesh run`` creates for scenario ``name`` under ``out`` after ``since``."""

    def paths() -> list[Path]:
        if not out.is_dir():
            return []
        candidates = [
            p for p in out.glob(f"{name}-*") if p.is_dir() and p.stat().st_mtime >= since - 1.0
        ]
        return [max(candidates, key=lambda p: p.stat().st_mtime)] if candidates else []

    return paths


class LiveDashboard:
    """``async with LiveDashboard(paths) as dash: print(dash.url)``; serves until exit."""

    def __init__(
        self,
        paths: Sequence[Path] | Paths,
        *,
        port: int = DEFAULT_PORT,
        interval: float = 1.0,
    ) -> None:
        self._paths: Paths = paths if callable(paths) else _fixed(list(paths))
        self._port = port
        self._interval = interval
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._lock = asyncio.Lock()
        self._signature: tuple[Any, ...] | None = None
        self._cached: dict[str, Any] | None = None
        self._title = "hemesh dashboard"
        self._entered = False

    @property
    def url(self) -> str:
        if self._server is None:
            raise BadInput("the live dashboard is not running")
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{HOST}:{port}/"

    async def __aenter__(self) -> LiveDashboard:
        if self._entered:
            raise BadInput("a LiveDashboard can be entered once")
        self._entered = True
        try:
            self._server = await asyncio.start_server(self._handle, HOST, self._port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or self._port != DEFAULT_PORT:
                raise BadInput(f"--port {self._port}: cannot listen on {HOST}: {exc}") from exc
            log.info("port %d is taken; using a free one", self._port)
            self._server = await asyncio.start_server(self._handle, HOST, 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await self._server.wait_closed()

    # data ----------------------------------------------------------------------------------

    def _build(self) -> dict[str, Any]:
        paths = list(self._paths())
        signature = _signature(paths)
        if signature == self._signature and self._cached is not None:
            return self._cached
        try:
            views = load_views(paths, strict=False, partial=True)
            data = payload(views)
            self._title = title_for(views) + " (live)" if views else "hemesh dashboard (live)"
        except ScenarioError as exc:  # a damaged run directory: reported on the page
            data = {"figures": {}, "runs": [], "problems": [str(exc)]}
        except Exception as exc:  # a reader's bug must not stop the server: log, report
            log.exception("cannot draw %s", _names(paths))
            data = {"figures": {}, "runs": [], "problems": [f"cannot draw the runs: {exc!r}"]}
        if not data["runs"]:
            data["problems"].insert(0, "waiting for a run directory under " + _names(paths))
        self._signature, self._cached = signature, data
        return data

    async def data(self) -> dict[str, Any]:
        """The current payload (figures, runs, problems), rebuilt when a log changed."""
        async with self._lock:
            return await asyncio.to_thread(self._build)

    # HTTP ----------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            async with asyncio.timeout(_REQUEST_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > _MAX_REQUEST:
                await _respond(writer, 431, "text/plain", b"request too large")
                return
            method, target, *_ = [*head.split(b"\r\n", 1)[0].decode("latin-1").split(" "), "", ""]
            path = target.split("?", 1)[0]
            if method != "GET":
                await _respond(writer, 405, "text/plain", b"GET only")
            elif path in ("/", "/index.html"):
                data = await self.data()
                interval = int(self._interval * 1000)
                body = page(data, title=self._title, live=True, interval_ms=interval)
                await _respond(writer, 200, "text/html; charset=utf-8", body.encode())
            elif path == "/data.json":
                data = await self.data()
                await _respond(writer, 200, "application/json", json.dumps(data).encode())
            else:
                await _respond(writer, 404, "text/plain", b"not found")
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that sends no complete request within the bound is dropped
        except ConnectionError as exc:
            log.info("dashboard client went away: %s", exc)
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(_CLOSE_TIMEOUT):
                    await writer.wait_closed()


async def _respond(writer: asyncio.StreamWriter, status: int, kind: str, body: bytes) -> None:
    reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 431: "Too Large"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + body)
    async with asyncio.timeout(_REQUEST_TIMEOUT):
        await writer.drain()


def _signature(paths: Sequence[Path]) -> tuple[Any, ...]:
    """Sizes and modification times of every log: changes when an agent appends a line."""
    entries: list[Any] = []
    for path in paths:
        for run in find_runs(path):
            entries.append(str(run.path))
            for file in (run.resolved, run.graph):  # repaired or replaced while served
                with contextlib.suppress(OSError):
                    st = os.stat(file)
                    entries.append((str(file), st.st_size, st.st_mtime_ns))
            for folder in (run.logs, run.adversaries.path):
                if not folder.is_dir():
                    continue
                for file in sorted(folder.rglob("*.jsonl")):
                    with contextlib.suppress(OSError):
                        st = os.stat(file)
                        entries.append((str(file), st.st_size, st.st_mtime_ns))
    return tuple(entries)


def _fixed(paths: list[Path]) -> Paths:
    def fixed() -> list[Path]:
        return paths

    return fixed


def _names(paths: Sequence[Path]) -> str:
    return ", ".join(str(p) for p in paths) or "the output folder"


async def serve(paths: Sequence[Path], *, port: int, announce: Callable[[str], None]) -> None:
    """Serve the live dashboard until cancelled (Ctrl-C)."""
    async with LiveDashboard(paths, port=port) as dashboard:
        announce(dashboard.url)
        await asyncio.Event().wait()  # until cancelled


async def beside_run(
    work: Coroutine[Any, Any, T],
    out: Path,
    name: str,
    *,
    port: int,
    announce: Callable[[str], None],
) -> T:
    """Run ``work`` (a ``run_scenario`` call of scenario ``name`` writing under ``out``)
    with the live dashboard of its run beside it.

    The server stops when the run ends, fails or is cancelled (Ctrl-C).
    """
    import time

    paths = latest_run_folder(out, name, since=time.time())
    try:
        async with LiveDashboard(paths, port=port) as dashboard:
            announce(dashboard.url)
            return await work
    finally:
        work.close()  # a no-op once it ran; closes it cleanly if the server failed to start
