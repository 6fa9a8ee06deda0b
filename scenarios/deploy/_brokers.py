"""A run's brokers: the embedded one or a URL (:func:`open_broker`), and a locked-down
Mosquitto for a scenario's graph (``hemesh broker`` and ``broker = "mosquitto"``).

The graph of the scenario decides the ACL (see :mod:`transport._mosquitto`): every
agent logs in with its own password and may talk only to its neighbours. Besides the
agents there is one account, ``observer``, that may log in and do nothing else: the
runner gives it to eavesdroppers, which therefore receive nothing.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import networkx as nx

from transport import (
    DEFAULT_MAX_MESSAGE_BYTES,
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

MOSQUITTO = "mosquitto"
"""``transport.broker`` value that makes ``hemesh run`` start a locked-down Mosquitto."""
OBSERVER = "observer"
"""The extra account with no rights at all (eavesdroppers of a scenario log in as it)."""


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
            users={OBSERVER: BrokerRights.NONE},
            host=host,
            port=port,
            tls=tls,
        )
    except _TransportError as exc:
        raise BadInput(f"broker: {exc}") from exc


@contextlib.asynccontextmanager
async def mosquitto_transport(
    graph: nx.Graph,
    run_id: str,
    *,
    log_to: Path | None = None,
    inside: Path | None = None,
    watch: BrokerWatch | None = None,
    max_message_bytes: int | None = DEFAULT_MAX_MESSAGE_BYTES,
    qos: int = 1,
) -> AsyncIterator[MqttTransport]:
    """An :class:`MqttTransport` of ``run_id`` on its own Mosquitto (free loopback port,
    files in a private temporary directory inside ``inside`` (the run directory; default
    the system's), removed afterwards): each agent connects with its own login,
    anything else as ``observer``. Mosquitto's log is copied to ``log_to`` on exit.

    The passwords stay in this process's memory: no ``credentials.json``, and the
    password file is gone once mosquitto listens, so not even a SIGKILL of this
    process leaves a secret on disk. ``watch`` watches mosquitto while it should run;
    ``max_message_bytes`` and ``qos`` are passed to the transport."""
    setup = mosquitto_setup(graph, (run_id,))
    with tempfile.TemporaryDirectory(prefix="hemesh-mosquitto-", dir=inside) as scratch:
        broker = ManagedMosquitto(setup, Path(scratch), secrets_on_disk=False)
        try:
            async with contextlib.AsyncExitStack() as stack:
                try:
                    await stack.enter_async_context(broker)
                except _TransportError as exc:
                    raise RunFailed(f"transport.broker = {MOSQUITTO!r}: {exc}") from exc
                if watch is not None:
                    stack.enter_context(watch.watching("mosquitto", broker))
                logins = {a: broker.address(a) for a in setup.neighbours}
                yield MqttTransport(
                    run_id,
                    broker.address(OBSERVER),
                    logins=logins,
                    max_message_bytes=max_message_bytes,
                    qos=qos,
                )
        finally:  # once mosquitto has stopped and logged so
            if log_to is not None:
                with contextlib.suppress(OSError, _TransportError):
                    shutil.copyfile(broker.files.log_file, log_to)


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


async def open_broker(
    scenario: Scenario, stack: contextlib.AsyncExitStack, *, watch: BrokerWatch | None = None
) -> BrokerAddress | None:
    """The broker of ``scenario``'s run, entered on ``stack``: the embedded one (in a child
    process, stopped with the stack, watched by ``watch`` until then) or the address of
    the URL; None for the memory transport. ``broker = "mosquitto"`` is started per run
    id (:func:`mosquitto_transport`)."""
    if scenario.transport.kind == "memory":
        return None
    if scenario.transport.broker == "embedded":
        try:
            broker = await stack.enter_async_context(EmbeddedBroker())
        except _TransportError as exc:
            raise RunFailed(f"transport.broker: embedded broker failed: {exc}") from exc
        if watch is not None:
            stack.enter_context(watch.watching("embedded broker", broker))
        return broker.address
    try:
        return BrokerAddress.parse(scenario.transport.broker)
    except _TransportError as exc:
        raise BadInput(f"transport.broker: {exc}") from exc
