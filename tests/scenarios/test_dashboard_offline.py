"""Figures come from the run directory alone: copied, cut off, with or without adversaries."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from scenarios import RunDir
from scenarios.dashboards import figures, load_views, payload, write_dashboard
from tests.scenarios._dashboard_support import make_runs


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    (result,) = make_runs(out, iterations=10, kind="clear")
    return result.run.path.parent


def copy_elsewhere(run_folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "elsewhere" / run_folder.name
    shutil.copytree(run_folder, copy)
    return copy


def test_a_copied_run_directory_renders_on_its_own(run_folder: Path, tmp_path: Path) -> None:
    original = payload(load_views([run_folder]))
    copy = copy_elsewhere(run_folder, tmp_path)
    moved = copy.parent.parent / "moved"
    copy.rename(moved)  # nothing may refer to where the run happened
    written = write_dashboard([moved], tmp_path / "figs")
    assert written.problems == []
    assert (tmp_path / "figs" / "mse.png").stat().st_size > 10_000
    again = payload(load_views([moved]))
    assert again["figures"] == original["figures"]
    assert again["runs"][0]["iterations"] == 10
    page = written.html.read_text(encoding="utf-8")
    assert str(run_folder) not in page


def test_a_cut_off_last_line_still_renders_and_is_reported(
    run_folder: Path, tmp_path: Path
) -> None:
    copy = copy_elsewhere(run_folder, tmp_path)
    (run,) = [RunDir(p) for p in copy.iterdir() if p.is_dir()]
    log = run.log("a2")
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    log.write_text("".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2], encoding="utf-8")
    written = write_dashboard([copy], tmp_path / "figs")
    assert written.problems == [
        f"{log}: line {len(lines)} is not a complete record (its writer was killed?); skipped"
    ]
    page = written.html.read_text(encoding="utf-8")
    assert f"line {len(lines)} is not a complete record" in page  # shown on the page too
    (view,) = load_views([copy])
    assert view.k[-1] == 9  # the cut iteration is dropped for MSE (a2 lacks it), the rest draws
    assert (tmp_path / "figs" / "mse.pdf").stat().st_size > 0


def test_leakage_panels_come_from_adversary_records(run_folder: Path, tmp_path: Path) -> None:
    copy = copy_elsewhere(run_folder, tmp_path)
    (run,) = [RunDir(p) for p in copy.iterdir() if p.is_dir()]
    assert "leakage-relative_error" not in figures(load_views([copy]))  # absent: no panel
    resolved = run.read_json("resolved.json")
    resolved["adversary"] = [{"kind": "colluders", "members": ["a1", "a3"], "target": "a2"}]
    run.write_json("resolved.json", resolved)
    folder = run.path / "adversaries"
    folder.mkdir()
    with (folder / "colluders.jsonl").open("w", encoding="utf-8") as f:
        for k in range(1, 6):
            for attack in ("state", "gradient"):
                record = {"k": k, "target": "a2", "attack": attack, "relative_error": 1 / k}
                record["cosine"] = 1 - 1 / (k + 1)
                f.write(json.dumps(record) + "\n")
        f.write('{"k": 6, "target": "a2", "rela')  # cut off, too
    (view,) = load_views([copy])
    assert sorted(view.leakage) == ["cosine", "relative_error"]
    curves = view.leakage["relative_error"]
    assert sorted(c.name for c in curves) == [
        "colluders gradient → a2",
        "colluders state → a2",
    ]
    assert curves[0].k == [1, 2, 3, 4, 5]
    assert curves[0].y == pytest.approx([1 / k for k in range(1, 6)])
    assert any("colluders.jsonl: line 11" in p for p in view.problems)
    drawn = figures([view])
    assert len(drawn["leakage-cosine"]["data"]) == 2
    topology = drawn["topology-1"]["data"]
    roles = {t["name"]: t["text"] for t in topology if t["name"] != "edges"}
    assert roles == {"honest": ["0"], "adversary": ["1", "3"], "target": ["2"]}
    written = write_dashboard([copy], tmp_path / "figs")
    assert {"leakage_cosine.png", "leakage_relative_error.pdf"} <= {p.name for p in written.figures}


def test_audit_attack_files_are_preferred_over_raw_records(
    run_folder: Path, tmp_path: Path
) -> None:
    copy = copy_elsewhere(run_folder, tmp_path)
    (run,) = [RunDir(p) for p in copy.iterdir() if p.is_dir()]
    folder = run.path / "adversaries"
    (folder / "truth").mkdir(parents=True)
    (folder / "eve.record.jsonl").write_text('{"k": 1, "bytes": 512}\n', encoding="utf-8")
    (folder / "truth" / "a0.gradients.jsonl").write_text('{"k": 1, "g": [1.0]}\n')
    rows = [json.dumps({"adversary": "eve", "metadata": {"messages": 3}})]
    for k in (1, 2, 3):
        row: dict[str, object] = {
            "adversary": "eve",
            "target": "a0",
            "k": k,
            "state_rel_error": 0.5 / k,
        }
        row["gradient_cosine"] = None  # nothing to score: no point drawn
        rows.append(json.dumps(row))
    (folder / "eve.attack.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (view,) = load_views([copy])
    assert view.problems == []  # the metadata line is not an error
    assert list(view.leakage) == ["state_rel_error"]
    (curve,) = view.leakage["state_rel_error"]
    assert curve.name == "eve → a0"
    assert curve.k == [1, 2, 3]
