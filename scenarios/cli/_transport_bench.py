"""``hemesh bench``'s transport rows: what moving the ciphertexts costs next to the math.

(e) chunking: one agent-iteration at d = 10,000 (degree 4) with its messages through
    endpoints with and without a size limit;
(f) ring8 (2048-bit paillier): run wall on the in-memory transport, the embedded broker
    and Mosquitto side by side, at QoS 1 and QoS 0;
(g) the crypto pool's IPC per call and the event loop's own CPU per agent-iteration
    in a 16-agent run (its wall against the crypto floor is row (c)'s);
(h) many agents in one process (degree 4, d = 10): wall per agent-edge against the
    16-agent figure.

Runs use uvloop where it exists (as ``hemesh run`` does). Timings are from this machine
at this moment: on a shared machine only ratios measured in one run mean much.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from agents import (
    FLOAT_EXACT,
    CryptoPool,
    SecretKey,
    decrypt,
    encrypt,
    fixed_base,
    layout_for,
    serve,
)
from transport import Envelope, Kind, MemoryBus, encode, pack_ints, split

from .._errors import BadInput, RunFailed
from ..run import RunResult, run_scenario
from ..spec import parse
from ._bench_scenario import bench_scenario

T = TypeVar("T")
Report = Callable[[str], None]
WEIGHT_BITS = 16
CHUNK_DIM = 10_000
CHUNK_LIMIT = 64 * 1024
"""The size limit of row (e): a d = 10,000 packed message (~190 KB at 2048 bits) is
under the 256 KiB default, so the row forces chunks of 64 KiB."""


@dataclass(frozen=True, slots=True)
class TransportSettings:
    key_bits: int = 2048
    repeats: int = 5
    ring_iterations: int = 200
    floor_iterations: int = 40
    many_agents: int = 256
    many_iterations: int = 100
    ipc_calls: int = 300

    @classmethod
    def quick(cls) -> TransportSettings:
        return cls(
            repeats=2,
            ring_iterations=30,
            floor_iterations=15,
            many_agents=64,
            many_iterations=15,
            ipc_calls=100,
        )


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # Windows: no uvloop
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- (e) chunking -----------------------------------------------------------------------


def _iteration_messages(key_bits: int, keys: list[SecretKey]) -> tuple[float, list[bytes]]:
    """Agent 0's crypto work in one d = 10,000 iteration with 4 neighbours (its request,
    4 neighbours' requests served, its 4 replies opened), timed once, and the ciphertext
    blobs it sends (its request, its 4 replies). The neighbours' requests and the replies
    to agent 0 are made beforehand, one of each reused (the same work per ciphertext)."""
    me, other = keys[0], keys[1]
    layout = layout_for(
        value_bound=FLOAT_EXACT, weight_bound=2**WEIGHT_BITS, modulus_bits=key_bits - 1
    )
    x = [(i * 7919) % (2**40) - 2**39 for i in range(CHUNK_DIM)]
    weights = [2**WEIGHT_BITS - 1] * layout.chunks(CHUNK_DIM)
    mine, theirs = fixed_base(me), fixed_base(other)
    packed = layout.pack(x)
    request = encrypt(other, [m % other.public.n for m in packed], base=theirs.h)
    own_residues = [m % me.public.n for m in packed]
    to_me = serve(mine, encrypt(me, own_residues), own_residues, weights)
    started = time.perf_counter()
    own = encrypt(me, own_residues, base=mine.h)
    replies = [
        serve(theirs, request, [m % other.public.n for m in packed], weights) for _ in range(4)
    ]
    for _ in range(4):
        decrypt(me, to_me)
    crypto = time.perf_counter() - started
    width = (2 * key_bits + 7) // 8
    blobs = [pack_ints(own, width), *(pack_ints(r, width) for r in replies)]
    return crypto, blobs


async def _exchange(blobs: list[bytes], limit: int | None, repeats: int) -> float:
    """Median seconds to send one iteration's messages both ways (4 requests out and
    in, 4 replies out and in) through memory-bus endpoints, encode to decode."""
    bus = MemoryBus("bench", max_message_bytes=limit)
    names = [f"n{i}" for i in range(4)]
    times = []
    me = bus.endpoint("me", neighbours=names)
    others = [bus.endpoint(n, neighbours=["me"]) for n in names]
    async with me:
        for other in others:
            await other.__aenter__()
        try:
            for k in range(repeats):
                started = time.perf_counter()
                for name, other, blob in zip(names, others, blobs[1:], strict=True):
                    await me.send(_envelope(k, "me", name, Kind.REQUEST, blobs[0]))
                    await other.send(_envelope(k, name, "me", Kind.REPLY, blob))
                for other in others:
                    await other.receive()
                for _ in others:
                    await me.receive()
                times.append(time.perf_counter() - started)
        finally:
            for other in others:
                await other.__aexit__(None, None, None)
    return statistics.median(times)


def _envelope(k: int, sender: str, receiver: str, kind: Kind, blob: bytes) -> Envelope:
    return Envelope(
        run="bench", iteration=k, sender=sender, receiver=receiver, kind=kind, payload={"c": blob}
    )


def chunking(settings: TransportSettings, keys: list[SecretKey]) -> dict[str, Any]:
    """(e) A d = 10,000 agent-iteration's cost with and without a size limit."""
    crypto, blobs = _iteration_messages(settings.key_bits, keys)
    repeats = max(5, settings.repeats * 4)
    whole = _run_async(_exchange(blobs, None, repeats))
    chunked = _run_async(_exchange(blobs, CHUNK_LIMIT, repeats))
    encoded = encode(_envelope(0, "me", "n0", Kind.REQUEST, blobs[0]))
    return {
        "dim": CHUNK_DIM,
        "message_bytes": len(encoded),
        "limit_bytes": CHUNK_LIMIT,
        "frames_per_message": len(split(encoded, CHUNK_LIMIT, message_id=0)),
        "crypto_s": crypto,
        "messages_whole_s": whole,
        "messages_chunked_s": chunked,
        "overhead": (chunked - whole) / (crypto + whole),
    }


