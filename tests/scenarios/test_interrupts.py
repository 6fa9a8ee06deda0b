"""SIGINT and SIGTERM stop ``hemesh run`` (tasks and processes, embedded broker and a
per-run Mosquitto) and ``hemesh agent`` alike: one line, exit 128 + the signal, no
process left, no broker secret on disk, and a run directory ``hemesh summarize`` reads.
A SIGKILL, which nothing can see, leaves nothing readable either."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents import AgentError
from scenarios import RunFailed
from scenarios.deploy import agent_failure
from tests._brokers import free_port, require_mosquitto
from tests.scenarios._stopping import (
    assert_all_gone,
    child_env,
    descendants,
    path3,
    secrets_under,
    wait_for_logs,
)
from tests.scenarios.support import (
    hemesh,
    hemesh_command,
    start_hemesh,
    write_identities,
    write_toml,
)
from transport import ConnectionLost

pytestmark = pytest.mark.slow

PARTIAL = re.compile(r"^error: interrupted by (SIG[A-Z]+); run directory (\S+) is partial$")


def _passwords(tree: dict[int, list[str]]) -> tuple[str, ...]:
    """The broker passwords handed to agent processes (in their environment)."""
    found = []
    for pid in tree:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for entry in environ:
            if entry.startswith(b"HEMESH_BROKER="):
                url = entry.split(b"=", 1)[1].decode()
                if m := re.match(r"mqtts?://[^:@/]+:([^@]+)@", url):
                    found.append(m.group(1))
    return tuple(sorted(set(found)))


def _start(
    tmp_path: Path, broker: str, spawn: str, stopped: list[subprocess.Popen[str]]
) -> tuple[subprocess.Popen[str], dict[int, list[str]], tuple[str, ...]]:
    if broker == "mosquitto":
        require_mosquitto()
    scenario = write_toml(tmp_path / "s.toml", path3(tmp_path / "runs", broker))
    run = start_hemesh(
        "run",
        str(scenario),
        "--json",
        "--spawn",
        spawn,
        cwd=tmp_path,
        env=child_env(tmp_path / "tmp"),
    )
    stopped.append(run)
    wait_for_logs(tmp_path / "runs", agents=3, lines=3)
    tree = descendants(run.pid)
    assert any("agents._crypto_worker" in c for c in tree.values())
    return run, tree, _passwords(tree)


@pytest.mark.parametrize("broker", ["embedded", "mosquitto"])
@pytest.mark.parametrize("spawn", ["tasks", "processes"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_signal_stops_the_run_cleanly(
    tmp_path: Path,
    stopped_at_end: list[subprocess.Popen[str]],
    signum: signal.Signals,
    spawn: str,
    broker: str,
) -> None:
    run, tree, passwords = _start(tmp_path, broker, spawn, stopped_at_end)
    if broker == "mosquitto" and spawn == "processes":
        assert len(passwords) == 3  # the agents' own logins, checked for below
    os.kill(run.pid, signum)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 128 + signum, stderr
    (line,) = stderr.strip().splitlines()
    match = PARTIAL.match(line)
    assert match is not None, line
    assert match.group(1) == signum.name
    assert stdout == ""
    assert_all_gone(tree)
    # no secret left anywhere: not in the temporary directory, not in the run directory
    assert list((tmp_path / "tmp").iterdir()) == []
    assert secrets_under(tmp_path, passwords) == []
    # what was logged so far can be read back
    run_dir = Path(match.group(2))
    assert run_dir.is_dir()
    summarized = hemesh("summarize", str(run_dir), "--json", cwd=tmp_path)
    if summarized.returncode == 0:
        (summary,) = json.loads(summarized.stdout)
        assert summary["agents"] == 3
        assert summary["iterations"] >= 2
    else:  # a summarize that wants --partial says so in one line
        assert len(summarized.stderr.strip().splitlines()) == 1, summarized.stderr


@pytest.mark.mosquitto
@pytest.mark.parametrize("spawn", ["tasks", "processes"])
def test_a_sigkill_leaves_no_secret_and_no_process(
    tmp_path: Path, stopped_at_end: list[subprocess.Popen[str]], spawn: str
) -> None:
    run, tree, passwords = _start(tmp_path, "mosquitto", spawn, stopped_at_end)
    os.kill(run.pid, signal.SIGKILL)
    run.communicate(timeout=60)
    assert run.returncode == -signal.SIGKILL
    assert_all_gone(tree, timeout=30)  # the kernel's SIGTERM, or their closed pipes
    assert list((tmp_path / "tmp").iterdir()) == []
    assert secrets_under(tmp_path, passwords) == []


def test_ctrl_c_on_a_terminal_prints_no_traceback(
    tmp_path: Path, stopped_at_end: list[subprocess.Popen[str]]
) -> None:
    """A terminal's Ctrl-C reaches the whole foreground process group: the crypto
    workers ignore it, the run stops them and says so once."""
    scenario = write_toml(tmp_path / "s.toml", path3(tmp_path / "runs", "embedded"))
    run = subprocess.Popen(
        hemesh_command("run", str(scenario), "--json"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        process_group=0,  # its own group, as a shell's foreground job
    )
    stopped_at_end.append(run)
    wait_for_logs(tmp_path / "runs", agents=3, lines=3)
    tree = descendants(run.pid)
    workers = [p for p, c in tree.items() if "agents._crypto_worker" in c]
    assert workers and all(os.getpgid(p) == run.pid for p in workers)  # in the group
    os.killpg(run.pid, signal.SIGINT)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 130
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    (line,) = stderr.strip().splitlines()
    assert PARTIAL.match(line) is not None, line
    assert_all_gone(tree)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_signal_stops_a_lone_agent_cleanly(
    tmp_path: Path, stopped_at_end: list[subprocess.Popen[str]], signum: signal.Signals
) -> None:
    """``hemesh agent`` whose neighbours never come: a signal ends the wait at once."""
    port = free_port()
    scenario = write_toml(tmp_path / "s.toml", path3(tmp_path / "runs", "embedded"))
    broker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "transport.embedded._server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    stopped_at_end.append(broker)
    try:
        assert broker.stdout is not None
        assert broker.stdout.readline().startswith("READY")
        _signal_a_waiting_agent(tmp_path, scenario, port, stopped_at_end, signum)
    finally:
        broker.terminate()
        broker.communicate(timeout=10)  # closes its pipe


def _signal_a_waiting_agent(
    tmp_path: Path,
    scenario: Path,
    port: int,
    stopped_at_end: list[subprocess.Popen[str]],
    signum: signal.Signals,
) -> None:
    out = tmp_path / "runs" / "r1"
    write_identities(out, "r1", 3)
    agent = start_hemesh(
        "agent",
        "--scenario",
        str(scenario),
        "--id",
        "a0",
        "--run",
        "r1",
        "--out",
        str(out),
        "--broker",
        f"mqtt://127.0.0.1:{port}",
        cwd=tmp_path,
        env=child_env(tmp_path / "tmp"),
    )
    stopped_at_end.append(agent)
    deadline = time.monotonic() + 60
    while not any("agents._crypto_worker" in c for c in descendants(agent.pid).values()):
        assert time.monotonic() < deadline, "the agent did not start its crypto worker"
        time.sleep(0.05)
    time.sleep(1.0)  # connected, waiting for its neighbour's key
    tree = descendants(agent.pid)
    agent.send_signal(signum)
    stdout, stderr = agent.communicate(timeout=30)
    assert agent.returncode == 128 + signum, stderr
    assert stderr.strip().splitlines() == [
        f"error: agent a0 interrupted by {signum.name}; run directory {out} is partial"
    ]
    assert stdout == ""
    assert_all_gone(tree)


def test_a_lone_agent_without_a_broker_says_where_and_how_long_in_one_line(
    tmp_path: Path,
) -> None:
    port = free_port()  # nothing listens there
    scenario = write_toml(tmp_path / "s.toml", path3(tmp_path / "runs", "embedded"))
    write_identities(tmp_path / "r1", "r1", 3)
    started = time.monotonic()
    done = hemesh(
        "agent",
        "--scenario",
        str(scenario),
        "--id",
        "a0",
        "--run",
        "r1",
        "--out",
        str(tmp_path / "r1"),
        "--broker",
        f"mqtt://127.0.0.1:{port}",
        cwd=tmp_path,
        timeout=60,
    )
    took = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(
        f"error: agent a0: ConnectionLost: cannot reach broker mqtt://127.0.0.1:{port}"
    )
    assert re.search(r"\(gave up after \d+\.\d s\)$", line), line
    assert took < 30


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (RunFailed("agent a0: no data"), "agent a0: RunFailed: no data"),
        (AgentError("agent a0: bad reply"), "agent a0: AgentError: bad reply"),
        (
            ConnectionLost("agent 'a0' lost broker mqtt://h:1 and could not reconnect within 60 s"),
            "agent a0: ConnectionLost: lost broker mqtt://h:1 and could not reconnect within 60 s",
        ),
        (
            ExceptionGroup("loops", [ExceptionGroup("inner", [ConnectionLost("a0: gone")])]),
            "agent a0: ConnectionLost: gone",
        ),
        (ExceptionGroup("loops", [RuntimeError("a bug")]), None),
        (RuntimeError("a bug"), None),
    ],
)
def test_a_failure_line_names_the_agent_once(error: BaseException, line: str | None) -> None:
    assert agent_failure("a0", error) == line
