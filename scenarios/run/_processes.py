"""``hemesh run --spawn processes``: one ``hemesh agent`` process per agent, supervised."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import networkx as nx

from agents import Algorithm
from transport import BrokerAddress

from .._errors import BadInput, RunFailed
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
    run_deadline,
    vantage_addresses,
)
from ..privacy import finish_adversaries, prepare_adversaries
from ..results import RunDir, prepare_run
from ..spec import EavesdropperSpec, Scenario, agent_id
from ._result import Progress, RunResult, write_summary

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)
"""The folder holding the ``scenarios`` package (the children must import this one)."""


EAVESDROPPER_READY = 30.0
"""Seconds an eavesdropper process may take to subscribe before the run fails."""
EAVESDROPPER_DRAIN = 30.0
"""Seconds an eavesdropper process may take to drain and write once told to stop."""


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
    line).

    The adversaries run as in tasks mode: each eavesdropper as a ``hemesh eavesdrop``
    process subscribed before the agents start, colluders' members and targets as the
    agents themselves (``hemesh agent --adversaries``); once the agents are done the
    records are completed (the members' parts merged, membership's released models)
    and audited (:func:`~scenarios.privacy.finish_adversaries`)."""
    if scenario.transport.kind != "mqtt":
        raise BadInput(
            f"transport.kind = {scenario.transport.kind!r}: --spawn processes needs "
            "transport.kind = 'mqtt' (processes share no memory)"
        )
    refuse_in_process_only(scenario)
    eavesdroppers = [a for a in scenario.adversary if isinstance(a, EavesdropperSpec)]
    adversaries = bool(scenario.adversary)  # colluders' members and targets: the agents
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
            # public.json and the specs, before any agent or eavesdropper starts
            prepare_adversaries(
                scenario, run, run_id=run_id, algorithm=algorithm, graph=graph, problem=problem
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
                vantages: Mapping[str, BrokerAddress] = vantage_addresses(transport)
            else:
                assert address is not None  # mqtt
                logins = dict.fromkeys(ids, address)
                vantages = {e.vantage: address for e in eavesdroppers}

            def advanced(steps: int, algorithm: Algorithm = algorithm) -> None:
                if progress is not None:
                    progress(algorithm, steps)

            supervisor = Supervisor(
                run,
                [
                    agent_command(
                        run, a, run_id=run_id, algorithm=algorithm, adversaries=adversaries
                    )
                    for a in ids
                ],
                agents=ids,
                envs=[{**base_env, BROKER_ENV: broker_url(logins[a])} for a in ids],
                deadline=run_deadline(scenario),
                progress=advanced,
                restarts=restarts,
            )
            async with contextlib.AsyncExitStack() as spies:
                for spec in eavesdroppers:
                    env = {**base_env, BROKER_ENV: broker_url(vantages[spec.vantage])}
                    await spies.enter_async_context(
                        _eavesdropper(
                            run,
                            spec.name,
                            run_id=run_id,
                            algorithm=algorithm,
                            env=env,
                            deadline=run_deadline(scenario),
                        )
                    )
                await watch.guard(supervisor.run())
            if scenario.adversary:  # the records are complete: the audit, as in tasks mode
                finish_adversaries(run)
            summary = write_summary(run)
            results.append(RunResult(run, summary, ()))
    return results


@contextlib.asynccontextmanager
async def _eavesdropper(
    run: RunDir,
    name: str,
    *,
    run_id: str,
    algorithm: Algorithm,
    env: dict[str, str],
    deadline: float,
) -> AsyncIterator[None]:
    """``hemesh eavesdrop`` as a child process, subscribed before the agents start; on
    leaving it is told to stop (SIGTERM: it drains and writes its record) and waited for.
    It stops by itself after ``deadline`` seconds (the run's), should this process die."""
    command = [
        sys.executable,
        "-P",
        "-m",
        "scenarios",
        "eavesdrop",
        "--scenario",
        str(run.resolved),
        "--name",
        name,
        "--run",
        run_id,
        "--out",
        str(run.path),
        "--algorithm",
        algorithm.value,
        "--timeout",
        f"{deadline:g}",
    ]
    child = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # Ctrl-C reaches the runner, which stops it
    )
    assert child.stdout is not None and child.stderr is not None
    try:
        try:
            async with asyncio.timeout(EAVESDROPPER_READY):
                first = await child.stdout.readline()
        except TimeoutError:
            first = b""
        if json.loads(first or b"{}").get("subscribed") is not True:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            why = (await child.stderr.read()).decode(errors="replace").strip().splitlines()
            raise RunFailed(
                f"eavesdropper {name!r} (pid {child.pid}) did not subscribe: "
                + (why[-1] if why else f"nothing within {EAVESDROPPER_READY:g} s")
            )
        yield
    finally:
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(EAVESDROPPER_DRAIN):
                    await child.communicate()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()
