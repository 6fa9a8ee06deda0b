"""Runs that survive a Mosquitto restart and a partition that heals (issue 7, items 1, 4).

A ring of agents (clear algorithm) over a real Mosquitto on a free port. Mid-run the
broker is stopped and started again on the same port, or a group of agents is cut off
from it by a TCP proxy for a while. The endpoints reconnect; the iterations around the
outage skip their edges (on both sides); the run converges.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scenarios import parse, run_scenario
from tests._brokers import Mosquitto, free_port, require_mosquitto
from transport import BrokerAddress, MqttTransport

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

RING = 5
ITERATIONS = 100
OUTAGE_AT = 20
"""The fault starts once the agents have done this many iterations on average."""
CONVERGED = 0.05
"""The run converged: final MSE under 5% of the initial one."""
CUT = ("a0", "a1")
"""The agents the partition cuts off from the broker."""
PARTITION = 2.0
"""Seconds the partition lasts."""
PARTITION_AT, PARTITION_ITERATIONS, PARTITION_TIMEOUT = 10, 60, 0.25
"""Short round timeouts: each iteration of the partition costs one."""
BACK_IN_STEP = 20
"""After a partition the agents behind jump to their neighbours' iteration: the last
this many iterations have no skipped edge (measured: skips end about 14 iterations
after the cut of 2 s)."""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    (tmp_path / "broker").mkdir()
    with Mosquitto(require_mosquitto(), tmp_path / "broker") as mosquitto:
        yield mosquitto


def scenario(address: BrokerAddress, iterations: int = ITERATIONS, timeout: float = 0.5) -> Any:
    return parse(
        {
            "name": "outage",
            "seed": 5,
            "iterations": iterations,
            "topology": {"kind": "ring", "n": RING},
            "problem": {"dim": 3, "samples": 20},
            "algorithm": {"kind": "clear"},
            "transport": {
                "broker": f"mqtt://{address.host}:{address.port}",
                "round_timeout": timeout,
                "startup_timeout": 10.0,
            },
            "output": {"record": "state"},
        },
        source="outage",
    )


def at_iteration(k: int, action: Callable[[], None]) -> Callable[[Any, int], None]:
    """A run_scenario progress callback that calls ``action`` once, when the agents have
    done ``k`` iterations on average."""
    done = 0

    def progress(algorithm: Any, steps: int) -> None:
        nonlocal done
        done += steps
        if done == k * RING:
            action()

    return progress


class AgentLog(logging.Handler):
    """The agents' lines about duplicates, and the skip notices they refused for coming
    outside their window (the sender more than one iteration ahead or behind): such a
    notice leaves its term on one side (README, "Not guaranteed")."""

    LATE = re.compile(r"agent (\S+) dropped skip from (\S+) at iteration (\d+): skip notice")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.duplicates: list[str] = []
        self.late: set[tuple[int, str, str]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "duplicate" in message:
            self.duplicates.append(message)
        if match := self.LATE.match(message):
            self.late.add((int(match[3]), match[2], match[1]))

    @contextlib.contextmanager
    def attached(self) -> Iterator[AgentLog]:
        logging.getLogger("hemesh.agent").addHandler(self)
        try:
            yield self
        finally:
            logging.getLogger("hemesh.agent").removeHandler(self)
        # a redelivered message is dropped, never applied: each such line is a drop
        assert all(" dropped " in line for line in self.duplicates), self.duplicates


def journals(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        p.stem: [json.loads(line) for line in p.read_text().splitlines()]
        for p in sorted((run_dir / "logs").glob("*.jsonl"))
    }


def dropped_terms(run_dir: Path) -> dict[str, set[tuple[str, int]]]:
    """Per agent, the (neighbour, iteration) terms it did not keep: skipped at iteration
    k (on line k + 1) or applied and then undone ("compensated")."""
    out = {}
    for agent, lines in journals(run_dir).items():
        terms = {(n, line["k"] - 1) for line in lines for n in line["skipped"]}
        terms |= {(n, k) for line in lines for n, k in line["compensated"]}
        out[agent] = terms
    return out


def one_sided(run_dir: Path) -> set[tuple[int, str, str]]:
    """(k, i, j): i dropped j's term of iteration k while j kept i's."""
    dropped = dropped_terms(run_dir)
    return {(k, i, j) for i in dropped for j, k in dropped[i] if (i, k) not in dropped[j]}


def check_outcome(
    summary: dict[str, Any],
    run_dir: Path,
    log: AgentLog,
    iterations: int = ITERATIONS,
    *,
    cut_from: int | None = None,
) -> set[int]:
    """Convergence and symmetric skips; returns the iterations with a skipped edge.

    A term left on one side must be one of the documented gaps: a skip notice refused
    as out of the receiver's window, the last iteration, or (``cut_from``) a notice to
    an agent cut off by a partition from that iteration on: messages published to a
    disconnected client are lost with its clean session (README, Reliability)."""
    assert summary["mse_final"] < CONVERGED * summary["mse_initial"], summary
    assert all(len(lines) == iterations + 1 for lines in journals(run_dir).values())
    sided = one_sided(run_dir)
    unexplained = {t for t in sided - log.late if t[0] != iterations - 1}
    if cut_from is not None:
        unexplained = {t for t in unexplained if t[0] < cut_from or not ({t[1], t[2]} & set(CUT))}
    assert unexplained == set(), sorted(unexplained)
    dropped = sum(len(terms) for terms in dropped_terms(run_dir).values())
    print(f"dropped terms {dropped}, one-sided {len(sided)}, late notices {len(log.late)}")
    return {k for terms in dropped_terms(run_dir).values() for _, k in terms}


def test_run_survives_a_broker_restart(
    broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hemesh.transport")
    restarted: list[threading.Thread] = []

    def restart() -> None:  # from a thread: the agents keep running meanwhile
        thread = threading.Thread(target=broker.restart, name="restart-mosquitto")
        thread.start()
        restarted.append(thread)

    progress = at_iteration(OUTAGE_AT, restart)
    try:
        with AgentLog().attached() as log:
            (result,) = asyncio.run(
                run_scenario(scenario(broker.address), out=tmp_path, progress=progress)
            )
    finally:
        for thread in restarted:
            thread.join(30)
    assert len(restarted) == 1
    skipped = check_outcome(result.summary, result.run.path, log)
    # a restart costs only what was in flight (possibly nothing), never earlier iterations
    assert min(skipped, default=OUTAGE_AT) >= OUTAGE_AT - 2
    messages = [r.getMessage() for r in caplog.records]
    back = [m for m in messages if "reconnected to broker" in m]
    assert sum("reconnecting for up to" in m for m in messages) == RING
    assert len(back) == RING  # every agent reconnected, once
    print(f"skipped iterations {sorted(skipped)}; {back}")


class Proxy:
    """A TCP proxy in front of the broker that can cut every connection through it and
    refuse new ones for a while (a partition of the agents that connect through it)."""

    def __init__(self, target: BrokerAddress) -> None:
        self._target = target
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.cuts: list[float] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in self._links:
            writer.transport.abort()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def partition(self, seconds: float) -> None:
        """Drop every connection and refuse new ones for ``seconds``, then accept again."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        await self.stop()
        self._links.clear()
        self._tasks.clear()
        await asyncio.sleep(seconds)
        await self.start()
        self.cuts.append(loop.time() - started)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                up_reader, up_writer = await asyncio.open_connection(
                    self._target.host, self._target.port
                )
        except OSError:
            writer.transport.abort()
            return
        self._links |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.transport.abort()


