"""The supervisor of ``--spawn processes``: one ``hemesh agent`` process per agent.

Each agent runs as ``python -m scenarios agent`` with its run directory's
``resolved.json`` as its scenario and its broker URL (with its password) in its
environment. On Linux the kernel sends each agent SIGTERM if the supervising process
dies without stopping it. Progress is read from the growing logs. When an agent exits
non-zero or dies by a signal and it has restarts left (``--restarts N``: N per agent),
it is started again with the same command line and environment, and resumes from its
checkpoint; otherwise the others are stopped by PID (SIGTERM, a bounded wait,
SIGKILL) and the run fails (:class:`RunFailed`) with the agent's id, its exit code or
signal, the last lines of its log and of its stderr; the logs written so far stay. An
agent whose run diverged is not restarted: the run fails with its one line, as in tasks
mode.
SIGINT and SIGTERM stop the agents the same way (:class:`Interrupted`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agents import Algorithm
from transport import settle_tasks, stop_processes

from .._errors import BadInput, RunFailed
from ..results import RunDir, parse_record
from ..spec import Scenario
from ._agent_process import DIVERGED
from ._signals import interruptible

STOP_TIMEOUT = 5.0
"""Seconds the agents get to exit after SIGTERM before they are killed."""
POLL_INTERVAL = 0.2
"""Seconds between two looks at the logs (progress) while the agents run."""
LOG_TAIL_LINES = 3
STDERR_TAIL_LINES = 20
_LINE_LIMIT = 300

log = logging.getLogger("hemesh.spawn")


def run_deadline(scenario: Scenario) -> float:
    """Seconds a whole run may take before the supervisor gives up: every wait of an
    agent is bounded by the scenario's timeouts, so this is a generous multiple."""
    t = scenario.transport
    return t.startup_timeout + 2 * scenario.iterations * t.round_timeout + 60.0


ADVERSARIES_OPTION = "--adversaries"
"""The option of ``hemesh agent`` that makes it play its part in the scenario's
adversaries (colluders' member, target): given to every agent of a scenario with
``[[adversary]]`` entries."""


def agent_command(
    run: RunDir, agent: str, *, run_id: str, algorithm: Algorithm, adversaries: bool = False
) -> list[str]:
    """The command line of one agent process of ``run`` (broker URL from the
    environment); ``adversaries``: with :data:`ADVERSARIES_OPTION`."""
    return [
        sys.executable,
        "-P",  # no working directory on sys.path: a local "scenarios" cannot shadow ours
        "-m",
        "scenarios",
        "agent",
        "--scenario",
        str(run.resolved),
        "--id",
        agent,
        "--run",
        run_id,
        "--out",
        str(run.path),
        "--algorithm",
        algorithm.value,
        *([ADVERSARIES_OPTION] if adversaries else []),
    ]


@dataclass(slots=True)
class _Child:
    """One agent: its current process; its log is followed across restarts."""

    agent: str
    log: Path
    process: asyncio.subprocess.Process
    stderr: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=STDERR_TAIL_LINES)
    )
    drain: asyncio.Task[None] | None = None
    lines: int = 0
    """Complete lines of the log seen so far (by all of this agent's processes)."""
    offset: int = 0
    steps: int = 0
    """Iterations counted for the progress: lines past the first (k = 0), except
    lines for an iteration already counted (a resumed agent logs some again)."""
    reached: int = 0
    """The highest iteration ``k`` seen in the log."""
    restarts: int = 0

    def read_log(self) -> int:
        """Read the complete lines appended since the last call; returns how many new
        steps they add (``steps``), counting no iteration twice."""
        try:
            with self.log.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return 0
        whole = data.rfind(b"\n") + 1
        self.offset += whole
        before = self.steps
        for line in data[:whole].splitlines():
            self.lines += 1
            k = _iteration(line)  # None (not a record): the line counts, as it always did
            if k is not None and k <= self.reached:
                continue
            if k is not None:
                self.reached = k
            if self.lines > 1:  # the first line is the initial state (k = 0)
                self.steps += 1
        return self.steps - before

    def log_tail(self) -> list[str]:
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return []
        return [_shorten(line) for line in lines[-LOG_TAIL_LINES:]]

    def exit_status(self) -> str:
        code = self.process.returncode
        if code is None:
            return "is still running"
        if code < 0:
            try:
                return f"was killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with code {code}"


