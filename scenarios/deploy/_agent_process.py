"""One agent of a scenario, alone in its process: ``hemesh agent`` (DESIGN.md, Runtime).

The same scenario file drives every spawning mode. A lone agent is given the
scenario, its id, the run id and a run directory; it builds its own config and
objective from the scenario (x* is computed with the data but never handed to
the agent), connects to the broker, finds its neighbours through their retained
key topics (so start order does not matter; ``transport.startup_timeout``
bounds the wait) and appends one line per iteration to
``RUN_DIR/logs/<id>.jsonl``.

It trusts only the run's roster (``RUN_DIR/roster.json``, or ``--roster``) and is
the agent whose secret identity it is given (``RUN_DIR/identities/<id>.key``, or
``--identity``): a roster of another run, without the agent, or listing another
key for it is refused before anything connects.

It checkpoints to ``RUN_DIR/checkpoints/<id>.ckpt`` (``output.checkpoint_every``);
started again with the same arguments after a crash, it resumes from there and
catches up with its neighbours, who skipped it meanwhile.

With ``--adversaries`` it plays its part in the scenario's ``[[adversary]]`` entries,
given as :class:`AgentTaps` (``scenarios.privacy.AgentPart``): a colluders' member
writes what it sees, a target its true gradients (scoring only), into
``RUN_DIR/adversaries/``; a colluders' member without it is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import networkx as nx

from agents import (
    Agent,
    AgentConfig,
    AgentReport,
    Algorithm,
    CryptoBackend,
    CryptoPool,
    Diverged,
    Identity,
    InlineCrypto,
    Objective,
    Observer,
    Roster,
)
from agents import AgentError as _AgentError
from transport import BrokerAddress, MqttTransport, PaddedTransport, Transport, validate_id
from transport import TransportError as _TransportError

from .._errors import BadInput, RunFailed, ScenarioError
from ..assembly import agent_configs, build_graph, build_problem
from ..results import RunDir
from ..spec import ColludersSpec, Scenario, resolve_colluders
from ._signals import Interrupted, interruptible

BROKER_ENV = "HEMESH_BROKER"
IDENTITY_ENV = "HEMESH_IDENTITY"
"""Environment variable holding the agent's secret identity (hex) when no
``--identity`` file is given: how compose hands each container its own."""
"""Environment variable read for ``--broker`` (keeps a password off the command line)."""


RECONNECT_TIMEOUT = 60.0
"""How long a lone agent tries to get a lost broker back, by default (seconds)."""
MAX_RECONNECT_TIMEOUT = 86400.0


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentPlan:
    """Everything one agent process needs, checked before anything connects."""

    scenario: Scenario
    config: AgentConfig
    objective: Objective
    address: BrokerAddress
    run_dir: Path
    """``--out``: the run directory the log and the checkpoint are in."""
    log: Path
    checkpoint: Path | None
    """Written every ``output.checkpoint_every`` iterations; resumed from if present."""
    crypto_workers: int
    """0: inline crypto on the event loop; else the size of this process's own pool."""
    identity: Identity
    """The agent's own secret identity."""
    roster: Roster
    """The run's public identities, checked against ``identity`` and the neighbours."""
    reconnect_timeout: float = RECONNECT_TIMEOUT
    """Seconds a lost broker is tried again before the agent fails (0: not at all)."""
    adversaries: bool = False
    """``--adversaries``: it plays its part in the scenario's adversaries."""


class AgentTaps(Protocol):
    """What an agent playing its part in the scenario's adversaries is given
    (:class:`scenarios.privacy.AgentPart`, open): the objective it uses (a target's
    records its true gradients), its observer (a colluders' member's writes what it
    sees) and its ``on_iteration`` hook."""

    def objective(self, objective: Objective) -> Objective: ...

    def observer(self) -> Observer | None: ...

    def iteration_done(self, k: int) -> None: ...


