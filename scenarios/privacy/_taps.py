"""What agents write for the adversaries' audit, beside their own logs: the true
gradients of the targets (:class:`GradientTap`, scoring only: no attack reads them) and,
for an agent in a process of its own (``hemesh agent --adversaries``), its colluders'
member records (:class:`AgentPart`).

A gradient is filed under the iteration whose step computed it: the tap holds the last
gradient handed out and files it when the agent reports iteration k done (its
``on_iteration(k)``: the step of k - 1). Jumped iterations compute none and file none; an
agent resumed from its checkpoint files the iterations it does again once more, and the
audit keeps the last line of each (:func:`~scenarios.privacy.finish_adversaries`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from agents import Objective, Observer

from ..assembly import build_graph
from ..results import JsonlWriter, RunDir
from ..spec import Scenario
from ._attacks import FloatArray
from ._prepare import plan_adversaries

IndexArray = npt.NDArray[np.intp]
Line = dict[str, Any]


class GradientTap:
    """An objective that files every gradient it hands out under its iteration
    (evaluation only: the truth the gradient attacks are scored against)."""

    def __init__(self, objective: Objective, *, sink: Callable[[Line], None] | None = None) -> None:
        """``sink``: called with each line as it is filed (a process writes it at once)."""
        self._objective = objective
        self._sink = sink
        self._pending: Line | None = None
        self.lines: list[Line] = []
        """One line per iteration done: ``k``, the gradient ``g`` and, for a minibatch
        of an objective with features, the feature rows it used (``inputs``)."""

    @property
    def dim(self) -> int:
        return self._objective.dim

    @property
    def samples(self) -> int:
        return self._objective.samples

    def value(self, x: FloatArray) -> float:
        return self._objective.value(x)

    def gradient(self, x: FloatArray, batch: IndexArray | None = None) -> FloatArray:
        g = self._objective.gradient(x, batch)
        line: Line = {"g": g.tolist()}
        features = getattr(self._objective, "features", None)
        if batch is not None and isinstance(features, np.ndarray) and features.ndim == 2:
            line["inputs"] = features[batch].tolist()
        self._pending = line
        return g

    def done(self, k: int) -> None:
        """The agent finished iteration k - 1 (its ``on_iteration(k)``): file the
        gradient that step computed, if any (a jumped iteration computed none)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        line = {"k": k - 1, **pending}
        self.lines.append(line)
        if self._sink is not None:
            self._sink(line)

    def smoothness(self) -> float:
        return self._objective.smoothness()


class AgentPart:
    """What one agent in a process of its own writes for the run's adversaries: as a
    member of colluders, its observations to ``adversaries/<name>/<agent>.jsonl`` (one
    line per iteration, as the in-process runner writes them to the record); as a
    target, its true gradients to ``adversaries/truth/<agent>.gradients.jsonl``. Files
    are appended to, so a restarted agent adds to what it wrote before.

    Give the agent :meth:`objective` of its objective, :meth:`observer` and
    :meth:`iteration_done` as its ``on_iteration``, inside ``with part:``."""

    def __init__(self, run: RunDir, agent: str, *, member_of: Sequence[str], target: bool) -> None:
        self._run = run
        self.agent = agent
        self.member_of = tuple(member_of)
        self.target = target
        self._writers: list[JsonlWriter] = []
        self._truth: JsonlWriter | None = None
        self._taps: list[GradientTap] = []

    def __enter__(self) -> Self:
        folder = self._run.adversaries
        for name in self.member_of:
            path = folder.member_record(name, self.agent)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writers.append(JsonlWriter(path))
        if self.target:
            folder.truth.mkdir(parents=True, exist_ok=True)
            self._truth = JsonlWriter(folder.truth_gradients(self.agent), allow_nan=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for writer in [*self._writers, *([self._truth] if self._truth else [])]:
            writer.close()
        self._writers, self._truth = [], None

    def objective(self, objective: Objective) -> Objective:
        """The objective to give the agent: a :class:`GradientTap` if it is a target."""
        if self._truth is None:
            return objective
        tap = GradientTap(objective, sink=self._truth.write)
        self._taps.append(tap)
        return tap

    def observer(self) -> Observer | None:
        """The agent's observer: None unless it is a colluders' member."""
        writers = list(self._writers)
        if not writers:
            return None

        def observe(record: dict[str, Any]) -> None:
            for writer in writers:
                writer.write(record)

        return observe

    def iteration_done(self, k: int) -> None:
        """The agent's ``on_iteration``: files the gradient of iteration k - 1."""
        for tap in self._taps:
            tap.done(k)


def agent_part(scenario: Scenario, run: RunDir, *, agent: str, run_id: str) -> AgentPart | None:
    """The part ``agent`` plays in the scenario's adversaries when it runs in a process
    of its own (``hemesh agent --adversaries``): None if it plays none (no
    ``[[adversary]]`` that needs the agents: a membership attacker reads the logs)."""
    plan = plan_adversaries(scenario, build_graph(scenario), run_id=run_id)
    member_of, target = plan.member_of(agent), agent in plan.targets
    if not member_of and not target:
        return None
    return AgentPart(run, agent, member_of=member_of, target=target)
