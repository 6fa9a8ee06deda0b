"""Running a scenario in one process: every agent an asyncio task.

The runner builds the graph and the data, computes x* (for evaluation only;
agents never see it), starts the broker when the scenario asks for the
embedded one, runs each algorithm of the scenario in turn, and writes one run
directory per algorithm.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents import Agent, AgentReport, Algorithm, CryptoBackend, CryptoPool, InlineCrypto
from agents import AgentError as _AgentError
from transport import (
    FaultSpec,
    FaultyTransport,
    MemoryBus,
    MqttTransport,
    PaddedTransport,
    Transport,
)
from transport import TransportError as _TransportError

from ._errors import ScenarioError
from .assembly import agent_configs, build_graph, build_problem
from .deploy import MOSQUITTO, mosquitto_transport, open_broker
from .privacy import start_adversaries
from .results import Run, RunDir, prepare_run, run_folder, run_stamp, write_json
from .spec import Scenario

Progress = Callable[[Algorithm, int], None]
"""Called with (algorithm, agent-iterations just completed) as agents advance."""


@dataclass(frozen=True, slots=True)
class RunResult:
    run: RunDir
    summary: dict[str, Any]
    reports: tuple[AgentReport, ...]
    crypto_ops: dict[str, int] | None = None
    """Ciphertexts encrypted, served and decrypted in this process (in-process runs)."""


async def run_scenario(
    scenario: Scenario,
    *,
    source: Path | None = None,
    out: Path | None = None,
    progress: Progress | None = None,
    spawn: str = "tasks",
    restarts: int = 0,
) -> list[RunResult]:
    """Run every algorithm of ``scenario``; returns one result per run directory.

    ``spawn = "processes"`` runs each agent in its own process (see ``_spawn``), and
    starts a crashed one again up to ``restarts`` times (it resumes from its checkpoint)."""
    if spawn not in ("tasks", "processes"):
        raise ScenarioError(f"spawn must be 'tasks' or 'processes', got {spawn!r}")
    if restarts < 0 or (restarts and spawn != "processes"):
        raise ScenarioError(f"restarts = {restarts}: needs spawn = 'processes' and >= 0")
    graph = build_graph(scenario)
    problem = build_problem(scenario, graph.number_of_nodes())
    stamp = run_stamp()
    root = (out or scenario.output.dir) / run_folder(scenario.name, stamp)
    if spawn == "processes":
        from ._spawn import run_processes

        return await run_processes(
            scenario,
            graph,
            problem,
            root=root,
            stamp=stamp,
            source=source,
            progress=progress,
            restarts=restarts,
        )
    results = []
    async with contextlib.AsyncExitStack() as stack:
        mosquitto = scenario.transport.broker == MOSQUITTO  # started below, one per run id
        address = None if mosquitto else await open_broker(scenario, stack)
        crypto = await _crypto(scenario, stack)
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
                if scenario.transport.kind == "memory":
                    transport: Transport = MemoryBus(run_id)
                elif mosquitto:
                    transport = await per_run.enter_async_context(
                        mosquitto_transport(graph, run_id, log_to=run.broker_log)
                    )
                else:
                    assert address is not None
                    transport = MqttTransport(run_id, address)
                configs = agent_configs(scenario, graph, problem, run=run_id, algorithm=algorithm)
                adversaries = await per_run.enter_async_context(
                    start_adversaries(scenario, run, transport, configs, graph)
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
                        on_iteration=advanced,
                        observer=adversaries.observer(cfg.agent_id),
                    )
                    for i, cfg in enumerate(configs)
                ]
                ops_before = crypto.stats.as_dict()
                reports = await _run_agents(agents)
                await adversaries.finish()
                ops = {op: count - ops_before[op] for op, count in crypto.stats.as_dict().items()}
                summary = Run.load(run).summary()
                write_json(run.summary, summary)
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
        failures = [
            f"{a.config.agent_id}: {type(e).__name__}: {e}"
            for a, t in zip(agents, tasks, strict=True)
            if t.done() and not t.cancelled() and (e := t.exception()) is not None
        ]
        if not failures:
            raise
        known = (_AgentError, _TransportError, ScenarioError)
        if not all(isinstance(e, known) for e in group.exceptions):
            raise
        raise ScenarioError("run failed: " + "; ".join(failures)) from group
    return [t.result() for t in tasks]