def broker_url(address: BrokerAddress) -> str:
    """``address`` as a URL *with* its password (for a child's environment only)."""
    userinfo = ""
    if address.username is not None:
        userinfo = quote(address.username, safe="")
        if address.password is not None:
            userinfo += ":" + quote(address.password, safe="")
        userinfo += "@"
    host = f"[{address.host}]" if ":" in address.host else address.host
    return f"{'mqtts' if address.tls else 'mqtt'}://{userinfo}{host}:{address.port}"


def resolve_broker(scenario: Scenario, broker: str | None) -> BrokerAddress:
    """The broker a lone agent connects to: ``broker``, else the scenario's URL."""
    if scenario.transport.kind != "mqtt":
        raise BadInput(
            f"transport.kind = {scenario.transport.kind!r}: agents in separate processes "
            "need transport.kind = 'mqtt'"
        )
    url = broker or scenario.transport.broker
    if "://" not in url:
        raise BadInput(
            f"transport.broker = {url!r} is started by 'hemesh run' for its own agents; "
            "a lone agent needs a broker URL: pass --broker mqtt://HOST:PORT "
            f"(or set {BROKER_ENV})"
        )
    try:
        return BrokerAddress.parse(url)
    except _TransportError as exc:
        raise BadInput(f"--broker: {exc}") from exc


def refuse_in_process_only(scenario: Scenario) -> None:
    """Injected faults run inside the in-process runner only: say so rather than run
    without them. (Adversaries run everywhere: eavesdroppers as ``hemesh eavesdrop``,
    colluders' members and targets as ``hemesh agent --adversaries``, membership and the
    audit from the records afterwards.)"""
    if scenario.transport.faults is not None:
        raise BadInput(
            "transport.faults: fault injection runs only with 'hemesh run --spawn tasks'; "
            "agents in separate processes would run without it"
        )


def _colluding(scenario: Scenario, graph: nx.Graph, agent: str) -> list[str]:
    """The names of the scenario's colluders ``agent`` is a member of."""
    names = []
    for index, spec in enumerate(scenario.adversary):
        if isinstance(spec, ColludersSpec) and agent in resolve_colluders(spec, graph, index)[0]:
            names.append(spec.name)
    return names


def plan_agent(
    scenario: Scenario,
    *,
    agent: str,
    run: str,
    out: Path,
    broker: str | None = None,
    algorithm: Algorithm | None = None,
    roster: Path | None = None,
    identity: Path | None = None,
    reconnect_timeout: float = RECONNECT_TIMEOUT,
    adversaries: bool = False,
) -> AgentPlan:
    """Check the arguments of ``hemesh agent`` and build the agent's values.

    ``adversaries``: the agent plays its part in the scenario's ``[[adversary]]``
    entries (given to :func:`run_agent` as its ``taps``); without it, an agent the
    scenario makes a colluders' member is refused, as it would run as an honest one."""
    if not 0 <= reconnect_timeout <= MAX_RECONNECT_TIMEOUT:  # NaN fails it too
        raise BadInput(
            f"--reconnect-timeout {reconnect_timeout}: must be in [0, {MAX_RECONNECT_TIMEOUT:g}] s"
        )
    try:
        validate_id(run, what="run id")
    except _TransportError as exc:
        raise BadInput(f"--run: {exc}") from exc
    algorithm = algorithm or scenario.algorithm.kind
    if algorithm not in scenario.algorithms:
        names = ", ".join(a.value for a in scenario.algorithms)
        raise BadInput(
            f"--algorithm: {algorithm.value!r} is not an algorithm of the scenario ({names})"
        )
    refuse_in_process_only(scenario)
    address = resolve_broker(scenario, broker)
    graph = build_graph(scenario)
    problem = build_problem(scenario, graph.number_of_nodes())
    configs = agent_configs(scenario, graph, problem, run=run, algorithm=algorithm)
    index = next((i for i, c in enumerate(configs) if c.agent_id == agent), None)
    if index is None:
        ids = [c.agent_id for c in configs]
        shown = ", ".join(ids) if len(ids) <= 8 else f"{ids[0]} ... {ids[-1]}"
        raise BadInput(f"--id: no agent {agent!r} in the scenario (agents: {shown})")
    if not adversaries and (colluders := _colluding(scenario, graph, agent)):
        raise BadInput(
            f"--id {agent}: a member of the scenario's colluders {', '.join(colluders)}; pass "
            "--adversaries (it then writes what it sees to RUN_DIR/adversaries/)"
        )
    run_dir = RunDir(out)
    log = run_dir.log(agent)
    checkpoint = run_dir.checkpoint(agent) if scenario.output.checkpoint_every else None
    resumable = checkpoint is not None and checkpoint.exists()
    if log.exists() and log.stat().st_size > 0 and not resumable:
        raise BadInput(
            f"--out: {log} already holds a log and there is no checkpoint to resume from; "
            "give each run its own run id and directory"
        )
    me, its_roster = _identity_of(
        configs[index],
        roster=roster or run_dir.roster,
        identity=identity,
        default_identity=run_dir.identity(agent),
    )
    crypto = scenario.crypto
    uses_pool = algorithm is Algorithm.PAILLIER and not crypto.inline
    return AgentPlan(
        scenario=scenario,
        config=configs[index],
        objective=problem.objectives[index],
        address=address,
        run_dir=out,
        log=log,
        checkpoint=checkpoint,
        crypto_workers=(crypto.workers or 1) if uses_pool else 0,
        identity=me,
        roster=its_roster,
        reconnect_timeout=reconnect_timeout,
        adversaries=adversaries,
    )


