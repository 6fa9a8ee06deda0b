"""Every agent of a scenario as an asyncio task of this process.

The broker is the scenario's: a locked-down embedded broker (in a child process) or
Mosquitto per algorithm run, each agent with its own login, or a URL; a
``transport_factory`` replaces it. Adversaries record beside the agents and are
audited when they are done.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import networkx as nx

from agents import (
    Agent,
    AgentReport,
    Algorithm,
    CryptoBackend,
    CryptoPool,
    Diverged,
    Identity,
    InlineCrypto,
    Roster,
)
from transport import (
    FaultSpec,
    FaultyTransport,
    MemoryBus,
    MqttTransport,
    PaddedTransport,
    Transport,
)

from .._errors import RunFailed
from ..assembly import Problem, agent_configs
from ..deploy import (
    LOCKED,
    BrokerWatch,
    agent_failure,
    locked_transport,
    open_broker,
    vantage_addresses,
)
from ..privacy import start_adversaries
from ..results import prepare_run
from ..spec import Scenario
from ._result import Progress, RunResult, TransportFactory, write_summary


async def run_tasks(
    scenario: Scenario,
    graph: nx.Graph,
    problem: Problem,
    *,
    root: Path,
    stamp: str,
    source: Path | None,
    progress: Progress | None,
    transport_factory: TransportFactory | None = None,
) -> list[RunResult]:
    """Run every algorithm of ``scenario`` with its agents as tasks of this process."""

    results = []
    watch = BrokerWatch()  # the broker children: a run whose broker dies fails at once
    async with contextlib.AsyncExitStack() as stack:
        own = transport_factory is not None
        mqtt = scenario.transport.kind == "mqtt"
        locked = not own and mqtt and scenario.transport.broker in LOCKED  # one per run id
        address = None if own else await open_broker(scenario)
        crypto = await _crypto(scenario, stack)
        limit = scenario.transport.max_message_bytes
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
            # what belongs to one algorithm's run (its broker, its adversaries) ends with it
            async with contextlib.AsyncExitStack() as per_run:
                vantages = None
                if transport_factory is not None:
                    transport: Transport = transport_factory(run_id)
                elif scenario.transport.kind == "memory":
                    transport = MemoryBus(run_id, max_message_bytes=limit)
                elif locked:
                    locked_in = await per_run.enter_async_context(
                        locked_transport(
                            graph,
                            run_id,
                            broker=scenario.transport.broker,
                            log_to=run.broker_log,
                            inside=run.path,
                            watch=watch,
                            max_message_bytes=limit,
                            qos=scenario.transport.qos,
                        )
                    )
                    transport, vantages = locked_in, vantage_addresses(locked_in)
                else:
                    assert address is not None
                    transport = MqttTransport(
                        run_id, address, max_message_bytes=limit, qos=scenario.transport.qos
                    )
                configs = agent_configs(scenario, graph, problem, run=run_id, algorithm=algorithm)
                roster = Roster.load(run.roster)  # written by prepare_run, as for processes
                adversaries = await per_run.enter_async_context(
                    start_adversaries(
                        scenario,
                        run,
                        transport,
                        configs,
                        graph,
                        objectives=problem.objectives,
                        vantages=vantages,
                    )
                )
                if (pad_to := scenario.transport.pad_to) is not None:
                    transport = PaddedTransport(transport, pad_to)
                if (faults := scenario.transport.faults) is not None:  # agents' sends only
                    spec = FaultSpec(**faults.model_dump(exclude_none=True))
                    transport = FaultyTransport(transport, spec, seed=scenario.seed)

                def advanced(k: int, algorithm: Algorithm = algorithm) -> None:
                    if progress is not None:
                        progress(algorithm, 1)

                agents = [
                    Agent(
                        cfg,
                        adversaries.objective(cfg.agent_id, problem.objectives[i]),
                        transport.endpoint(cfg.agent_id, neighbours=cfg.neighbours),
                        crypto=crypto if algorithm is Algorithm.PAILLIER else None,
                        journal=run.log(cfg.agent_id),
                        on_iteration=adversaries.on_iteration(cfg.agent_id, advanced),
                        observer=adversaries.observer(cfg.agent_id),
                        identity=Identity.load(run.identity(cfg.agent_id)),
                        roster=roster,
                    )
                    for i, cfg in enumerate(configs)
                ]
                ops_before = crypto.stats.as_dict()
                reports = await watch.guard(_run_agents(agents))
                await adversaries.finish()
                ops = {op: count - ops_before[op] for op, count in crypto.stats.as_dict().items()}
                summary = write_summary(run)
                results.append(RunResult(run, summary, tuple(reports), ops))
    return results


async def _crypto(scenario: Scenario, stack: contextlib.AsyncExitStack) -> CryptoBackend:
    uses_crypto = Algorithm.PAILLIER in scenario.algorithms
    if not uses_crypto or scenario.crypto.inline:
        return InlineCrypto()
    workers = scenario.crypto.workers or None
    return await stack.enter_async_context(CryptoPool(workers))


async def _run_agents(agents: list[Agent]) -> list[AgentReport]:
    async def one(agent: Agent) -> AgentReport:
        async with agent:
            return await agent.run()

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(a), name=a.config.agent_id) for a in agents]
    except BaseExceptionGroup as group:
        # one line per failed agent, or the traceback of whatever is not a known error
        failures = {
            a.config.agent_id: agent_failure(a.config.agent_id, e)
            for a, t in zip(agents, tasks, strict=True)
            if t.done() and not t.cancelled() and (e := t.exception()) is not None
        }
        if not failures or None in failures.values():
            raise
        diverged = [e for e in group.exceptions if isinstance(e, Diverged)]
        if diverged:
            first = min(diverged, key=lambda e: (e.iteration, e.agent))
            raise RunFailed(f"run diverged: {first}; lower algorithm.lambda0") from group
        lines = {a: line for a, line in failures.items() if line is not None}
        raise RunFailed("run failed: " + _failure_summary(lines)) from group
    return [t.result() for t in tasks]


def _failure_summary(lines: dict[str, str]) -> str:
    """The failed agents' lines, joined; agents that failed as another did (the same
    line but for the agent's name and the numbers) are named after its line."""
    shown: dict[str, tuple[str, list[str]]] = {}
    for agent, line in lines.items():
        gist = re.sub(r"\d+(\.\d+)?", "#", line.removeprefix(f"agent {agent}: "))
        if gist in shown:
            shown[gist][1].append(agent)
        else:
            shown[gist] = (line, [])
    parts = [
        line + (f" (likewise {len(alike)} more: {', '.join(alike)})" if alike else "")
        for line, alike in shown.values()
    ]
    return "; ".join(parts)