# --- (f) ring8 over each transport --------------------------------------------------------


def _ring8(key_bits: int, iterations: int, transport: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "bench_ring8",
        "seed": 1,
        "iterations": iterations,
        "topology": {"kind": "ring", "n": 8},
        "problem": {
            "kind": "least_squares",
            "dim": 5,
            "samples": 40,
            "noise": 0.1,
            "heterogeneity": 0.1,
            "batch_size": 8,
        },
        "algorithm": {"kind": "paillier"},
        "crypto": {"key_bits": key_bits, "insecure_keys": key_bits < 2048},
        "transport": transport,
        "output": {"dir": "/tmp/hemesh-bench"},
    }


def _timed_run(doc: dict[str, Any]) -> tuple[RunResult, float]:
    """The run, and this process's CPU seconds during it."""
    before = _cpu()
    (result,) = _run_async(run_scenario(parse(doc, source="bench")))
    return result, _cpu() - before


def ring8(settings: TransportSettings) -> dict[str, Any]:
    """(f) ring8's run wall on each transport: same seed, same trajectory."""
    variants: list[tuple[str, dict[str, Any]]] = [
        ("memory", {"kind": "memory"}),
        ("embedded", {"kind": "mqtt", "broker": "embedded"}),
        ("embedded_qos0", {"kind": "mqtt", "broker": "embedded", "qos": 0}),
        ("mosquitto", {"kind": "mqtt", "broker": "mosquitto"}),
        ("mosquitto_qos0", {"kind": "mqtt", "broker": "mosquitto", "qos": 0}),
    ]
    rows: dict[str, Any] = {"iterations": settings.ring_iterations}
    for name, transport in variants:
        try:
            result, cpu = _timed_run(_ring8(settings.key_bits, settings.ring_iterations, transport))
        except (BadInput, RunFailed) as exc:  # e.g. no mosquitto on this machine
            rows[name] = {"error": str(exc)}
            continue
        rows[name] = {
            "wall_s": result.summary["wall_seconds"],
            "messages": result.summary["messages_sent"],
            "loop_cpu_s": cpu,
            "mse_final": result.summary["mse_final"],
        }
    memory = rows["memory"]["wall_s"]
    for name, _ in variants[1:]:
        row = rows[name]
        if isinstance(row, dict) and "wall_s" in row:
            row["ratio_memory"] = row["wall_s"] / memory
    return rows


# --- (g) IPC, event loop, crypto floor ------------------------------------------------


async def _ipc(calls: int, sizes: tuple[int, ...]) -> dict[str, float]:
    out = {}
    async with CryptoPool(1) as pool:
        for size in sizes:
            data = bytes(size)
            await pool.echo(data)
            started = time.perf_counter()
            for _ in range(calls):
                await pool.echo(data)
            out[f"{size}"] = (time.perf_counter() - started) / calls
    return out


def _agents_run(agents: int, iterations: int, key_bits: int) -> tuple[RunResult, float]:
    # a long round timeout: a loaded machine must not skip edges of the timed runs
    return _timed_run(bench_scenario(agents, iterations, key_bits, round_timeout=600))


