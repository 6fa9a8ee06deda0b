"""A container engine and compose projects for the container tests (issue #15).

The engine is podman with podman-compose, or Docker with its compose plugin: whichever
is found first (``HEMESH_CONTAINER_ENGINE=podman|docker`` picks one). Without one the
tests skip with the reason; ``HEMESH_REQUIRE_CONTAINERS=1`` (CI) fails them instead.
Images are never pulled here: ``.ci/container-images`` makes stand-ins for the base
images on a machine that cannot reach a registry.

A :class:`Project` is one compose project, brought up by the name the test gives it
and taken down with everything labelled with that name (containers, pods, volumes,
networks), checked gone afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REQUIRE_CONTAINERS = "HEMESH_REQUIRE_CONTAINERS"
ENGINE_ENV = "HEMESH_CONTAINER_ENGINE"
PROJECT_LABEL = "com.docker.compose.project"
"""Set by Docker Compose and by podman-compose on everything a project creates."""
SERVICE_LABEL = "com.docker.compose.service"
BUILD_TIMEOUT = 900.0
COMMAND_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class Engine:
    """A container engine: its binary and the compose command that drives it."""

    name: str
    binary: str
    compose: tuple[str, ...]

    def run(
        self, *args: str, timeout: float = COMMAND_TIMEOUT, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``<engine> ARGS``, bounded by ``timeout``; a failure shows its output."""
        return _run([self.binary, *args], timeout=timeout, check=check)

    def build(self, context: Path, tag: str) -> None:
        """Build ``context``'s Dockerfile as ``tag``. Under podman the machine's CA bundle
        is mounted read-only and pip pointed at it (pip reaches PyPI only through a TLS
        proxy whose CA is in that bundle); the Dockerfile is used unchanged."""
        args = ["build", "-t", tag]
        bundle = ca_bundle()
        if self.name == "podman" and bundle is not None:
            args += ["-v", f"{bundle.parent}:{bundle.parent}:ro", "--env", f"PIP_CERT={bundle}"]
        self.run(*args, str(context), timeout=BUILD_TIMEOUT)


