"""The run directory: everything needed to recompute a run's metrics offline.

<out>/<name>-<stamp>/                one per ``hemesh run``
    <algorithm>/                     one run directory per algorithm
        scenario.toml                the file as given
        resolved.json                the validated scenario, defaults filled in
        graph.json                   nodes (with agent ids and names) and edges
        problem.npz                  every agent's data and x* (no pickle)
        x_star.json                  x*, readable
        logs/<agent>.jsonl           one line per iteration per agent
        summary.json                 written at the end
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCENARIO = "scenario.toml"
RESOLVED = "resolved.json"
GRAPH = "graph.json"
PROBLEM = "problem.npz"
X_STAR = "x_star.json"
LOGS = "logs"
CHECKPOINTS = "checkpoints"
SUMMARY = "summary.json"


@dataclass(frozen=True, slots=True)
class RunDir:
    path: Path

    @property
    def logs(self) -> Path:
        return self.path / LOGS

    def log(self, agent: str) -> Path:
        return self.logs / f"{agent}.jsonl"

    def checkpoint(self, agent: str) -> Path:
        """Where an agent in its own process keeps its checkpoint (secret: key, state)."""
        return self.path / CHECKPOINTS / f"{agent}.ckpt"

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj: Any) -> None:
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n", encoding="utf-8")
        tmp.replace(self.path / name)

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text(encoding="utf-8"))

    @classmethod
    def is_run(cls, path: Path) -> bool:
        return (path / RESOLVED).is_file() and (path / GRAPH).is_file()


def find_runs(path: Path) -> list[RunDir]:
    """``path`` itself if it is a run directory, else the run directories inside it."""
    if RunDir.is_run(path):
        return [RunDir(path)]
    if path.is_dir():
        return [RunDir(p) for p in sorted(path.iterdir()) if RunDir.is_run(p)]
    return []