def loop_and_floor(settings: TransportSettings) -> dict[str, Any]:
    """(g) The event loop's share of a 16-agent run (its wall against the crypto floor is
    row (c)'s, with the per-operation medians of row (b)). The loop's CPU per
    agent-iteration is taken in steady state: this process's CPU over the run
    less that of the same run a quarter as long, per agent-iteration of difference (the
    set-up of a run, its identities, keys, journals and the summary, is the same in
    both); the whole run's CPU per agent-iteration is given beside it."""
    workers = os.cpu_count() or 1
    ipc = _run_async(_ipc(settings.ipc_calls, (64, 4096, 65536)))
    short = max(1, settings.floor_iterations // 4)
    _, short_cpu = _agents_run(16, short, settings.key_bits)
    result, cpu = _agents_run(16, settings.floor_iterations, settings.key_bits)
    ops = result.crypto_ops or {}
    calls = ops["encryptions"] + ops["serves"] + ops["decryptions"]  # ciphertexts
    wall = result.summary["wall_seconds"]
    agent_iterations = 16 * settings.floor_iterations
    longer = 16 * (settings.floor_iterations - short)
    steady = (cpu - short_cpu) / longer if longer else None
    return {
        "agents": 16,
        "iterations": settings.floor_iterations,
        "workers": workers,
        "ipc_per_call_s": ipc,
        "ciphertext_ops": calls,
        "wall_s": wall,
        "loop_cpu_s": cpu,
        "loop_cpu_run_per_agent_iteration_s": cpu / agent_iterations,
        "loop_cpu_per_agent_iteration_s": steady,
    }


# --- (h) many agents ----------------------------------------------------------------------


def many_agents(settings: TransportSettings, floor_row: dict[str, Any]) -> dict[str, Any]:
    """(h) Wall per agent-edge of a large in-process run against the 16-agent run's."""
    agents, iterations = settings.many_agents, settings.many_iterations
    result, cpu = _agents_run(agents, iterations, settings.key_bits)
    wall = result.summary["wall_seconds"]
    per_edge = wall / (agents * 4 * iterations)
    small = floor_row["wall_s"] / (16 * 4 * floor_row["iterations"])
    return {
        "agents": agents,
        "iterations": iterations,
        "wall_s": wall,
        "loop_cpu_s": cpu,
        "wall_per_agent_edge_iteration_s": per_edge,
        "sixteen_per_agent_edge_iteration_s": small,
        "ratio": per_edge / small,
        "skipped_edges": result.summary["skipped_edges"],
    }


def transport_rows(
    settings: TransportSettings, keys: list[SecretKey], report: Report
) -> dict[str, Any]:
    """Rows (e) to (h), printed as they complete."""
    out: dict[str, Any] = {}
    e = out["chunking"] = chunking(settings, keys)
    report(
        f"(e) chunking, d={e['dim']} agent-iteration: crypto {e['crypto_s']:.2f} s, messages "
        f"{e['messages_whole_s'] * 1e3:.1f} ms whole vs {e['messages_chunked_s'] * 1e3:.1f} ms "
        f"in {e['frames_per_message']} frames of {e['limit_bytes'] // 1024} KiB "
        f"(overhead {e['overhead'] * 100:.2f}%)"
    )
    f = out["ring8"] = ring8(settings)
    parts = []
    for name in ("memory", "embedded", "embedded_qos0", "mosquitto", "mosquitto_qos0"):
        row = f[name]
        if "error" in row:
            parts.append(f"{name} failed: {row['error']}")
        else:
            ratio = f" ({row['ratio_memory']:.2f}x)" if "ratio_memory" in row else ""
            parts.append(f"{name} {row['wall_s']:.1f} s{ratio}")
    report(f"(f) ring8, {f['iterations']} iterations, run wall: " + ", ".join(parts))
    g = out["loop_and_floor"] = loop_and_floor(settings)
    ipc = ", ".join(f"{int(k)} B {v * 1e6:.0f} us" for k, v in g["ipc_per_call_s"].items())
    loop = g["loop_cpu_per_agent_iteration_s"]
    steady = "n/a" if loop is None else f"{loop * 1e3:.2f} ms"
    report(
        f"(g) 16 agents, {g['iterations']} iterations: wall {g['wall_s']:.1f} s; event loop "
        f"CPU per agent-iteration {steady} in steady state, "
        f"{g['loop_cpu_run_per_agent_iteration_s'] * 1e3:.2f} ms over the whole run; pool "
        f"IPC per call: {ipc}"
    )
    h = out["many_agents"] = many_agents(settings, g)
    report(
        f"(h) {h['agents']} agents, {h['iterations']} iterations: wall {h['wall_s']:.1f} s, "
        f"{h['wall_per_agent_edge_iteration_s'] * 1e3:.2f} ms per agent-edge-iteration vs "
        f"{h['sixteen_per_agent_edge_iteration_s'] * 1e3:.2f} ms at 16 agents "
        f"({h['ratio']:.2f}x)"
    )
    return out
