"""The live dashboard: new iterations appended by another process show up within seconds."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from scenarios import RunDir, run_scenario
from scenarios.dashboards import LiveDashboard, beside_run
from tests.scenarios._dashboard_support import make_runs, scenario

APPEAR_WITHIN = 5.0  # seconds: "within a few seconds"

APPENDER = """
import sys, time
from pathlib import Path
pairs = sys.argv[1:]
tails = [(Path(pairs[i]), Path(pairs[i + 1]).read_text().splitlines(keepends=True))
         for i in range(0, len(pairs), 2)]
for step in range(max(len(t) for _, t in tails)):
    for log, lines in tails:
        if step < len(lines):
            with log.open("a") as f:
                f.write(lines[step])
                f.flush()
    time.sleep(0.05)
"""


async def get(url: str) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    path = "/" + url.removeprefix("http://").split("/", 1)[1]
    async with asyncio.timeout(10):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        response = await reader.read()
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


async def data(url: str) -> dict[str, Any]:
    status, body = await get(url + "data.json")
    assert status == 200
    result: dict[str, Any] = json.loads(body)
    return result


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    (result,) = make_runs(tmp_path_factory.mktemp("runs"), iterations=12, kind="plain")
    return result.run.path


@pytest.mark.asyncio
async def test_new_iterations_appear_within_seconds(finished: Path, tmp_path: Path) -> None:
    run = RunDir(tmp_path / "live" / "plain")
    shutil.copytree(finished, run.path)
    tails: list[str] = []
    for log in sorted(run.logs.glob("*.jsonl")):
        lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
        log.write_text("".join(lines[:4]), encoding="utf-8")  # iterations 0..3 so far
        tail = tmp_path / f"{log.stem}.tail"
        tail.write_text("".join(lines[4:]), encoding="utf-8")
        tails += [str(log), str(tail)]

    async with LiveDashboard([run.path.parent], port=0, interval=1.0) as dashboard:
        first = await data(dashboard.url)
        assert [r["iterations"] for r in first["runs"]] == [3]
        status, page = await get(dashboard.url)
        assert status == 200
        assert b"var live = true" in page
        assert b'fetch("data.json"' in page
        assert (await get(dashboard.url + "nothing"))[0] == 404

        started = time.monotonic()
        appender = await asyncio.create_subprocess_exec(sys.executable, "-c", APPENDER, *tails)
        try:
            seen = 3
            while seen < 12 and time.monotonic() - started < 20:
                await asyncio.sleep(0.25)
                seen = (await data(dashboard.url))["runs"][0]["iterations"]
            elapsed = time.monotonic() - started
        finally:
            try:
                async with asyncio.timeout(20):
                    await appender.wait()
            finally:
                if appender.returncode is None:
                    appender.kill()
                    await appender.wait()
        assert appender.returncode == 0
        assert seen == 12
        assert elapsed < APPEAR_WITHIN
        latest = await data(dashboard.url)
        mse = latest["figures"]["mse"]["data"]
        assert mse[1]["x"] == list(range(13))  # the median trace covers every iteration
        url = dashboard.url
    with pytest.raises(ConnectionRefusedError):  # stopped on exit
        await get(url)


@pytest.mark.asyncio
async def test_a_run_serves_its_dashboard_beside_it(tmp_path: Path) -> None:
    doc = scenario(tmp_path / "out", name="beside", iterations=6, kind="plain")
    urls: list[str] = []

    async def run_then_look() -> dict[str, Any]:
        await run_scenario(doc)
        return await data(urls[0])

    seen = await beside_run(run_then_look(), doc.output.dir, doc.name, port=0, announce=urls.append)
    assert [r["iterations"] for r in seen["runs"]] == [6]
    assert seen["runs"][0]["label"] == "beside · plain"
    with pytest.raises(ConnectionRefusedError):  # the server stopped with the run
        await get(urls[0])