def _iteration(line: bytes) -> int | None:
    """The iteration ``k`` of a log line, or None if it is not a record."""
    record = parse_record(line, iteration=True)
    return None if record is None else int(record["k"])


def _die_with_parent() -> None:  # pragma: no cover  (runs in the child, before exec)
    """Linux: the kernel sends the agent SIGTERM should this process die without
    stopping it (SIGKILL), so that no agent outlives its supervisor."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _shorten(line: str) -> str:
    return line if len(line) <= _LINE_LIMIT else line[: _LINE_LIMIT - 3] + "..."


class Supervisor:
    """Starts one process per agent, follows their logs, and fails fast.

    ``await supervisor.run()`` returns once every agent exited with 0, or raises
    :class:`RunFailed` describing the first that did not (every other agent
    is then stopped by PID). An agent that exits non-zero or dies by a signal is
    first started again, with the same command line and environment, up to
    ``restarts`` times (a warning each time); its log is followed on from where
    it was. Whatever happens, no child outlives ``run()``.
    """

    def __init__(
        self,
        run: RunDir,
        commands: Sequence[Sequence[str]],
        *,
        agents: Sequence[str],
        envs: Sequence[dict[str, str]] | None = None,
        deadline: float,
        progress: Callable[[int], None] | None = None,
        restarts: int = 0,
    ) -> None:
        if len(commands) != len(agents) or (envs is not None and len(envs) != len(agents)):
            raise BadInput(f"{len(commands)} commands and environments for {len(agents)} agents")
        if restarts < 0:
            raise BadInput(f"restarts must be >= 0, got {restarts}")
        self._run = run
        self._commands = [list(c) for c in commands]
        self._agents = list(agents)
        self._envs = list(envs) if envs is not None else [None] * len(agents)
        self._deadline = deadline
        self._progress = progress
        self._restarts = restarts
        self._children: list[_Child] = []
        self._drains: list[asyncio.Task[None]] = []
        """Every stderr reader, a restarted agent's earlier processes' too."""

    @property
    def pids(self) -> dict[str, int]:
        """The process ids of the agents' current processes (once started)."""
        return {c.agent: c.process.pid for c in self._children}

    @property
    def restarts(self) -> dict[str, int]:
        """How many times each agent was restarted (once started)."""
        return {c.agent: c.restarts for c in self._children}

    async def run(self) -> None:
        """Supervise the agents to the end; SIGINT or SIGTERM stop them by PID and raise
        :class:`Interrupted` (unless an outer :func:`interruptible` handles the signals)."""

        def stopped(signum: signal.Signals) -> str:
            return f"run failed: stopped by {signum.name}; agents stopped"

        await interruptible(self._supervise(), message=stopped)

    async def _supervise(self) -> None:
        try:
            for agent, command, env in zip(self._agents, self._commands, self._envs, strict=True):
                await self._start(agent, command, env)
            await self._watch()
        finally:
            await self._stop_all()

    async def _start(self, agent: str, command: list[str], env: dict[str, str] | None) -> None:
        process = await self._spawn(agent, command, env)
        child = _Child(agent, self._run.log(agent), process)
        self._children.append(child)
        self._follow_stderr(child)

    async def _restart(self, child: _Child) -> None:
        """Start ``child``'s command again, after its process exited non-zero."""
        await self._settle(child)
        child.restarts += 1
        last = f"; its stderr ended with: {child.stderr[-1]}" if child.stderr else ""
        log.warning(
            "agent %s (pid %d) %s; restarting (%d of %d)%s",
            child.agent,
            child.process.pid,
            child.exit_status(),
            child.restarts,
            self._restarts,
            last,
        )
        i = self._agents.index(child.agent)
        child.process = await self._spawn(child.agent, self._commands[i], self._envs[i])
        # a failure message shows the stderr of the process that failed
        child.stderr = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._follow_stderr(child)

    async def _spawn(
        self, agent: str, command: list[str], env: dict[str, str] | None
    ) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # a terminal's Ctrl-C goes to us; we stop them
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except OSError as exc:
            raise RunFailed(f"cannot start agent {agent}: {exc}") from exc

    def _follow_stderr(self, child: _Child) -> None:
        stream = child.process.stderr
        assert stream is not None
        name = f"{child.agent}.stderr.{child.process.pid}"
        child.drain = asyncio.create_task(self._drain(stream, child.stderr), name=name)
        self._drains.append(child.drain)

    @staticmethod
    async def _drain(stream: asyncio.StreamReader, tail: collections.deque[str]) -> None:
        while line := await stream.readline():
            tail.append(_shorten(line.decode(errors="replace").rstrip()))

    @staticmethod
    async def _settle(child: _Child) -> None:
        """Let the stderr reader of ``child``'s exited process catch up (bounded)."""
        if child.drain is not None:  # its stderr ends with the process
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(child.drain), timeout=1.0)

    async def _watch(self) -> None:
        waits = {
            asyncio.create_task(c.process.wait(), name=f"{c.agent}.wait"): c for c in self._children
        }
        pending = set(waits)
        ends = time.monotonic() + self._deadline
        try:
            while pending:
                left = ends - time.monotonic()
                if left <= 0:
                    running = ", ".join(waits[t].agent for t in pending)
                    raise RunFailed(
                        f"run failed: not finished within {self._deadline:g} s; "
                        f"agents still running: {running}"
                    )
                done, pending = await asyncio.wait(
                    pending, timeout=min(POLL_INTERVAL, left), return_when=asyncio.FIRST_COMPLETED
                )
                self._report_progress()
                for task in done:
                    child = waits[task]
                    if child.process.returncode == 0:
                        continue
                    diverged = await self._diverged(child)
                    if diverged is not None:  # no restart: it would diverge again
                        raise RunFailed(diverged)
                    if child.restarts >= self._restarts:
                        raise RunFailed(await self._failure(child))
                    await self._restart(child)
                    again = asyncio.create_task(
                        child.process.wait(), name=f"{child.agent}.wait.{child.restarts}"
                    )
                    waits[again] = child
                    pending.add(again)
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        self._report_progress()

    def _report_progress(self) -> None:
        for child in self._children:
            steps = child.read_log()
            if steps and self._progress is not None:
                self._progress(steps)

    async def _diverged(self, child: _Child) -> str | None:
        """The line of ``child``'s run diverging, if its stderr ends with one."""
        await self._settle(child)
        for line in reversed(child.stderr):
            text = line.removeprefix("error: ")
            if text.startswith(DIVERGED):
                return text
        return None

    async def _failure(self, child: _Child) -> str:
        await self._settle(child)
        child.read_log()
        lines = [
            f"run failed: agent {child.agent} (pid {child.process.pid}) {child.exit_status()}; "
            f"its log {child.log} has {child.lines} complete line(s)"
        ]
        tail = child.log_tail()
        if tail:
            lines.append(f"last lines of the log of {child.agent}:")
            lines += [f"  {line}" for line in tail]
        if child.stderr:
            lines.append(f"stderr of {child.agent} ends with:")
            lines += [f"  {line}" for line in child.stderr]
        if child.restarts:
            lines.append(f"{child.agent} had been restarted {child.restarts} time(s): none left")
        return "\n".join(lines)

    async def _stop_all(self) -> None:
        """SIGTERM every child still running, wait a bounded time, SIGKILL the rest."""
        await stop_processes([c.process for c in self._children], grace=STOP_TIMEOUT)
        await settle_tasks(self._drains, grace=STOP_TIMEOUT)