def _run(
    command: Sequence[str], *, timeout: float, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def ca_bundle() -> Path | None:
    """The CA bundle this machine's TLS clients use (pip's, else OpenSSL's default)."""
    for candidate in (
        os.environ.get("PIP_CERT"),
        os.environ.get("SSL_CERT_FILE"),
        ssl.get_default_verify_paths().cafile,
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None


def _works(command: Sequence[str]) -> bool:
    try:
        return _run(command, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def find_engine() -> Engine | None:
    """podman with podman-compose, else Docker with ``docker compose``; None if neither
    works (``HEMESH_CONTAINER_ENGINE`` restricts the choice to one)."""
    wanted = os.environ.get(ENGINE_ENV)
    if wanted not in (None, "", "podman", "docker"):
        pytest.fail(f"{ENGINE_ENV}={wanted!r}: must be podman or docker")
    podman, podman_compose = shutil.which("podman"), shutil.which("podman-compose")
    if wanted in (None, "", "podman") and podman and podman_compose and _works([podman, "info"]):
        return Engine("podman", podman, (podman_compose,))
    docker = shutil.which("docker")
    if (
        wanted in (None, "", "docker")
        and docker
        and _works([docker, "info"])
        and _works([docker, "compose", "version"])
    ):
        return Engine("docker", docker, (docker, "compose"))
    return None


def require_engine() -> Engine:
    """The engine, or skip (fail under ``HEMESH_REQUIRE_CONTAINERS=1``)."""
    engine = find_engine()
    if engine is None:
        reason = (
            "no container engine: needs podman with podman-compose, or docker with its "
            "compose plugin (see .ci/container-images)"
        )
        if os.environ.get(REQUIRE_CONTAINERS) == "1":
            pytest.fail(f"{reason}; {REQUIRE_CONTAINERS}=1 requires one")
        pytest.skip(reason)
    return engine


@dataclass(frozen=True, slots=True)
class AgentExit:
    """An agent container once it stopped for good."""

    service: str
    exit_code: int
    restarts: int
    output: str
    """What its process printed (all its runs; the last line is ``hemesh agent``'s)."""


class Project:
    """One compose project of ``compose_file``, named ``name``."""

    def __init__(self, engine: Engine, compose_file: Path, name: str) -> None:
        self.engine = engine
        self.file = compose_file
        self.name = name

    def compose(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
        command = [*self.engine.compose, "-p", self.name, "-f", str(self.file), *args]
        return _run(command, timeout=timeout, cwd=self.file.parent).stdout

    def up(self) -> None:
        """Start every service in the background from images already built."""
        self.compose("up", "-d", "--no-build", timeout=300)

    def container(self, service: str) -> str:
        """The id of ``service``'s container."""
        out = self.engine.run(
            "ps",
            "-a",
            "-q",
            "--filter",
            f"label={PROJECT_LABEL}={self.name}",
            "--filter",
            f"label={SERVICE_LABEL}={service}",
        ).stdout.split()
        if len(out) != 1:
            pytest.fail(f"project {self.name}: {len(out)} containers for service {service}")
        return out[0]

    def state(self, service: str) -> dict[str, object]:
        """The engine's ``State`` of the service's container, plus its restart count."""
        (info,) = json.loads(self.engine.run("inspect", self.container(service)).stdout)
        state: dict[str, object] = dict(info["State"])
        state["RestartCount"] = int(info.get("RestartCount", 0))
        return state

    def volume_path(self, service: str, destination: str) -> Path:
        """Where the volume mounted at ``destination`` in the service's container lies on
        this machine (rootful engines: the test reads the logs while the run goes on)."""
        (info,) = json.loads(self.engine.run("inspect", self.container(service)).stdout)
        for mount in info["Mounts"]:
            if mount["Destination"] == destination:
                return Path(mount["Source"])
        pytest.fail(f"{service}: nothing mounted at {destination}")

    def wait_for_exit(self, services: Sequence[str], *, timeout: float) -> list[AgentExit]:
        """Wait until each service's container has exited and its restart policy will not
        start it again (exit 0, or its restarts used up); ``timeout`` bounds the wait."""
        deadline = time.monotonic() + timeout
        pending = list(services)
        done: dict[str, AgentExit] = {}
        while pending:
            for service in list(pending):
                state = self.state(service)
                if state["Status"] != "exited":
                    continue
                code = int(str(state["ExitCode"]))
                restarts = int(str(state["RestartCount"]))
                if code != 0 and restarts < 3:  # on-failure:3 will start it again
                    continue
                output = self.engine.run("logs", self.container(service)).stdout
                done[service] = AgentExit(service, code, restarts, output)
                pending.remove(service)
            if pending and time.monotonic() > deadline:
                logs = {s: self.logs(s)[-2000:] for s in pending}
                pytest.fail(f"still running after {timeout:.0f} s: {pending}\n{logs}")
            if pending:
                time.sleep(0.5)
        return [done[s] for s in services]

    def stop(self, service: str, *, timeout: int = 30) -> AgentExit:
        """Stop the service's container (SIGTERM, then SIGKILL after ``timeout`` s), as
        ``docker compose stop SERVICE`` does; how it ended."""
        self.engine.run("stop", "-t", str(timeout), self.container(service))
        state = self.state(service)
        code, restarts = int(str(state["ExitCode"])), int(str(state["RestartCount"]))
        return AgentExit(service, code, restarts, self.logs(service))

    def logs(self, service: str) -> str:
        result = self.engine.run("logs", self.container(service), check=False)
        return result.stdout + result.stderr

    def copy_out(self, service: str, source: str, destination: Path) -> None:
        """``<engine> cp`` from the (exited) container: the volume's files come along."""
        destination.mkdir(parents=True, exist_ok=True)
        self.engine.run("cp", f"{self.container(service)}:{source}", str(destination))

    def down(self) -> list[str]:
        """``compose down -v``, then remove whatever still carries the project's label;
        returns what was still there afterwards (nothing, when all went well)."""
        _run(
            [*self.engine.compose, "-p", self.name, "-f", str(self.file), "down", "-v"],
            timeout=COMMAND_TIMEOUT,
            check=False,
            cwd=self.file.parent,
        )
        label = f"label={PROJECT_LABEL}={self.name}"
        kinds = [("container", ["rm", "-f"]), ("volume", ["rm", "-f"]), ("network", ["rm"])]
        if self.engine.name == "podman":
            kinds.insert(1, ("pod", ["rm", "-f"]))
        for kind, remove in kinds:
            for item in self._labelled(kind, label):
                self.engine.run(kind, *remove, item, check=False)
        return [f"{kind} {item}" for kind, _ in kinds for item in self._labelled(kind, label)]

    def _labelled(self, kind: str, label: str) -> list[str]:
        args = ["ps", "-a"] if kind == "container" else [kind, "ls"]
        result = self.engine.run(*args, "-q", "--filter", label, check=False)
        return result.stdout.split()


BLAS_KERNEL = "OPENBLAS_CORETYPE"
"""Which OpenBLAS kernels numpy uses (the CPU's own by default). Kernels differ in the
last bit of a result (the smoothness constant, hence the step sizes): a container
that picks other kernels than the in-process run it is compared with, bit for bit,
must be given this machine's choice."""


def same_blas_kernels(compose_file: Path) -> None:
    """Give every hemesh service of ``compose_file`` this process's :data:`BLAS_KERNEL`
    (when it is set), so that its numbers can equal an in-process run's bit for bit."""
    kernel = os.environ.get(BLAS_KERNEL)
    if kernel is None:
        return
    header = "".join(line for line in compose_file.read_text().splitlines(True) if line[:1] == "#")
    doc = yaml.safe_load(compose_file.read_text())
    for service in doc["services"].values():
        if "environment" in service:  # hemesh's services; the broker has none
            service["environment"][BLAS_KERNEL] = kernel
    compose_file.write_text(header + yaml.safe_dump(doc, sort_keys=False))


@contextlib.contextmanager
def project(engine: Engine, compose_file: Path, name: str) -> Iterator[Project]:
    """The project, taken down on exit; anything left of it fails the test."""
    started = Project(engine, compose_file, name)
    try:
        yield started
    finally:
        left = started.down()
        if left:
            pytest.fail(f"project {name}: still there after down: {left}")
