"""The run directory's JSON files: one atomic writer, one JSONL reader, one JSONL writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import BadInput, RunDir
from scenarios.results import (
    JsonlWriter,
    decode_bytes,
    read_json,
    read_jsonl,
    write_json,
    write_jsonl,
)


def test_jsonl_round_trip_with_bytes_and_a_cut_off_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with JsonlWriter(path) as writer:
        writer.write({"k": 0, "blob": b"\x00\xff"})
        writer.write({"k": 1})
    with path.open("a") as f:
        f.write('[1, 2]\n{"no k": true}\n{"k": 2, "x"')  # not a record, no k, cut off
    everything = read_jsonl(path)
    assert [r.get("k") for r in everything.records] == [0, 1, None]
    assert everything.bad_lines == [3, 5]
    iterations = read_jsonl(path, iteration=True)
    assert [r["k"] for r in iterations.records] == [0, 1]
    assert iterations.bad_lines == [3, 4, 5]
    assert decode_bytes(iterations.records[0]["blob"]) == b"\x00\xff"


def test_missing_files_are_bad_input_unless_allowed(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        read_jsonl(tmp_path / "none.jsonl")
    assert read_jsonl(tmp_path / "none.jsonl", missing_ok=True).records == []
    with pytest.raises(BadInput, match="cannot read"):
        read_json(tmp_path / "none.json")


def test_json_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    write_json(path, {"x": [1, 2]})
    assert read_json(path) == {"x": [1, 2]}
    with pytest.raises(ValueError, match="not JSON compliant"):
        write_json(path, {"x": float("nan")})
    assert read_json(path) == {"x": [1, 2]}  # the old file stands
    write_jsonl(tmp_path / "w.jsonl", [{"k": 0}, {"k": 1}])
    assert (tmp_path / "w.jsonl").read_text() == '{"k": 0}\n{"k": 1}\n'


def test_the_run_directory_names_every_file(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    names = {
        run.scenario: "scenario.toml",
        run.resolved: "resolved.json",
        run.graph: "graph.json",
        run.problem: "problem.npz",
        run.x_star: "x_star.json",
        run.summary: "summary.json",
        run.broker_log: "mosquitto.log",
        run.log("a0"): "logs/a0.jsonl",
        run.checkpoint("a0"): "checkpoints/a0.ckpt",
        run.adversaries.public: "adversaries/public.json",
        run.adversaries.spec("eve"): "adversaries/eve.adversary.json",
        run.adversaries.record("eve"): "adversaries/eve.record.jsonl",
        run.adversaries.attack("eve"): "adversaries/eve.attack.jsonl",
        run.adversaries.truth_gradients("a0"): "adversaries/truth/a0.gradients.jsonl",
        run.adversaries.audit: "adversaries/audit.json",
    }
    for path, relative in names.items():
        assert path == tmp_path / relative
