"""Adversaries a scenario puts into a run, and what they record (DESIGN.md, Threat model).

The ``[[adversary]]`` entries of a scenario file are :mod:`scenarios.spec`'s
(``EavesdropperSpec``, ``ColludersSpec``, ``MembershipSpec``). Here they run in this
process (the in-process runner, ``hemesh eavesdrop``); agents in processes of their own
play their part with ``hemesh agent --adversaries`` (``_taps``), and the records are
completed and audited once they are done (``_finish``).

Each adversary writes ``RUN_DIR/adversaries/<name>.record.jsonl`` (the names are
:class:`scenarios.results.AdversaryDir`'s): the eavesdropper
one line per envelope it received (time, topic, size, the decoded envelope with
bytes as base64, or the raw bytes when it does not decode); colluders one line per
member and iteration with what that member knew (its state, quantized state and
weight halves, and what it decrypted). ``public.json`` holds the public parameters
the attacks may use. For scoring only, the true gradients the targets used are
written under ``truth/`` (the attacks never read them, nor the agents' logs).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiomqtt
import networkx as nx

from agents import AgentConfig, Algorithm, Objective, Observer
from transport import BrokerAddress, EnvelopeError, MemoryBus, MqttTransport, Transport, decode

from .._errors import BadInput, RunFailed
from ..assembly import agent_configs, build_graph, build_problem
from ..results import JsonlWriter, RunDir, write_json, write_jsonl
from ..spec import EavesdropperSpec, Scenario, check_adversaries
from ._attacks import read_record
from ._finish import finish_adversaries
from ._prepare import AdversaryPlan, plan_adversaries, public_params, write_adversaries
from ._taps import GradientTap

DRAIN_SECONDS = 0.3
"""After the agents finish, an MQTT eavesdropper keeps listening until it has been
quiet this long (at most DRAIN_LIMIT seconds), so in-flight messages are recorded."""
DRAIN_LIMIT = 3.0
CONNECT_TIMEOUT = 10.0
EAVESDROP_TIMEOUT = 3600.0
"""How long ``hemesh eavesdrop`` listens at most when nobody stops it."""


def eavesdropper_login(
    spec: EavesdropperSpec, address: BrokerAddress
) -> tuple[str | None, str | None]:
    """The username and password an eavesdropper subscribes with: its spec's own login
    if it names one, else the address's (the one place this is chosen)."""
    if spec.username is not None:
        return spec.username, spec.password
    return address.username, address.password


def envelope_line(topic: str, data: bytes) -> dict[str, Any]:
    """One eavesdropper record line for the message ``data`` seen on ``topic``."""
    line: dict[str, Any] = {"t": time.time(), "topic": topic, "size": len(data)}
    try:
        env = decode(data)
    except EnvelopeError:
        line["raw"] = bytes(data)
        return line
    line["envelope"] = {
        "run": env.run,
        "k": env.iteration,
        "from": env.sender,
        "to": env.receiver,
        "kind": env.kind.value,
        "p": dict(env.payload),
    }
    return line


