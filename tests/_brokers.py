"""Real brokers for tests: free ports and a Mosquitto process with a generated config.

Imported as ``tests._brokers``: ``tests`` is a package, so pytest puts the project root
on ``sys.path`` when it imports ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import pytest

from transport import BrokerAddress

REQUIRE_MOSQUITTO = "HEMESH_REQUIRE_MOSQUITTO"
STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the OS picks it; racy only in theory)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def find_mosquitto() -> str | None:
    """The mosquitto binary: on PATH, or in the sbin directories PATH often lacks."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    return shutil.which("mosquitto", path=search)


def require_mosquitto() -> str:
    """The binary, or skip the test (fail it when HEMESH_REQUIRE_MOSQUITTO=1)."""
    binary = find_mosquitto()
    if binary is None:
        reason = "mosquitto binary not found (install mosquitto)"
        if os.environ.get(REQUIRE_MOSQUITTO) == "1":
            pytest.fail(f"{reason}; {REQUIRE_MOSQUITTO}=1 requires it")
        pytest.skip(reason)
    return binary


class Mosquitto:
    """A Mosquitto process on a free loopback port, stopped by PID on exit."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self._binary = binary
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None
        self._port = 0

    @property
    def address(self) -> BrokerAddress:
        return BrokerAddress(host="127.0.0.1", port=self._port)

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def log_path(self) -> Path:
        return self._workdir / "mosquitto.log"

    def __enter__(self) -> Mosquitto:
        for _ in range(3):  # another process may take the free port before mosquitto binds it
            if self._start():
                return self
        pytest.fail(f"mosquitto would not start:\n{self._log_tail()}")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop the broker by PID and start a new one on the same port and config."""
        self.stop()
        if not self._launch():
            pytest.fail(f"mosquitto would not restart on port {self._port}:\n{self._log_tail()}")

    def _start(self) -> bool:
        self._port = free_port()
        config = self._workdir / "mosquitto.conf"
        config.write_text(
            f"listener {self._port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "set_tcp_nodelay true\n"
            "persistence false\n"
            "log_dest stderr\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        return self._launch()

    def _launch(self) -> bool:
        config = self._workdir / "mosquitto.conf"
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [self._binary, "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self._port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.01)
        self.stop()
        pytest.fail(f"mosquitto did not listen within {STARTUP_TIMEOUT} s:\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"