def _identity_of(
    config: AgentConfig, *, roster: Path, identity: Path | None, default_identity: Path
) -> tuple[Identity, Roster]:
    """The agent's identity (``--identity``, else :data:`IDENTITY_ENV`, else the run
    directory's file) and the run's roster, read and checked against each other."""
    try:
        loaded = Roster.load(roster)
    except _AgentError as exc:
        raise BadInput(
            f"--roster: {exc} (the runner writes it: hemesh run, hemesh compose)"
        ) from exc
    me = _own_identity(identity, default_identity)
    try:
        loaded.check(
            run=config.run, agent=config.agent_id, identity=me, neighbours=config.neighbours
        )
    except _AgentError as exc:
        raise BadInput(f"--roster: {roster}: {exc}") from exc
    return me, loaded


def _own_identity(identity: Path | None, default: Path) -> Identity:
    if identity is None and (secret := os.environ.get(IDENTITY_ENV)) is not None:
        try:
            return Identity.from_bytes(bytes.fromhex(secret))
        except (ValueError, _AgentError) as exc:
            raise BadInput(f"{IDENTITY_ENV}: not an agent identity: {exc}") from None
    try:
        return Identity.load(identity or default)
    except _AgentError as exc:
        raise BadInput(f"--identity: {exc}") from exc


def agent_failure(agent: str, exc: BaseException) -> str | None:
    """One line saying why ``agent`` failed with ``exc`` (the agent's own error, a
    transport error, a scenario error, or a group of them from the agent's loops), named
    once: ``agent a0: ConnectionLost: lost broker ...``; None for anything else (a bug,
    whose traceback must show)."""
    leaves = _leaves(exc)
    known = (_AgentError, _TransportError, ScenarioError)
    if not leaves or not all(isinstance(e, known) for e in leaves):
        return None
    first = leaves[0]
    message = " ".join(str(first).split())
    for prefix in (f"agent {agent}: ", f"agent {agent!r}: ", f"{agent}: "):
        message = message.removeprefix(prefix)
    for prefix in (f"agent {agent} ", f"agent {agent!r} "):
        if message.startswith(prefix):  # "agent 'a0' lost broker ...": the name said once
            message = message.removeprefix(prefix)
    return f"agent {agent}: {type(first).__name__}: {message}"


