"""``run_scenario``: the one entry point of a run, whatever spawns its agents.

It builds the graph and the data, computes x* (for evaluation only; agents never
see it), then runs each algorithm of the scenario in turn, its agents either as
tasks of this process or one process each, and writes one run directory per
algorithm. ``transport_factory`` is the seam for tests: it builds the transport of a
run id in place of the scenario's broker (the real thing is the default).
"""

from __future__ import annotations

import signal
from pathlib import Path

from .._errors import BadInput
from ..assembly import build_graph, build_problem
from ..deploy import interruptible
from ..results import run_folder, run_stamp
from ..spec import Scenario
from ._processes import run_processes
from ._result import Progress, RunResult, SpawnMode, TransportFactory
from ._tasks import run_tasks


async def run_scenario(
    scenario: Scenario,
    *,
    source: Path | None = None,
    out: Path | None = None,
    progress: Progress | None = None,
    spawn: str = "tasks",
    restarts: int = 0,
    transport_factory: TransportFactory | None = None,
) -> list[RunResult]:
    """Run every algorithm of ``scenario``; returns one result per run directory.

    ``spawn = "processes"`` runs each agent in its own process, and starts a crashed
    one again up to ``restarts`` times (it resumes from its checkpoint).
    ``transport_factory(run_id)`` replaces the scenario's broker (tasks only).

    SIGINT or SIGTERM stop the agents (by PID, for processes) and the broker, and raise
    :class:`~scenarios.deploy.Interrupted`; the run directory keeps what was logged."""
    if spawn not in tuple(SpawnMode):
        raise BadInput(f"spawn must be 'tasks' or 'processes', got {spawn!r}")
    if restarts < 0 or (restarts and spawn != SpawnMode.PROCESSES):
        raise BadInput(f"restarts = {restarts}: needs spawn = 'processes' and >= 0")
    if transport_factory is not None and spawn != SpawnMode.TASKS:
        raise BadInput("a transport factory needs spawn = 'tasks' (processes share no memory)")
    graph = build_graph(scenario)
    problem = build_problem(scenario, graph.number_of_nodes())
    stamp = run_stamp()
    root = (out or scenario.output.dir) / run_folder(scenario.name, stamp)

    def interrupted(signum: signal.Signals) -> str:
        return f"interrupted by {signum.name}; run directory {root} is partial"

    if spawn == SpawnMode.PROCESSES:
        work = run_processes(
            scenario,
            graph,
            problem,
            root=root,
            stamp=stamp,
            source=source,
            progress=progress,
            restarts=restarts,
        )
    else:
        work = run_tasks(
            scenario,
            graph,
            problem,
            root=root,
            stamp=stamp,
            source=source,
            progress=progress,
            transport_factory=transport_factory,
        )
    return await interruptible(work, message=interrupted)
