"""Agents on many hosts, with network namespaces standing in for the hosts.

Each "host" is a network namespace joined by a veth pair to a bridge in the
root namespace. The addresses come from a private /24 that this fixture picks
among the ones no interface here uses, so every packet stays on this machine's
own veth links. One Mosquitto listens on the bridge's address only; each agent
runs as ``ip netns exec NS python -m scenarios agent ...`` given nothing but the
scenario, its id, the run id and the broker URL.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from scenarios import Run, build_graph, build_problem, find_runs, load, prepare_run, read_log
from tests._brokers import free_port, require_mosquitto

REQUIRE_NETNS = "HEMESH_REQUIRE_NETNS"
HOSTS = 3
STEP_TIMEOUT = 10.0
_SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def cannot(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_NETNS) == "1":
        pytest.fail(f"{reason}; {REQUIRE_NETNS}=1 requires network namespaces")
    pytest.skip(reason)


@dataclass(frozen=True, slots=True)
class Hosts:
    ip: str
    """The ``ip`` binary."""
    broker_host: str
    """The bridge's address in the root namespace."""
    namespaces: list[str]
    addresses: list[str]


def _free_subnet(ip: str) -> str:
    used = subprocess.run(
        [ip, "-4", "-o", "addr"], capture_output=True, text=True, timeout=STEP_TIMEOUT, check=True
    ).stdout
    used += subprocess.run(
        [ip, "-4", "route"], capture_output=True, text=True, timeout=STEP_TIMEOUT, check=True
    ).stdout
    for third in range(64):
        prefix = f"10.213.{third}."
        if prefix not in used:
            return prefix
    cannot("no free 10.213.x.0/24 subnet on this machine")


@pytest.fixture
def netns_hosts() -> Iterator[Hosts]:
    if sys.platform != "linux":
        cannot("network namespaces are a Linux feature")
    if os.geteuid() != 0:
        cannot("creating network namespaces needs root")
    ip = shutil.which("ip", path=_SEARCH)
    if ip is None:
        cannot("no `ip` command (install iproute2)")
    tag = secrets.token_hex(3)
    bridge = f"hmb{tag}"
    namespaces = [f"hemesh-{tag}-{i}" for i in range(HOSTS)]
    root_ends = [f"hmv{tag}{i}" for i in range(HOSTS)]
    subnet = _free_subnet(ip)
    addresses = [f"{subnet}{10 + i}" for i in range(HOSTS)]

    def step(*args: str) -> None:
        subprocess.run([ip, *args], capture_output=True, timeout=STEP_TIMEOUT, check=True)

    try:
        try:
            step("link", "add", bridge, "type", "bridge")
        except subprocess.CalledProcessError as exc:
            cannot(f"cannot create a bridge: {exc.stderr.decode().strip()}")
        step("addr", "add", f"{subnet}1/24", "dev", bridge)
        step("link", "set", bridge, "up")
        for ns, root_end, address in zip(namespaces, root_ends, addresses, strict=True):
            try:
                step("netns", "add", ns)
            except subprocess.CalledProcessError as exc:
                cannot(f"cannot create a network namespace: {exc.stderr.decode().strip()}")
            peer = f"hmp{tag}{ns[-1]}"
            step("link", "add", root_end, "type", "veth", "peer", "name", peer)
            step("link", "set", peer, "netns", ns)
            step("link", "set", root_end, "master", bridge)
            step("link", "set", root_end, "up")
            step("-n", ns, "addr", "add", f"{address}/24", "dev", peer)
            step("-n", ns, "link", "set", peer, "up")
            step("-n", ns, "link", "set", "lo", "up")
        yield Hosts(ip, f"{subnet}1", namespaces, addresses)
    finally:
        for root_end in root_ends:  # deleting one end of a veth pair deletes both
            subprocess.run([ip, "link", "del", root_end], capture_output=True, check=False)
        subprocess.run([ip, "link", "del", bridge], capture_output=True, check=False)
        for ns in namespaces:
            subprocess.run([ip, "netns", "del", ns], capture_output=True, check=False)


@pytest.fixture
def bridge_mosquitto(netns_hosts: Hosts, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Mosquitto in the root namespace, listening on the bridge's address only."""
    binary = require_mosquitto()
    host = netns_hosts.broker_host
    port = free_port(host)
    config = tmp_path / "mosquitto.conf"
    log = tmp_path / "mosquitto.log"
    config.write_text(
        f"listener {port} {host}\nallow_anonymous true\nset_tcp_nodelay true\n"
        "persistence false\nlog_dest stderr\nlog_type error\nlog_type warning\n"
        "log_type notice\nconnection_messages true\n"
    )
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [binary, "-c", str(config)], stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mosquitto did not listen on {host}:{port}:\n{log.read_text()}")
                time.sleep(0.02)
        yield f"mqtt://{host}:{port}", log
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def ring3(path: Path) -> Path:
    path.write_text(
        'name = "ring3"\nseed = 5\niterations = 8\n'
        '[topology]\nkind = "ring"\nn = 3\n'
        "[problem]\ndim = 3\n"
        '[algorithm]\nkind = "clear"\n'
        '[transport]\nbroker = "embedded"\nround_timeout = 10.0\nstartup_timeout = 30.0\n'
    )
    return path


@pytest.mark.mosquitto
def test_agents_in_separate_network_namespaces_complete_a_run(
    netns_hosts: Hosts, bridge_mosquitto: tuple[str, Path], tmp_path: Path
) -> None:
    url, broker_log = bridge_mosquitto
    scenario_file = ring3(tmp_path / "ring3.toml")
    scenario = load(scenario_file)
    graph = build_graph(scenario)
    run, run_id = prepare_run(
        tmp_path / "runs" / "ring3-hosts",
        stamp="hosts",
        scenario=scenario,
        algorithm=scenario.algorithm.kind,
        graph=graph,
        problem=build_problem(scenario, graph.number_of_nodes()),
        source=scenario_file,
    )
    ours = os.readlink("/proc/self/ns/net")
    processes: list[subprocess.Popen[str]] = []
    try:
        # started last to first: they find each other through the retained key topics
        for i in reversed(range(HOSTS)):
            command = [netns_hosts.ip, "netns", "exec", netns_hosts.namespaces[i], sys.executable]
            command += ["-m", "scenarios", "agent", "--scenario", str(scenario_file)]
            command += ["--id", f"a{i}", "--run", run_id, "--out", str(run.path), "--broker", url]
            process = subprocess.Popen(
                command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            processes.append(process)
            assert in_other_namespace(process.pid, ours)
        for process in processes:
            _, stderr = process.communicate(timeout=90)
            assert process.returncode == 0, stderr
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    for i in range(HOSTS):
        records = read_log(run.log(f"a{i}")).records
        assert [r["k"] for r in records] == list(range(9))
        assert all(r["skipped"] == [] for r in records[1:])
    summary = Run.load(find_runs(run.path)[0]).summary()
    assert summary["agents"] == HOSTS
    assert summary["iterations"] == 8
    assert summary["mse_final"] < summary["mse_initial"]
    # the broker saw each agent arrive from its own namespace's address
    seen = broker_log.read_text()
    for address in netns_hosts.addresses:
        assert f"from {address}:" in seen, seen


def in_other_namespace(pid: int, ours: str) -> bool:
    """Whether ``pid`` runs in a network namespace other than ours (once ``ip`` entered it)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if os.readlink(f"/proc/{pid}/ns/net") != ours:
                return True
        except OSError:
            return False
        time.sleep(0.01)
    return False