DIVERGED = "run diverged: "
"""How the line of a diverged run starts, in tasks and processes mode alike."""


def diverged_line(exc: BaseException) -> str | None:
    """The one line of a run that diverged, when ``exc`` (or one in its group) is
    :class:`Diverged`: the earliest agent and iteration, and what to change; else None."""
    found = [e for e in _leaves(exc) if isinstance(e, Diverged)]
    if not found:
        return None
    first = min(found, key=lambda e: (e.iteration, e.agent))
    return f"{DIVERGED}{first}; lower algorithm.lambda0"


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions of ``exc``, groups flattened, cancellations left out."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [] if isinstance(exc, asyncio.CancelledError) else [exc]


async def run_agent(plan: AgentPlan, *, taps: AgentTaps | None = None) -> AgentReport:
    """Run the planned agent to its last iteration; SIGTERM or SIGINT stop it cleanly
    (:class:`Interrupted`, once its crypto workers are stopped and its log closed).
    ``taps``: its part in the scenario's adversaries (``plan.adversaries``).

    Raises :class:`RunFailed` naming the agent when it cannot finish: one line, with
    the broker's URL and how long it was tried when the broker stays away.
    """
    me = plan.config.agent_id
    run_dir = plan.run_dir

    def interrupted(signum: signal.Signals) -> str:
        return f"agent {me} interrupted by {signum.name}; run directory {run_dir} is partial"

    started = time.monotonic()
    try:
        return await interruptible(_run(plan, taps), message=interrupted)
    except Interrupted:
        raise
    except (_AgentError, _TransportError, BaseExceptionGroup) as exc:
        diverged = diverged_line(exc)
        if diverged is not None:
            raise RunFailed(diverged) from exc
        line = agent_failure(me, exc)
        if line is None:
            raise
        if plan.address.url in line and " within " not in line:  # how long, if not said
            line += f" (gave up after {time.monotonic() - started:.1f} s)"
        raise RunFailed(line) from exc


async def _run(plan: AgentPlan, taps: AgentTaps | None) -> AgentReport:
    cfg = plan.config
    spec = plan.scenario.transport
    transport: Transport = MqttTransport(
        cfg.run,
        plan.address,
        max_message_bytes=spec.max_message_bytes,
        qos=spec.qos,
        reconnect_timeout=plan.reconnect_timeout,
    )
    if plan.scenario.transport.pad_to is not None:
        transport = PaddedTransport(transport, plan.scenario.transport.pad_to)
    async with contextlib.AsyncExitStack() as stack:
        crypto: CryptoBackend = InlineCrypto()
        if plan.crypto_workers:
            crypto = await stack.enter_async_context(CryptoPool(plan.crypto_workers))
        agent = Agent(
            cfg,
            plan.objective if taps is None else taps.objective(plan.objective),
            transport.endpoint(cfg.agent_id, neighbours=cfg.neighbours),
            crypto=crypto if cfg.algorithm is Algorithm.PAILLIER else None,
            journal=plan.log,
            observer=None if taps is None else taps.observer(),
            on_iteration=None if taps is None else taps.iteration_done,
            checkpoint=plan.checkpoint,
            checkpoint_every=plan.scenario.output.checkpoint_every or 1,
            identity=plan.identity,
            roster=plan.roster,
        )
        async with agent:
            return await agent.run()
    raise AssertionError("unreachable")  # pragma: no cover  (mypy: the stack may swallow)


def describe(report: AgentReport, plan: AgentPlan) -> dict[str, Any]:
    """The one line ``hemesh agent`` prints when it is done."""
    return {
        "agent": report.agent_id,
        "run": plan.config.run,
        "iterations": report.iterations,
        "log": str(plan.log),
        "skipped": report.skipped,
        "dropped": report.dropped,
        "resumed_at": report.resumed_at,
        "jumped": report.jumped,
    }
