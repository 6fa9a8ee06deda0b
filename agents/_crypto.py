"""Where Paillier work runs: inline, or in a pool of worker processes.

gmpy2 holds the GIL, so threads give nothing; worker processes do (two give
1.8-2x on two cores). The pool speaks length-prefixed msgpack over the
workers' stdin/stdout, with big integers as bytes: nothing is pickled. Each
worker builds the fixed-base tables of the bases it is sent (a neighbour's published
h, the owner's own h mod p^2 and q^2) on their second use and keeps them: a table
never crosses a process boundary.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

import msgpack

from transport import settle_tasks, stop_processes

from . import _paillier
from ._errors import CryptoError
from ._packing import SlotLayout
from ._paillier import PublicKey, SecretKey

FRAME = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024


@dataclass(slots=True)
class CryptoStats:
    """Ciphertexts produced or consumed by a backend, per operation."""

    keygens: int = 0
    encryptions: int = 0
    serves: int = 0
    """Replies produced (one fresh obfuscator each)."""
    decryptions: int = 0
    aggregated: int = 0
    """Reply ciphertexts folded into a sum before decryption (one short powmod each)."""

    def as_dict(self) -> dict[str, int]:
        return {
            "keygens": self.keygens,
            "encryptions": self.encryptions,
            "serves": self.serves,
            "decryptions": self.decryptions,
            "aggregated": self.aggregated,
        }


class CryptoBackend(Protocol):
    """The Paillier operations an agent awaits."""

    @property
    def stats(self) -> CryptoStats: ...

    async def keygen(self, bits: int, *, insecure: bool = False) -> SecretKey: ...

    async def encrypt(
        self, key: SecretKey, residues: Sequence[int], *, base: int | None = None
    ) -> list[int]: ...

    async def serve(
        self,
        public: PublicKey,
        ciphertexts: Sequence[int],
        residues: Sequence[int],
        weights: Sequence[int],
    ) -> list[int]: ...

    async def serve_packed(
        self,
        public: PublicKey,
        ciphertexts: Sequence[int],
        residues: Sequence[int],
        weights: Sequence[int],
        layout: SlotLayout,
    ) -> list[int]: ...

    async def decrypt(self, key: SecretKey, ciphertexts: Sequence[int]) -> list[int]: ...

    async def decrypt_sum(
        self, key: SecretKey, replies: Sequence[Sequence[int]], weights: Sequence[int]
    ) -> list[int]:
        """Residues of ``sum_j weights[j] * replies[j]``: one decryption per position."""
        ...


class InlineCrypto:
    """Runs each operation on the calling thread: simplest, blocks the event loop.

    For tests with small keys and for one agent per process with nothing else to do.
    Its fixed-base tables (see :mod:`agents._fixed_base`) live in this process.
    """

    def __init__(self, *, table_budget: int | None = None) -> None:
        self.stats = CryptoStats()
        self._tables = _paillier.short_exponent_tables(table_budget)

    async def keygen(self, bits: int, *, insecure: bool = False) -> SecretKey:
        self.stats.keygens += 1
        return _paillier.keygen(bits, insecure=insecure)

    async def encrypt(
        self, key: SecretKey, residues: Sequence[int], *, base: int | None = None
    ) -> list[int]:
        self.stats.encryptions += len(residues)
        return _paillier.encrypt(key, residues, base=base, tables=self._tables)

    async def serve(
        self,
        public: PublicKey,
        ciphertexts: Sequence[int],
        residues: Sequence[int],
        weights: Sequence[int],
    ) -> list[int]:
        self.stats.serves += len(ciphertexts)
        return _paillier.serve(public, ciphertexts, residues, weights, tables=self._tables)

    async def serve_packed(
        self,
        public: PublicKey,
        ciphertexts: Sequence[int],
        residues: Sequence[int],
        weights: Sequence[int],
        layout: SlotLayout,
    ) -> list[int]:
        self.stats.serves += layout.chunks(len(ciphertexts))
        return _paillier.serve_packed(
            public,
            ciphertexts,
            residues,
            weights,
            slot_bits=layout.slot_bits,
            slots=layout.slots,
            tables=self._tables,
        )

    async def decrypt(self, key: SecretKey, ciphertexts: Sequence[int]) -> list[int]:
        self.stats.decryptions += len(ciphertexts)
        return _paillier.decrypt(key, ciphertexts)

    async def decrypt_sum(
        self, key: SecretKey, replies: Sequence[Sequence[int]], weights: Sequence[int]
    ) -> list[int]:
        out = _paillier.decrypt_sum(key, replies, weights)
        self.stats.decryptions += len(out)
        self.stats.aggregated += len(out) * len(replies)
        return out


def int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


def bytes_int(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _worker_signals() -> None:  # pragma: no cover  (runs in the child, before exec)
    """A worker shares its parent's terminal: a Ctrl-C is for the parent, which stops
    the workers itself (SIGINT ignored from before the interpreter starts, so there is
    no KeyboardInterrupt traceback). On Linux the kernel sends the worker SIGTERM when
    the parent dies without stopping it (a SIGKILL); its stdin closing is the other
    signal, seen between two requests.

    The worker is also made a batch task (``SCHED_BATCH``, same priority): woken by a
    request written to its pipe, it does not preempt the event loop that wrote it, which
    has the next requests to write and the replies to read (measured: the loop lost
    about a tenth of a 16-agent run's wall inside those writes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))


def _retrieve(done: asyncio.Future[Any]) -> None:
    """Mark a call's outcome as seen: its caller may have been cancelled meanwhile."""
    if not done.cancelled():
        done.exception()


class _Worker:
    """One worker process and the calls written to it, answered in the order written:
    a reader task takes each reply off its stdout for the oldest pending call."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pending: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.failed: CryptoError | None = None
        self.reader = asyncio.ensure_future(self._read())

    def send(self, request: dict[str, Any]) -> asyncio.Future[Any]:
        """Write ``request`` (no await: calls are written whole, in order); the future
        of its reply."""
        if self.failed is not None:
            raise self.failed
        stdin = self.process.stdin
        assert stdin is not None
        body = msgpack.packb(request, use_bin_type=True)
        stdin.write(FRAME.pack(len(body)) + body)
        done = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieve)
        self.pending.append(done)
        return done

    async def drain(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        with contextlib.suppress(ConnectionError):  # it died: the reader fails the calls
            await stdin.drain()

    async def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                (size,) = FRAME.unpack(await stdout.readexactly(FRAME.size))
                reply = msgpack.unpackb(await stdout.readexactly(size), raw=False)
                if not self.pending:
                    raise CryptoError(f"crypto worker {self.process.pid} answered no call")
                done = self.pending.popleft()
                if "error" in reply:
                    done.set_exception(CryptoError(f"crypto worker: {reply['error']}"))
                else:
                    done.set_result(reply["ok"])
        except (asyncio.IncompleteReadError, ConnectionError, CryptoError) as exc:
            self._fail(exc)
        except asyncio.CancelledError:
            self._fail(None)
            raise

    def _fail(self, cause: BaseException | None) -> None:
        self.failed = (
            cause
            if isinstance(cause, CryptoError)
            else CryptoError(f"crypto worker {self.process.pid} died")
        )
        while self.pending:
            self.pending.popleft().set_exception(self.failed)


class CryptoPool:
    """A fixed pool of crypto worker processes shared by the agents of one process.

    ``async with CryptoPool(workers=2) as pool:`` starts them; leaving the block
    closes their stdin and waits for them by PID (killing them after a bound). The
    workers ignore SIGINT (a terminal's Ctrl-C is for this process) and, on Linux,
    die with this process.
    Each call is one batch (a whole vector), so IPC stays small next to the math.
    Up to ``depth`` calls are written to a worker at once (to the one with the fewest
    pending): it finds its next request in its pipe when it finishes one, instead of
    idling until the event loop gets round to writing it (``depth=1``: one call per
    worker at a time).
    """

    def __init__(
        self, workers: int | None = None, *, stop_timeout: float = 5.0, depth: int = 2
    ) -> None:
        count = workers if workers is not None else (os.cpu_count() or 1)
        if count < 1:
            raise CryptoError(f"a crypto pool needs at least one worker, got {count}")
        if depth < 1:
            raise CryptoError(f"a crypto pool needs a depth of at least one call, got {depth}")
        self._count = count
        self._depth = depth
        self._stop_timeout = stop_timeout
        self._slots = asyncio.Semaphore(count * depth)
        self._workers: list[_Worker] = []
        self._entered = False
        self._running = False
        self.stats = CryptoStats()

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._workers]

    async def __aenter__(self) -> Self:
        if self._entered:
            raise CryptoError("a CryptoPool cannot be entered twice")
        self._entered = True
        try:
            for _ in range(self._count):
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "agents._crypto_worker",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    preexec_fn=_worker_signals,
                )
                self._workers.append(_Worker(process))
        except BaseException:
            await self._stop()
            raise
        self._running = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _stop(self) -> None:
        self._running = False
        for worker in self._workers:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        processes = [worker.process for worker in self._workers]
        await stop_processes(processes, grace=self._stop_timeout, terminate=False)
        await settle_tasks([w.reader for w in self._workers], grace=self._stop_timeout)

    async def _call(self, request: dict[str, Any]) -> Any:
        if not self._running:
            raise CryptoError("the crypto pool is not running")
        await self._slots.acquire()
        try:
            worker = min(self._workers, key=lambda w: len(w.pending))
            done = worker.send(request)
        except BaseException:
            self._slots.release()
            raise
        # the slot is the worker's until it answers, even if this caller is cancelled:
        # the reply is then taken off the pipe by the reader and dropped
        done.add_done_callback(lambda _: self._slots.release())
        await worker.drain()
        return await asyncio.shield(done)

    async def echo(self, data: bytes) -> bytes:
        """``data`` sent to a worker and back: what one call costs in IPC alone."""
        out: bytes = await self._call({"op": "echo", "data": data})
        return out

    async def keygen(self, bits: int, *, insecure: bool = False) -> SecretKey:
        p, q = await self._call({"op": "keygen", "bits": bits, "insecure": insecure})
        self.stats.keygens += 1
        return SecretKey(bytes_int(p), bytes_int(q))

    async def encrypt(
        self, key: SecretKey, residues: Sequence[int], *, base: int | None = None
    ) -> list[int]:
        request = {"op": "encrypt", **_secret(key), "m": _blobs(residues)}
        if base is not None:
            request["h"] = int_bytes(base)
        out = await self._call(request)
        self.stats.encryptions += len(out)
        return [bytes_int(c) for c in out]

    async def serve(
        self,
        public: PublicKey,
        ciphertexts: Sequence[int],
        residues: Sequence[int],
        weights: Sequence[int],
    ) -> list[int]:
        out = await self._call(
            {
                "op": "serve",
                **_public(public),
                "c": _blobs(ciphertexts),
                "m": _blobs(residues),
                "a": _blobs(weights),
            }
        )
        self.stats.serves += len(out)
        return [bytes_int(c) for c in out]

    async def serve_packed(
        self,
        public: PublicKey,
        ciphertexts: Sequence[int],
        residues: Sequence[int],
        weights: Sequence[int],
        layout: SlotLayout,
    ) -> list[int]:
        out = await self._call(
            {
                "op": "serve_packed",
                **_public(public),
                "c": _blobs(ciphertexts),
                "m": _blobs(residues),
                "a": _blobs(weights),
                "slot_bits": layout.slot_bits,
                "slots": layout.slots,
            }
        )
        self.stats.serves += len(out)
        return [bytes_int(c) for c in out]

    async def decrypt(self, key: SecretKey, ciphertexts: Sequence[int]) -> list[int]:
        out = await self._call({"op": "decrypt", **_secret(key), "c": _blobs(ciphertexts)})
        self.stats.decryptions += len(out)
        return [bytes_int(m) for m in out]

    async def decrypt_sum(
        self, key: SecretKey, replies: Sequence[Sequence[int]], weights: Sequence[int]
    ) -> list[int]:
        request = {
            "op": "decrypt_sum",
            **_secret(key),
            "c": [_blobs(reply) for reply in replies],
            "a": _blobs(weights),
        }
        out = await self._call(request)
        self.stats.decryptions += len(out)
        self.stats.aggregated += len(out) * len(replies)
        return [bytes_int(m) for m in out]


def _public(public: PublicKey) -> dict[str, bytes]:
    fields = {"n": int_bytes(public.n)}
    if public.h is not None:
        fields["h"] = int_bytes(public.h)
    return fields


def _secret(key: SecretKey) -> dict[str, bytes]:
    return {"p": int_bytes(key.p), "q": int_bytes(key.q)}


def _blobs(values: Sequence[int]) -> list[bytes]:
    return [int_bytes(v) for v in values]
