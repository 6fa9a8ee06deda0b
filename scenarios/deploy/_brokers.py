"""A run's brokers: locked down for the scenario's graph (``broker = "embedded"``, the
default, and ``"mosquitto"``: :func:`locked_transport`, one broker per run id), or a
URL (:func:`open_broker`); and ``hemesh broker``'s Mosquitto.

The graph of the scenario decides the ACL, written in one place
(:meth:`transport.MosquittoSetup.acl`) and enforced by either broker: every agent
logs in with its own generated password and may talk only to its neighbours;
anonymous clients and unknown logins are refused. Besides the agents there are two
accounts for eavesdroppers (``[[adversary]] vantage``): ``wiretap`` reads every
topic of the run and writes none (what the broker or a packet capture sees,
``vantage = "broker"``), ``observer`` may log in and do nothing else (another client
of the broker, ``vantage = "client"``: it receives nothing). The passwords stay in
this process's memory (and in each agent process's environment).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import networkx as nx

from transport import (
    BrokerAddress,
    BrokerRights,
    EmbeddedBroker,
    ManagedMosquitto,
    MosquittoSetup,
    MqttTransport,
    validate_id,
)
from transport import TransportError as _TransportError

from .._errors import BadInput, RunFailed
from ..results import run_folder, run_stamp
from ..spec import Scenario, agent_id
from ._watch import BrokerWatch

EMBEDDED = "embedded"
"""``transport.broker`` value (the default): a locked-down embedded broker per run."""
MOSQUITTO = "mosquitto"
"""``transport.broker`` value that makes ``hemesh run`` start a locked-down Mosquitto."""
LOCKED = (EMBEDDED, MOSQUITTO)
"""The ``transport.broker`` values that hemesh starts itself, locked down, per run id."""
OBSERVER = "observer"
"""The extra account with no rights at all (an eavesdropper at the client vantage)."""
WIRETAP = "wiretap"
"""The extra account that reads every topic of the run and writes none (an eavesdropper
at the broker vantage: what the broker or a capture of its traffic sees)."""
VANTAGE_LOGINS = {"broker": WIRETAP, "client": OBSERVER}
"""The account an eavesdropper of each ``vantage`` logs in as on a locked-down broker."""


def mosquitto_setup(
    graph: nx.Graph,
    runs: tuple[str, ...],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = False,
) -> MosquittoSetup:
    """The broker setup of ``runs`` on ``graph`` (nodes 0..n-1, agent ids ``a<i>``)."""
    neighbours = {
        agent_id(i): [agent_id(j) for j in sorted(graph.neighbors(i))] for i in sorted(graph)
    }
    try:
        return MosquittoSetup(
            runs=runs,
            neighbours=neighbours,
            users={OBSERVER: BrokerRights.NONE, WIRETAP: BrokerRights.READ},
            host=host,
            port=port,
            tls=tls,
        )
    except _TransportError as exc:
        raise BadInput(f"broker: {exc}") from exc


@contextlib.asynccontextmanager
async def locked_transport(
    graph: nx.Graph,
    run_id: str,
    *,
    broker: str = EMBEDDED,
    log_to: Path | None = None,
    inside: Path | None = None,
    watch: BrokerWatch | None = None,
) -> AsyncIterator[MqttTransport]:
    """An :class:`MqttTransport` of ``run_id`` on its own locked-down broker (``broker``:
    ``"embedded"`` or ``"mosquitto"``, on a free loopback port), over one ACL from
    :func:`mosquitto_setup`: each agent connects with its own login, the eavesdroppers'
    accounts are in :meth:`MqttTransport.address_of` (:data:`VANTAGE_LOGINS`), anything
    else connects as ``observer``. ``watch`` watches the broker while it should run.

    The passwords stay in this process's memory. The embedded broker reads them from
    a pipe; Mosquitto's files are in a private temporary directory inside ``inside``
    (the run directory; default the system's), without ``credentials.json``, and its
    password file is gone once it listens, so not even a SIGKILL of this process
    leaves a secret on disk. Mosquitto's log is copied to ``log_to`` on exit."""
    setup = mosquitto_setup(graph, (run_id,))
    if broker == EMBEDDED:
        embedded = EmbeddedBroker(setup=setup)
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(embedded)
            except _TransportError as exc:
                raise RunFailed(f"transport.broker: embedded broker failed: {exc}") from exc
            if watch is not None:
                stack.enter_context(watch.watching("embedded broker", embedded))
            yield _locked(run_id, setup, embedded.address_for)
        return
    if broker != MOSQUITTO:
        raise BadInput(f"transport.broker = {broker!r} is not started by hemesh")
    with tempfile.TemporaryDirectory(prefix="hemesh-mosquitto-", dir=inside) as scratch:
        mosquitto = ManagedMosquitto(setup, Path(scratch), secrets_on_disk=False)
        try:
            async with contextlib.AsyncExitStack() as stack:
                try:
                    await stack.enter_async_context(mosquitto)
                except _TransportError as exc:
                    raise RunFailed(f"transport.broker = {MOSQUITTO!r}: {exc}") from exc
                if watch is not None:
                    stack.enter_context(watch.watching("mosquitto", mosquitto))
                yield _locked(run_id, setup, mosquitto.address)
        finally:  # once mosquitto has stopped and logged so
            if log_to is not None:
                with contextlib.suppress(OSError, _TransportError):
                    shutil.copyfile(mosquitto.files.log_file, log_to)


def _locked(
    run_id: str, setup: MosquittoSetup, address_for: Callable[[str], BrokerAddress]
) -> MqttTransport:
    """The transport over a locked-down broker: every account's own login, the observer's
    for anything else."""
    logins = {account: address_for(account) for account in setup.accounts}
    return MqttTransport(run_id, logins[OBSERVER], logins=logins)


def vantage_addresses(transport: MqttTransport) -> dict[str, BrokerAddress]:
    """Where an eavesdropper of each ``vantage`` logs in, on a locked-down broker."""
    return {vantage: transport.address_of(login) for vantage, login in VANTAGE_LOGINS.items()}


async def serve_broker(
    setup: MosquittoSetup,
    directory: Path,
    *,
    announce: Callable[[ManagedMosquitto], None],
) -> None:
    """Run Mosquitto in the foreground until it exits or is cancelled (Ctrl-C);
    ``announce`` is called once it listens. Mosquitto exiting on its own, or with an
    error, is :class:`RunFailed` naming its log."""
    try:
        async with ManagedMosquitto(setup, directory) as broker:
            announce(broker)
            code = await broker.wait()
    except _TransportError as exc:
        raise RunFailed(f"broker: {exc}") from exc
    if code != 0:
        raise RunFailed(f"mosquitto exited with code {code}; see {broker.files.log_file}")


def broker_lines(broker: ManagedMosquitto) -> list[str]:
    """What ``hemesh broker`` tells its operator: where things are, each login's URL
    with the password masked."""
    setup, files = broker.setup, broker.files
    host = setup.advertised_host
    lines = [
        f"mosquitto pid {broker.pid} listening on {setup.host}:{setup.port} "
        f"for run {', '.join(setup.runs)}",
        f"credentials: {files.credentials_file} (mode 0600; hand each agent its own URL)",
        f"config: {files.config}",
        f"log: {files.log_file}",
    ]
    if files.ca_file is not None:
        lines.append(f"CA certificate for the clients: {files.ca_file}")
    width = max(len(a) for a in setup.accounts)
    for account in setup.accounts:
        url = setup.address(account, files, host=host).url
        role = "agent" if account in setup.neighbours else setup.users[account].value
        lines.append(f"  {account:<{width}}  {url}  ({role})")
    lines.append("Ctrl-C stops it.")
    return lines


def default_run_id(scenario: Scenario) -> str:
    """A fresh run id for ``hemesh broker`` without ``--run``: the scenario's name and a
    run stamp, as the folder of a ``hemesh run``."""
    return run_folder(scenario.name, run_stamp())


def check_run_id(run: str) -> str:
    try:
        return validate_id(run, what="--run")
    except _TransportError as exc:
        raise BadInput(str(exc)) from exc


async def open_broker(scenario: Scenario) -> BrokerAddress | None:
    """The address of ``scenario``'s broker URL; None for the memory transport and for
    the brokers hemesh starts itself (:data:`LOCKED`: per run id, :func:`locked_transport`)."""
    if scenario.transport.kind == "memory" or scenario.transport.broker in LOCKED:
        return None
    try:
        return BrokerAddress.parse(scenario.transport.broker)
    except _TransportError as exc:
        raise BadInput(f"transport.broker: {exc}") from exc
