"""Crypto workers and signals: a Ctrl-C is for their parent (they ignore SIGINT), and
they die with their parent even when it is killed without stopping them."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agents import CryptoPool

BITS = 256


def test_a_worker_ignores_sigint_and_keeps_answering() -> None:
    async def main() -> None:
        async with CryptoPool(1) as pool:
            (pid,) = pool.pids
            key = await pool.keygen(BITS, insecure=True)
            os.kill(pid, signal.SIGINT)
            await asyncio.sleep(0.2)
            async with asyncio.timeout(10):
                (c,) = await pool.encrypt(key, [7])
                assert await pool.decrypt(key, [c]) == [7]

    asyncio.run(main())


PARENT = textwrap.dedent(
    """
    import asyncio, sys
    from agents import CryptoPool

    async def main():
        async with CryptoPool(2) as pool:
            print(*pool.pids, flush=True)
            await asyncio.sleep(60)

    asyncio.run(main())
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_a_killed_parent(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert parent.stdout is not None
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert len(workers) == 2
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while alive := [p for p in workers if _alive(p)]:
            assert time.monotonic() < deadline, f"workers outlived their parent: {alive}"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
