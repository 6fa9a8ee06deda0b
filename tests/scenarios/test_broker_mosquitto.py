"""``hemesh broker`` and ``transport.broker = "mosquitto"``, as a user runs them."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import aiomqtt
import pytest

from scenarios import ScenarioError, load, run_scenario
from tests._brokers import free_port, require_mosquitto
from tests.scenarios.support import hemesh

WAIT = 15.0
"""Bound on waiting for the foreground broker to start or stop."""

RING4 = """\
name = "ring4-mosquitto"
seed = 3
iterations = 5

[topology]
kind = "ring"
n = 4

[problem]
kind = "least_squares"
dim = 2
samples = 10

[algorithm]
kind = "{kind}"
baselines = [{baselines}]

[crypto]
key_bits = 256
insecure_keys = true
inline = true

[transport]
kind = "mqtt"
broker = "{broker}"
round_timeout = 5.0
startup_timeout = 10.0

[[adversary]]
kind = "eavesdropper"
name = "wiretap"
"""


def scenario(tmp_path: Path, *, broker: str, kind: str = "paillier", baselines: str = "") -> Path:
    path = tmp_path / f"ring4-{broker}.toml"
    path.write_text(RING4.format(broker=broker, kind=kind, baselines=baselines))
    return path


@pytest.mark.mosquitto
def test_run_with_its_own_mosquitto_completes_each_agent_logged_in_as_itself(
    tmp_path: Path,
) -> None:
    require_mosquitto()
    file = scenario(tmp_path, broker="mosquitto", baselines='"clear"')
    result = hemesh("run", str(file), "-o", str(tmp_path / "out"), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summaries = {s["algorithm"]: s for s in json.loads(result.stdout)}
    assert set(summaries) == {"paillier", "clear"}
    (root,) = (tmp_path / "out").iterdir()
    for algorithm, summary in summaries.items():
        run = root / algorithm
        assert summary["iterations"] == 5
        assert summary["skipped_edges"] == 0
        assert summary["mse_final"] < summary["mse_initial"]
        for agent in ("a0", "a1", "a2", "a3"):
            lines = (run / "logs" / f"{agent}.jsonl").read_text().splitlines()
            assert len(lines) >= 5, agent
        log = (run / "mosquitto.log").read_text()
        # every agent logged in as itself; the eavesdropper (vantage "broker", the
        # default) as the read-everything wiretap
        logins = set(re.findall(r"New client connected from \S+ as (\S+) .*u'(\S+)'\)", log))
        assert logins == {("a0", "a0"), ("a1", "a1"), ("a2", "a2"), ("a3", "a3")} | {
            ("wiretap", "wiretap")
        }
        assert "terminating" in log  # stopped when the run ended
        heard = (run / "adversaries" / "wiretap.record.jsonl").read_text().splitlines()
        assert len(heard) > 20


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


@pytest.mark.mosquitto
def test_broker_command_serves_the_scenario_until_ctrl_c(tmp_path: Path) -> None:
    require_mosquitto()
    file = scenario(tmp_path, broker="mosquitto")
    port = free_port()
    where = tmp_path / "b"
    command = [sys.executable, "-m", "scenarios", "broker", str(file), "--port", str(port)]
    command += ["--run", "r1", "--dir", str(where)]
    errors = tmp_path / "stderr.txt"
    with (
        errors.open("w") as stderr,
        subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True
        ) as process,
    ):
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True)
        reader.start()
        mosquitto_pid = None
        try:
            printed: list[str] = []
            deadline = time.monotonic() + WAIT
            while not printed or "Ctrl-C" not in printed[-1]:
                printed.append(lines.get(timeout=max(0.01, deadline - time.monotonic())))
            text = "".join(printed)
            match = re.search(r"mosquitto pid (\d+) listening on 127\.0\.0\.1:(\d+)", text)
            assert match is not None, text
            mosquitto_pid, listening = int(match.group(1)), int(match.group(2))
            assert listening == port
            creds_file = where / "credentials.json"
            assert str(creds_file) in text
            assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600
            creds = json.loads(creds_file.read_text())
            assert set(creds["users"]) == {"a0", "a1", "a2", "a3", "observer", "wiretap"}
            for user, entry in creds["users"].items():
                assert entry["password"] not in text  # masked on screen
                assert f"mqtt://{user}:***@127.0.0.1:{port}" in text
            asyncio.run(login(port, "a2", creds["users"]["a2"]["password"]))
            with pytest.raises(aiomqtt.MqttError):
                asyncio.run(login(port, "a2", creds["users"]["a1"]["password"]))
        finally:
            process.send_signal(signal.SIGINT)
            try:
                code = process.wait(WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(WAIT)
                raise
            reader.join(WAIT)
        if mosquitto_pid is not None:
            with pytest.raises(ProcessLookupError):
                os.kill(mosquitto_pid, 0)
    assert code == 0, errors.read_text()


async def login(port: int, user: str, password: str) -> None:
    async with aiomqtt.Client("127.0.0.1", port, username=user, password=password, timeout=5):
        pass


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--run", "bad/run"], "--run"),
        (["--host", "a b"], "bind host"),
        (["--port", "0"], "--port"),
    ],
)
def test_broker_command_refuses_bad_input_with_exit_2(
    tmp_path: Path, args: list[str], named: str
) -> None:
    file = scenario(tmp_path, broker="mosquitto")
    result = hemesh("broker", str(file), *args, "--dir", str(tmp_path / "b"), cwd=tmp_path)
    assert result.returncode == 2
    assert named in result.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.asyncio
async def test_run_without_the_mosquitto_binary_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEMESH_MOSQUITTO", str(tmp_path / "no-such-mosquitto"))
    loaded = load(scenario(tmp_path, broker="mosquitto", kind="clear"))
    with pytest.raises(
        ScenarioError, match=re.escape("transport.broker = 'mosquitto': mosquitto not found")
    ):
        await run_scenario(loaded, out=tmp_path / "out")