def test_run_survives_a_partition_that_heals(broker: Mosquitto, tmp_path: Path) -> None:
    proxy = Proxy(broker.address)
    cut: list[asyncio.Task[None]] = []
    through_proxy = BrokerAddress(host="127.0.0.1", port=proxy.port)

    def transport(run_id: str) -> MqttTransport:
        # the scenario's broker, with the cut-off group logging in through the proxy
        return MqttTransport(run_id, broker.address, logins=dict.fromkeys(CUT, through_proxy))

    def partition() -> None:  # called from an agent's task, on the run's loop
        cut.append(asyncio.get_running_loop().create_task(proxy.partition(PARTITION)))

    async def main() -> tuple[dict[str, Any], Path]:
        await proxy.start()
        try:
            progress = at_iteration(PARTITION_AT, partition)
            doc = scenario(broker.address, PARTITION_ITERATIONS, PARTITION_TIMEOUT)
            (result,) = await run_scenario(
                doc, out=tmp_path, progress=progress, transport_factory=transport
            )
            await asyncio.gather(*cut)
        finally:
            await proxy.stop()
        return result.summary, result.run.path

    with AgentLog().attached() as log:
        summary, run_dir = asyncio.run(main())
    assert len(proxy.cuts) == 1 and proxy.cuts[0] >= PARTITION
    skipped = check_outcome(summary, run_dir, log, PARTITION_ITERATIONS, cut_from=PARTITION_AT - 2)
    assert skipped, "the partition cost no edge anything: it did not happen"
    assert summary["skipped_edges"] > 0
    assert min(skipped) >= PARTITION_AT - 2
    assert max(skipped) < PARTITION_ITERATIONS - BACK_IN_STEP, sorted(skipped)
    assert summary["jumped_iterations"] > 0  # how: the side left behind jumped ahead
    # the edge between the two agents cut off together kept working while nothing else did
    kept = {k for n, k in dropped_terms(run_dir)[CUT[0]] if n == CUT[1]}
    assert len(kept) < len(skipped)
    print(
        f"partition {proxy.cuts[0]:.2f} s; skipped iterations {sorted(skipped)}; "
        f"jumped {summary['jumped_iterations']}"
    )
