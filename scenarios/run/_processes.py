"""``hemesh run --spawn processes``: one ``hemesh agent`` process per agent, supervised."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import networkx as nx

from agents import Algorithm

from .._errors import BadInput
from ..assembly import Problem
from ..deploy import (
    BROKER_ENV,
    LOCKED,
    BrokerWatch,
    Supervisor,
    agent_command,
    broker_url,
    locked_transport,
    open_broker,
    refuse_in_process_only,
)
from ..results import prepare_run
from ..spec import Scenario, agent_id
from ._result import Progress, RunResult, write_summary

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)
"""The folder holding the ``scenarios`` package (the children must import this one)."""


def run_deadline(scenario: Scenario) -> float:
    """Seconds a whole run may take before the supervisor gives up: every wait of an
    agent is bounded by the scenario's timeouts, so this is a generous multiple."""
    t = scenario.transport
    return t.startup_timeout + 2 * scenario.iterations * t.round_timeout + 60.0


async def run_processes(
    scenario: Scenario,
    graph: nx.Graph,
    problem: Problem,
    *,
    root: Path,
    stamp: str,
    source: Path | None,
    progress: Progress | None,
    restarts: int = 0,
) -> list[RunResult]:
    """Run every algorithm of ``scenario`` with one process per agent; an agent that
    crashes is started again up to ``restarts`` times (it resumes from its checkpoint).

    The run directory is prepared exactly as for agents in tasks; the broker is the
    scenario's (a locked-down embedded broker or Mosquitto per run, a child process of
    this one, gives each agent its own login: the child reads its URL, password
    included, from the environment variable ``BROKER_ENV``, never from its command
    line)."""
    if scenario.transport.kind != "mqtt":
        raise BadInput(
            f"transport.kind = {scenario.transport.kind!r}: --spawn processes needs "
            "transport.kind = 'mqtt' (processes share no memory)"
        )
    refuse_in_process_only(scenario)
    if restarts and not scenario.output.checkpoint_every:
        raise BadInput(
            "output.checkpoint_every = 0: a restarted agent has no checkpoint to resume "
            f"from; restarts = {restarts} needs checkpoints"
        )
    ids = [agent_id(i) for i in range(graph.number_of_nodes())]
    results = []
    base_env = dict(os.environ)
    # The children must import this very package, wherever it was imported from.
    base_env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [_PACKAGE_ROOT, base_env.get("PYTHONPATH")])
    )
    watch = BrokerWatch()  # the broker children: a run whose broker dies fails at once
    async with contextlib.AsyncExitStack() as stack:
        locked = scenario.transport.broker in LOCKED  # one per run id, below
        address = await open_broker(scenario)
        for algorithm in scenario.algorithms:
            run, run_id = prepare_run(
                root,
                stamp=stamp,
                scenario=scenario,
                algorithm=algorithm,
                graph=graph,
                problem=problem,
                source=source,
            )
            if locked:  # each agent logs in with its own credentials
                transport = await stack.enter_async_context(
                    locked_transport(
                        graph,
                        run_id,
                        broker=scenario.transport.broker,
                        log_to=run.broker_log,
                        inside=run.path,
                        watch=watch,
                    )
                )
                logins = {a: transport.address_of(a) for a in ids}
            else:
                assert address is not None  # mqtt
                logins = dict.fromkeys(ids, address)

            def advanced(steps: int, algorithm: Algorithm = algorithm) -> None:
                if progress is not None:
                    progress(algorithm, steps)

            supervisor = Supervisor(
                run,
                [agent_command(run, a, run_id=run_id, algorithm=algorithm) for a in ids],
                agents=ids,
                envs=[{**base_env, BROKER_ENV: broker_url(logins[a])} for a in ids],
                deadline=run_deadline(scenario),
                progress=advanced,
                restarts=restarts,
            )
            await watch.guard(supervisor.run())
            summary = write_summary(run)
            results.append(RunResult(run, summary, ()))
    return results