class _Eavesdropper:
    """Records every message on ``filter``: a tap on the memory bus or an MQTT client."""

    def __init__(
        self,
        spec: EavesdropperSpec,
        transport: Transport,
        record: JsonlWriter,
        *,
        address: BrokerAddress | None = None,
    ) -> None:
        """``address``: where it logs in (its vantage's account); default the run's."""
        self.spec = spec
        self._transport = transport
        self._address = address
        self._record = record
        self._filter = spec.filter or _topics(transport).everything
        self._unsubscribe: Any = None
        self._task: asyncio.Task[None] | None = None
        self._heard = asyncio.Event()

    def _listen(self, topic: str, data: bytes) -> None:
        self._heard.set()
        self._record.write(envelope_line(topic, data))

    async def start(self) -> None:
        if isinstance(self._transport, MemoryBus):
            if self.spec.vantage == "broker":  # a client without rights hears nothing
                self._unsubscribe = self._transport.subscribe(self._filter, self._listen)
            return
        if not isinstance(self._transport, MqttTransport):
            raise BadInput(f"adversary {self.spec.name}: unsupported transport")
        address = self._address or self._transport.address
        username, password = eavesdropper_login(self.spec, address)
        client = aiomqtt.Client(
            address.host,
            address.port,
            username=username,
            password=password,
            identifier=f"hemesh.eavesdropper.{self.spec.name}.{secrets.token_hex(4)}",
            clean_session=True,
            timeout=CONNECT_TIMEOUT,
            tls_params=aiomqtt.TLSParameters() if address.tls else None,
        )
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await client.__aenter__()
                await client.subscribe(self._filter, qos=1)
        except (aiomqtt.MqttError, TimeoutError) as exc:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)
            raise RunFailed(
                f"adversary {self.spec.name}: cannot subscribe at {address.url}: {exc}"
            ) from exc
        self._task = asyncio.create_task(self._read(client), name=f"eavesdropper.{self.spec.name}")

    async def _read(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                payload = message.payload
                if isinstance(payload, bytes | bytearray):
                    self._listen(str(message.topic), bytes(payload))
        except aiomqtt.MqttError as exc:
            self._record.write({"t": time.time(), "error": f"connection lost: {exc}"})
        finally:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        if task is not None:
            deadline = time.monotonic() + DRAIN_LIMIT
            while time.monotonic() < deadline:
                self._heard.clear()
                try:
                    async with asyncio.timeout(DRAIN_SECONDS):
                        await self._heard.wait()
                except TimeoutError:
                    break  # quiet for DRAIN_SECONDS: nothing more in flight
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _topics(transport: Transport) -> Any:
    if isinstance(transport, MemoryBus | MqttTransport):
        return transport.topics
    raise BadInput(f"eavesdroppers need a memory or MQTT transport, got {transport!r}")


class Adversaries:
    """The adversaries of one algorithm run. ``async with`` writes their files (see
    :func:`~scenarios.privacy.prepare_adversaries`) and starts the eavesdroppers;
    :meth:`finish` (after the agents are done) stops them, writes the records and runs
    the audit; leaving stops whatever is still running."""

    def __init__(
        self,
        scenario: Scenario,
        run: RunDir,
        transport: Transport,
        configs: Sequence[AgentConfig],
        graph: nx.Graph,
        *,
        objectives: Sequence[Objective] = (),
        vantages: Mapping[str, BrokerAddress] | None = None,
    ) -> None:
        self._scenario = scenario
        self._vantages = dict(vantages or {})
        self._run = run
        self._transport = transport
        self._configs = list(configs)
        self._objectives = list(objectives)
        self._graph = graph
        self._records: list[JsonlWriter] = []
        self._eavesdroppers: list[_Eavesdropper] = []
        self._observers: dict[str, list[JsonlWriter]] = {}
        self._plan = AdversaryPlan()
        self._taps: dict[str, GradientTap] = {}
        self._finished = False

    @property
    def dir(self) -> Path:
        return self._run.adversaries.path

    async def __aenter__(self) -> Self:
        if not self._scenario.adversary:
            return self
        run_id = self._configs[0].run
        self._plan = plan = plan_adversaries(self._scenario, self._graph, run_id=run_id)
        public = public_params(self._scenario, self._configs, self._objectives)
        write_adversaries(self._run, plan, public)
        records = {}
        for spec in self._scenario.adversary:
            record = records[spec.name] = JsonlWriter(self._run.adversaries.record(spec.name))
            self._records.append(record)
            if isinstance(spec, EavesdropperSpec):
                eavesdropper = _Eavesdropper(
                    spec, self._transport, record, address=self._vantages.get(spec.vantage)
                )
                self._eavesdroppers.append(eavesdropper)
                await eavesdropper.start()
        for agent, names in plan.members.items():
            self._observers[agent] = [records[name] for name in names]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    def observer(self, agent: str) -> Observer | None:
        """What the agent must be given as its observer: None for honest agents."""
        records = self._observers.get(agent)
        if not records:
            return None

        def observe(record: dict[str, Any]) -> None:
            for pool in records:
                pool.write(record)

        return observe

    def objective(self, agent: str, objective: Objective) -> Objective:
        """The objective to give the agent: a :class:`GradientTap` for targets."""
        if agent not in self._plan.targets:
            return objective
        tap = self._taps[agent] = GradientTap(objective)
        return tap

    def on_iteration(
        self, agent: str, then: Callable[[int], None] | None = None
    ) -> Callable[[int], None] | None:
        """The agent's ``on_iteration`` hook: its tap files the iteration's gradient
        (a target), then ``then`` (the runner's own hook) is called."""
        tap = self._taps.get(agent)
        if tap is None:
            return then

        def done(k: int) -> None:
            tap.done(k)
            if then is not None:
                then(k)

        return done

    async def _stop(self) -> None:
        for eavesdropper in self._eavesdroppers:
            await eavesdropper.stop()
        self._eavesdroppers = []
        for record in self._records:
            record.close()

    async def finish(self) -> None:
        """Stop recording, write the true gradients (for scoring), run the audit."""
        if self._finished or not self._scenario.adversary:
            return
        self._finished = True
        await self._stop()
        folder = self._run.adversaries
        folder.truth.mkdir(exist_ok=True)
        for agent, tap in self._taps.items():
            write_jsonl(folder.truth_gradients(agent), tap.lines, allow_nan=True)
        finish_adversaries(self._run)


def start_adversaries(
    scenario: Scenario,
    run: RunDir,
    transport: Transport,
    configs: Sequence[AgentConfig],
    graph: nx.Graph,
    *,
    objectives: Sequence[Objective] = (),
    vantages: Mapping[str, BrokerAddress] | None = None,
) -> Adversaries:
    """The runner's hook: the adversaries of one algorithm run, to enter before the
    agents start and :meth:`Adversaries.finish` once they are done. ``objectives``: the
    agents' (what the public model description needs beyond the scenario file: a
    classifier's classes). ``vantages``: the address an eavesdropper of each
    ``vantage`` logs in with (a broker hemesh started); without it, the transport's own."""
    return Adversaries(
        scenario, run, transport, configs, graph, objectives=objectives, vantages=vantages
    )


async def eavesdrop(
    scenario: Scenario,
    *,
    name: str,
    run: str,
    out: Path,
    address: BrokerAddress,
    algorithm: Algorithm | None = None,
    listen_for: float = EAVESDROP_TIMEOUT,
    ready: Callable[[], None] | None = None,
) -> int:
    """``hemesh eavesdrop``: the scenario's eavesdropper ``name`` as a process of its own,
    a real MQTT subscriber at ``address`` (its login: :func:`eavesdropper_login`).

    It writes what the in-process runner writes for it into the run directory ``out``
    (``public.json``, its spec, its record), so :func:`audit_run` reads the run the same
    way once the agents are done; ``ready`` is called once it is subscribed. It listens
    until SIGTERM or SIGINT (then drains what is in flight) or ``listen_for`` seconds;
    returns how many messages it recorded."""
    algorithm = algorithm or scenario.algorithm.kind
    spec = next(
        (a for a in scenario.adversary if isinstance(a, EavesdropperSpec) and a.name == name),
        None,
    )
    if spec is None:
        names = [a.name for a in scenario.adversary if isinstance(a, EavesdropperSpec)]
        raise BadInput(
            f"--name: no eavesdropper {name!r} among the scenario's adversaries "
            f"(eavesdroppers: {', '.join(names) or 'none'})"
        )
    if not listen_for > 0:
        raise BadInput(f"--timeout: must be positive, got {listen_for}")
    graph = build_graph(scenario)
    check_adversaries(scenario.adversary, graph)
    problem = build_problem(scenario, graph.number_of_nodes())
    configs = agent_configs(scenario, graph, problem, run=run, algorithm=algorithm)
    folder = RunDir(out).adversaries
    try:
        folder.path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"--out: cannot create {folder.path}: {exc.strerror}") from exc
    transport = MqttTransport(run, address)
    plan = plan_adversaries(scenario, graph, run_id=run)
    write_json(folder.public, public_params(scenario, configs, problem.objectives).to_json())
    resolved = next(s for s in plan.specs if s["name"] == spec.name)
    write_json(folder.spec(spec.name), resolved)
    with JsonlWriter(folder.record(spec.name)) as record:
        eavesdropper = _Eavesdropper(spec, transport, record)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        try:
            await eavesdropper.start()
            if ready is not None:
                ready()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(listen_for):
                    await stop.wait()
        finally:
            await eavesdropper.stop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
    return sum(1 for line in read_record(folder.record(spec.name)) if "topic" in line)
