"""The run directory: everything needed to recompute a run's metrics offline.

<out>/<name>-<stamp>/                one per ``hemesh run``
    <algorithm>/                     one run directory per algorithm
        scenario.toml                the file as given
        resolved.json                the validated scenario, defaults filled in
        graph.json                   nodes (with agent ids and names) and edges
        problem.npz                  every agent's data and x* (no pickle)
        x_star.json                  x*, readable
        roster.json                  every agent's public identity (Ed25519, X25519)
        identities/<agent>.key       each agent's secret identity (mode 0600)
        logs/<agent>.jsonl           one line per iteration per agent
        checkpoints/<agent>.ckpt     agents in their own processes (secret: key, state)
        adversaries/                 when the scenario has adversaries (AdversaryDir)
        mosquitto.log                the broker's log, with ``broker = "mosquitto"``
        summary.json                 written at the end
        metrics.jsonl                written with the summary: one line per evaluated iteration

:class:`RunDir` is the one place these names are spelled.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._json import read_json, write_json

SCENARIO = "scenario.toml"
RESOLVED = "resolved.json"
GRAPH = "graph.json"
PROBLEM = "problem.npz"
X_STAR = "x_star.json"
LOGS = "logs"
CHECKPOINTS = "checkpoints"
ROSTER = "roster.json"
IDENTITIES = "identities"
ADVERSARIES = "adversaries"
BROKER_LOG = "mosquitto.log"
SUMMARY = "summary.json"
METRICS = "metrics.jsonl"
DASHBOARD = "dashboard"

_SPEC = ".adversary.json"
_RECORD = ".record.jsonl"
_ATTACK = ".attack.jsonl"


@dataclass(frozen=True, slots=True)
class AdversaryDir:
    """``RUN_DIR/adversaries/``::

    public.json                     the public parameters the attacks may use
    <name>.adversary.json           the adversary (kind, name, members, target, filter)
    <name>.record.jsonl             what it recorded during the run
    <name>/<agent>.jsonl            colluders whose members ran as processes of their own:
                                    each member's part, merged into the record afterwards
    <name>.attack.jsonl             per target and iteration: the scores of its estimates
    truth/<agent>.gradients.jsonl   the gradients the targets used (scoring only)
    audit.json                      the summary ``hemesh run`` and ``summarize`` print
    """

    path: Path

    @property
    def public(self) -> Path:
        return self.path / "public.json"

    @property
    def audit(self) -> Path:
        return self.path / "audit.json"

    @property
    def truth(self) -> Path:
        return self.path / "truth"

    def truth_gradients(self, agent: str) -> Path:
        return self.truth / f"{agent}.gradients.jsonl"

    def spec(self, name: str) -> Path:
        return self.path / f"{name}{_SPEC}"

    def record(self, name: str) -> Path:
        return self.path / f"{name}{_RECORD}"

    def attack(self, name: str) -> Path:
        return self.path / f"{name}{_ATTACK}"

    def member_record(self, name: str, agent: str) -> Path:
        """What member ``agent`` of the colluders ``name`` wrote, in a process of its own
        (``hemesh agent --adversaries``): its part of the record."""
        return self.path / name / f"{agent}.jsonl"

    def member_records(self, name: str) -> list[Path]:
        """Every member's part of the colluders ``name``'s record, by agent id."""
        return sorted((self.path / name).glob("*.jsonl"))

    def specs(self) -> list[Path]:
        """Every adversary's spec file, by name."""
        return sorted(self.path.glob(f"*{_SPEC}"))

    def attacks(self) -> list[Path]:
        """Every adversary's attack file (the audit's scores), by name."""
        return sorted(self.path.glob(f"*{_ATTACK}"))

    def score_files(self) -> list[Path]:
        """The attack files, or when there are none every JSONL file but the raw records."""
        return self.attacks() or [
            p for p in sorted(self.path.glob("*.jsonl")) if not p.name.endswith(_RECORD)
        ]

    @staticmethod
    def name_of(path: Path) -> str:
        """The adversary's name in one of its files' names."""
        name = path.name
        for suffix in (_SPEC, _RECORD, _ATTACK):
            if name.endswith(suffix):
                return name.removesuffix(suffix)
        return name.removesuffix(".jsonl")


@dataclass(frozen=True, slots=True)
class RunDir:
    path: Path

    @property
    def scenario(self) -> Path:
        return self.path / SCENARIO

    @property
    def resolved(self) -> Path:
        return self.path / RESOLVED

    @property
    def graph(self) -> Path:
        return self.path / GRAPH

    @property
    def problem(self) -> Path:
        return self.path / PROBLEM

    @property
    def x_star(self) -> Path:
        return self.path / X_STAR

    @property
    def summary(self) -> Path:
        return self.path / SUMMARY

    @property
    def metrics(self) -> Path:
        """Per evaluated iteration: MSE, consensus, gap, losses and accuracies (JSONL)."""
        return self.path / METRICS

    @property
    def broker_log(self) -> Path:
        """Mosquitto's log, copied here after a run with its own Mosquitto."""
        return self.path / BROKER_LOG

    @property
    def dashboard(self) -> Path:
        """The default folder of ``hemesh dashboard``."""
        return self.path / DASHBOARD

    @property
    def logs(self) -> Path:
        return self.path / LOGS

    def log(self, agent: str) -> Path:
        return self.logs / f"{agent}.jsonl"

    def agent_logs(self) -> Iterator[Path]:
        """Every agent's log, by agent id."""
        return iter(sorted(self.logs.glob("*.jsonl")))

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    def checkpoint(self, agent: str) -> Path:
        """Where an agent in its own process keeps its checkpoint (secret: key, state)."""
        return self.checkpoints / f"{agent}.ckpt"

    @property
    def roster(self) -> Path:
        """The run's roster: every agent's public identity (agents trust nothing else)."""
        return self.path / ROSTER

    @property
    def identities(self) -> Path:
        return self.path / IDENTITIES

    def identity(self, agent: str) -> Path:
        """An agent's secret identity (mode 0600, as secret as the agent)."""
        return self.identities / f"{agent}.key"

    @property
    def adversaries(self) -> AdversaryDir:
        return AdversaryDir(self.path / ADVERSARIES)

    def file(self, name: str) -> Path:
        return self.path / name

    def write_json(self, name: str, obj: Any) -> None:
        write_json(self.path / name, obj)

    def read_json(self, name: str) -> Any:
        return read_json(self.path / name)

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
