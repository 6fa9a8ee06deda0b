"""The static dashboard: one offline page that headless Chromium renders without errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scenarios.dashboards import PALETTE, load_views, write_dashboard
from tests.scenarios._dashboard_support import chromium, console_errors, make_runs, run_chromium


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``hemesh run`` folder holding a ``plain`` and a ``dp`` run directory."""
    out = tmp_path_factory.mktemp("runs")
    results = make_runs(out, iterations=12, kind="plain", baselines=["dp"], dp_noise=0.5)
    assert len(results) == 2
    return results[0].run.path.parent


def test_page_is_self_contained(two_runs: Path, tmp_path: Path) -> None:
    written = write_dashboard([two_runs], tmp_path / "dash")
    page = written.html.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]+src=", page) is None  # no CDN, no file next to it
    assert "<link" not in page
    assert "Plotly.react" in page
    assert len(page) > 1_000_000  # plotly.js itself is inline
    names = {p.name for p in written.figures}
    for panel in ("mse", "consensus", "gap", "time", "bytes", "topology"):
        assert {f"{panel}.png", f"{panel}.pdf"} <= names
    assert "dashboard.png" in names
    for path in written.figures:
        head = path.read_bytes()[:8]
        assert head.startswith(b"\x89PNG" if path.suffix == ".png" else b"%PDF")


def test_chromium_renders_one_mse_trace_per_run(two_runs: Path, tmp_path: Path) -> None:
    binary = chromium()
    written = write_dashboard([two_runs], tmp_path / "dash")
    views = load_views([two_runs])
    url = written.html.as_uri()

    dom = run_chromium(
        binary, tmp_path / "profile-dom", "--virtual-time-budget=10000", "--dump-dom", url
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_errors(dom.stderr) == []
    html = dom.stdout
    root = re.search(r"<html[^>]*>", html)
    assert root is not None
    assert "data-errors" not in root.group(0)  # the page's own error hook stayed silent
    rendered = re.search(r'data-rendered="(\d+)"', root.group(0))
    assert rendered is not None, "the page's script did not run to the end"
    assert int(rendered.group(1)) >= 6
    mse = re.search(r'<div id="fig-mse".*?data-traces="(\d+)"', html, re.S)
    assert mse is not None
    assert int(mse.group(1)) == len(views) == 2
    # plotly drew an SVG legend with the runs' names in the MSE panel
    mse_div = html[html.index('id="fig-mse"') : html.index('id="fig-consensus"')]
    legend = re.findall(r'class="legendtext"[^>]*>([^<]+)<', mse_div)
    assert sorted(legend) == sorted(v.label for v in views)
    assert len(re.findall(r'class="trace scatter', mse_div)) == 2 * len(views)  # band + median

    shot = tmp_path / "shot.png"
    capture = run_chromium(
        binary,
        tmp_path / "profile-shot",
        "--virtual-time-budget=10000",
        "--hide-scrollbars",
        "--window-size=1400,1000",
        f"--screenshot={shot}",
        url,
    )
    assert capture.returncode == 0, capture.stderr[-2000:]
    assert console_errors(capture.stderr) == []
    image = Image.open(shot).convert("RGB")
    # the MSE chart is the first panel: top left of a two-column grid
    mse_area = np.asarray(image.crop((0, 0, image.width // 2, 620)), dtype=np.int64)
    for color in PALETTE[:2]:
        rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
        close = int(np.sum(np.abs(mse_area - rgb).sum(axis=2) < 30))
        assert close > 150, f"no {color} line in the MSE chart of the screenshot"
    unused = np.array([int(PALETTE[2][i : i + 2], 16) for i in (1, 3, 5)])
    assert int(np.sum(np.abs(mse_area - unused).sum(axis=2) < 30)) == 0  # no third run drawn
