"""``hemesh bench``: what the protocol costs, as ratios measured side by side in one run.

(a) encrypt + decrypt per value: hemesh (packed, CRT) against phe one value per
    ciphertext, and against SecretFlow HEU when ``sf-heu`` is installed;
(b) one agent-iteration (degree 4) at d = 10, 100, 1,000 and 10,000, decrypting
    each reply or the weighted sum of the replies, against the same protocol on phe
    with one value per ciphertext (extrapolated per value beyond d = 100);
(c) a whole run's wall time against the crypto floor of its operation count;
(d) scaling over 8 to 64 agents: wall time and messages per second;
(e)-(h) the transport's rows, see :mod:`._transport_bench`.
(i) envelope authentication (seal + verify, issue 13) per agent-iteration at degree 4,
    d = 10, as a share of (b)'s agent-iteration.

Timings are medians of repeated runs on the current machine; only the ratios
between lines measured in the same run mean much on a shared machine.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import platform
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from phe import paillier

from agents import (
    FLOAT_EXACT,
    SHORT_EXPONENT_BITS,
    Authenticator,
    FixedBaseTable,
    SecretKey,
    SlotLayout,
    decrypt,
    decrypt_sum,
    encrypt,
    fixed_base,
    keygen,
    layout_for,
    new_identities,
    serve,
    short_exponent_tables,
)
from transport import Envelope, Kind, pack_ints

from ..run import RunResult, run_scenario
from ..spec import parse
from ._bench_scenario import bench_scenario
from ._transport_bench import TransportSettings, transport_rows

WEIGHT_BITS = 16
Report = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Settings:
    key_bits: int = 2048
    repeats: int = 7
    run_iterations: int = 40
    scaling_agents: tuple[int, ...] = (8, 16, 32, 64)
    scaling_iterations: int = 200
    transport: TransportSettings = field(default_factory=TransportSettings)
    """Rows (e) to (h), see :mod:`._transport_bench`."""
    dims: tuple[int, ...] = (10, 100, 1_000, 10_000)
    """Dimensions of the agent-iteration rows (b)."""

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            repeats=3,
            run_iterations=15,
            scaling_agents=(8, 16),
            scaling_iterations=15,
            transport=TransportSettings.quick(),
            dims=(10, 100),
        )


def _median_seconds(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _layout(bits: int) -> SlotLayout:
    return layout_for(value_bound=FLOAT_EXACT, weight_bound=2**WEIGHT_BITS, modulus_bits=bits - 1)


def _values(count: int, bound: int) -> list[int]:
    return [secrets.randbelow(2 * bound - 1) - bound + 1 for _ in range(count)]


def per_value(settings: Settings, key: SecretKey) -> dict[str, Any]:
    """(a) One encryption plus one decryption, per value."""
    layout = _layout(settings.key_bits)
    n = key.public.n
    packed_plain = [m % n for m in layout.pack(_values(layout.slots, 2**40))]

    base = fixed_base(key).h

    def ours() -> None:
        decrypt(key, encrypt(key, packed_plain, base=base))

    public, private = paillier.generate_paillier_keypair(n_length=settings.key_bits)

    def phe_one() -> None:
        private.decrypt(public.encrypt(123456789))

    result: dict[str, Any] = {
        "slots_per_ciphertext": layout.slots,
        "hemesh_packed_s": _median_seconds(ours, settings.repeats) / layout.slots,
        "phe_s": _median_seconds(phe_one, settings.repeats),
    }
    result["ratio_phe"] = result["phe_s"] / result["hemesh_packed_s"]
    try:
        from heu import phe as heu_phe
    except ImportError:
        result["heu_s"] = None
        result["ratio_heu"] = None
        result["heu"] = "not installed (pip install 'hemesh[bench]')"
        return result
    kit = heu_phe.setup(heu_phe.SchemaType.ZPaillier, settings.key_bits)
    encryptor, decryptor = kit.encryptor(), kit.decryptor()
    plaintext = kit.plaintext(123456789)

    def heu_one() -> None:
        decryptor.decrypt(encryptor.encrypt(plaintext))

    result["heu_s"] = _median_seconds(heu_one, settings.repeats)
    result["ratio_heu"] = result["heu_s"] / result["hemesh_packed_s"]
    return result


DEGREE = 4
NAIVE_MEASURED_UP_TO = 100
"""Beyond this dimension the naive phe protocol is extrapolated per value from d = 10."""


def _iteration_work(
    keys: list[SecretKey], dim: int, layout: SlotLayout, *, aggregate: bool
) -> Callable[[], list[int]]:
    """Agent 0's own work in one iteration with 4 neighbours, in steady state (fixed-base
    tables built): its request, serving the 4 neighbours' requests, and opening their
    4 replies, one decryption each or (``aggregate``) once for their weighted sum.
    The callable returns the opened coupling integers sum_j [a_ij] open(reply_j)."""
    me, neighbours = keys[0], keys[1 : DEGREE + 1]
    tables = short_exponent_tables()
    x = _values(dim, 2**40)
    theirs = [2**WEIGHT_BITS - 1 - j for j in range(DEGREE)]
    mine = [2**WEIGHT_BITS - 11 - j for j in range(DEGREE)]
    my_public = fixed_base(me)
    publics = [fixed_base(k) for k in neighbours]
    n = me.public.n
    requests = [
        encrypt(k, [m % k.public.n for m in layout.pack(x)], base=p.h, tables=tables)
        for k, p in zip(neighbours, publics, strict=True)
    ]
    mine_request = encrypt(me, [m % n for m in layout.pack([-v for v in x])])
    xj = [_values(dim, 2**40) for _ in neighbours]
    replies = [
        serve(my_public, mine_request, [m % n for m in layout.pack(v)], [a] * len(mine_request))
        for v, a in zip(xj, theirs, strict=True)
    ]

    def signed(residues: list[int]) -> list[int]:
        return [v - n if v > n // 2 else v for v in residues]

    def work() -> list[int]:
        encrypt(me, [m % n for m in layout.pack(x)], base=my_public.h, tables=tables)
        for public, request in zip(publics, requests, strict=True):
            residues = [m % public.n for m in layout.pack(x)]
            serve(public, request, residues, [theirs[0]] * len(request), tables=tables)
        if aggregate:
            return layout.unpack(signed(decrypt_sum(me, replies, mine)), dim)
        total = [0] * dim
        for reply, b in zip(replies, mine, strict=True):
            opened = layout.unpack(signed(decrypt(me, reply)), dim)
            total = [t + b * v for t, v in zip(total, opened, strict=True)]
        return total

    expected = [
        sum(b * a * (v[s] - x[s]) for v, a, b in zip(xj, theirs, mine, strict=True))
        for s in range(dim)
    ]
    for _ in range(2):  # warm the tables (built on a base's second use); check the sums
        if work() != expected:
            raise AssertionError("agent-iteration bench: the opened coupling is wrong")
    return work


def naive_iteration(settings: Settings, dim: int) -> float:
    """The same iteration on phe, one value per ciphertext (seconds, measured)."""
    x = _values(dim, 2**40)
    weight = 2**WEIGHT_BITS - 1
    phe_keys = [paillier.generate_paillier_keypair(n_length=settings.key_bits) for _ in range(5)]
    (my_pub, my_priv), others = phe_keys[0], phe_keys[1:]
    phe_requests = [[pub.encrypt(-v) for v in x] for pub, _ in others]
    phe_replies = [[my_pub.encrypt(v) for v in x] for _ in others]

    def naive() -> None:
        [my_pub.encrypt(-v) for v in x]
        for request in phe_requests:
            for c, v in zip(request, x, strict=True):
                reply = (c + v) * weight
                reply.obfuscate()
                reply.ciphertext()
        for reply_list in phe_replies:
            [my_priv.decrypt(c) for c in reply_list]

    return _median_seconds(naive, 1 if dim > 50 else settings.repeats)


def agent_iteration(
    settings: Settings, keys: list[SecretKey], dim: int, *, naive_per_value: float | None = None
) -> dict[str, Any]:
    """(b) Agent 0's work in one iteration at degree 4, per-edge decryption and
    aggregated decryption side by side, against the naive phe protocol (measured up to
    d = 100; beyond, ``naive_per_value`` times d, marked extrapolated)."""
    bits = settings.key_bits - 1
    per_edge_layout = _layout(settings.key_bits)
    summing = layout_for(
        value_bound=FLOAT_EXACT, weight_bound=2 ** (2 * WEIGHT_BITS), modulus_bits=bits, terms=4
    )
    repeats = max(1, settings.repeats // (2 if dim > 50 else 1)) if dim <= 1000 else 1
    per_edge = _median_seconds(
        _iteration_work(keys, dim, per_edge_layout, aggregate=False), repeats
    )
    aggregated = _median_seconds(_iteration_work(keys, dim, summing, aggregate=True), repeats)
    extrapolated = dim > NAIVE_MEASURED_UP_TO
    if extrapolated:
        if naive_per_value is None:
            naive_per_value = naive_iteration(settings, 10) / 10
        naive = naive_per_value * dim
    else:
        naive = naive_iteration(settings, dim)
    return {
        "dim": dim,
        "degree": DEGREE,
        "per_edge_s": per_edge,
        "per_edge_ciphertexts": per_edge_layout.chunks(dim),
        "aggregate_s": aggregated,
        "aggregate_ciphertexts": summing.chunks(dim),
        "phe_naive_s": naive,
        "phe_naive_extrapolated": extrapolated,
        "ratio_per_edge": naive / per_edge,
        "ratio_aggregate": naive / aggregated,
        "hemesh_s": min(per_edge, aggregated),
        "ratio": naive / min(per_edge, aggregated),
    }


def table_memory(key: SecretKey) -> dict[str, int]:
    """Bytes of the fixed-base tables per key: a neighbour's (h mod n^2), and the owner's
    own (h mod p^2 and mod q^2)."""
    public = fixed_base(key)
    assert public.h is not None
    p2, q2 = key.p * key.p, key.q * key.q
    neighbour = FixedBaseTable(public.h, public.nsquare, exponent_bits=SHORT_EXPONENT_BITS)
    own = [FixedBaseTable(public.h % m, m, exponent_bits=SHORT_EXPONENT_BITS) for m in (p2, q2)]
    return {"neighbour_key_bytes": neighbour.nbytes, "own_key_bytes": sum(t.nbytes for t in own)}


def authentication(
    settings: Settings, keys: list[SecretKey], dim: int, iteration_s: float
) -> dict[str, Any]:
    """(i) Agent 0's envelope authentication in one iteration with 4 neighbours: sealing
    its 4 requests and 4 replies, verifying the 4 requests and 4 replies it receives
    (payloads of the real sizes); the skip notices and goodbyes are rarer and smaller."""
    me, neighbours = keys[0], keys[1:5]
    layout = _layout(settings.key_bits)
    x = _values(dim, 2**40)
    ids = [f"a{i}" for i in range(5)]
    roster, identities = new_identities("bench", ids)
    seal = {
        a: Authenticator(
            identities[a], roster, agent=a, run="bench", neighbours=ids[1:] if a == "a0" else ["a0"]
        )
        for a in ids
    }

    def blob(key: SecretKey) -> bytes:
        cts = encrypt(key, [m % key.public.n for m in layout.pack(x)])
        return pack_ints(cts, key.public.ciphertext_bytes)

    def envelope(sender: str, receiver: str, kind: Kind, payload: bytes) -> Envelope:
        return Envelope(
            run="bench",
            iteration=7,
            sender=sender,
            receiver=receiver,
            kind=kind,
            payload={"c": payload},
        )

    outgoing = [envelope("a0", n, Kind.REQUEST, blob(me)) for n in ids[1:]]
    outgoing += [
        envelope("a0", n, Kind.REPLY, blob(k)) for n, k in zip(ids[1:], neighbours, strict=True)
    ]
    incoming = [
        seal[n].seal(envelope(n, "a0", Kind.REQUEST, blob(k)))
        for n, k in zip(ids[1:], neighbours, strict=True)
    ]
    incoming += [seal[n].seal(envelope(n, "a0", Kind.REPLY, blob(me))) for n in ids[1:]]

    def ten() -> None:
        for _ in range(10):
            for e in outgoing:
                seal["a0"].seal(e)
            for e in incoming:
                seal["a0"].verify(e)

    seconds = _median_seconds(ten, settings.repeats) / 10
    return {
        "dim": dim,
        "degree": 4,
        "messages": len(outgoing) + len(incoming),
        "seal_verify_s": seconds,
        "share_of_iteration": seconds / iteration_s,
    }


def op_medians(settings: Settings, key: SecretKey) -> dict[str, float]:
    """Per-ciphertext medians of the operations a run performs, in steady state (the
    fixed-base tables built); ``aggregate``: folding one more reply into a sum."""
    layout = _layout(settings.key_bits)
    public = fixed_base(key)
    tables = short_exponent_tables()
    plain = [m % key.public.n for m in layout.pack(_values(layout.slots, 2**40))]
    (c,) = encrypt(key, plain)
    for _ in range(2):  # build the tables
        encrypt(key, plain, base=public.h, tables=tables)
        serve(public, [c], plain, [65535], tables=tables)
    medians = {
        "encrypt": _median_seconds(
            lambda: encrypt(key, plain, base=public.h, tables=tables), settings.repeats
        ),
        "serve": _median_seconds(
            lambda: serve(public, [c], plain, [65535], tables=tables), settings.repeats
        ),
        "decrypt": _median_seconds(lambda: decrypt(key, [c]), settings.repeats),
    }
    four = _median_seconds(lambda: decrypt_sum(key, [[c]] * 4, [65535] * 4), settings.repeats)
    medians["aggregate"] = max(0.0, (four - medians["decrypt"]) / 4)
    return medians


def _run(doc: dict[str, Any]) -> RunResult:
    (result,) = asyncio.run(run_scenario(parse(doc, source="bench")))
    return result


def whole_run(settings: Settings, medians: dict[str, float]) -> dict[str, Any]:
    """(c) Wall time of a 16-agent run against the crypto floor of its operations."""
    workers = os.cpu_count() or 1
    result = _run(bench_scenario(16, settings.run_iterations, settings.key_bits))
    summary, ops = result.summary, result.crypto_ops or {}
    floor = (
        ops["encryptions"] * medians["encrypt"]
        + ops["serves"] * medians["serve"]
        + ops["decryptions"] * medians["decrypt"]
        + ops.get("aggregated", 0) * medians["aggregate"]
    ) / workers
    return {
        "agents": 16,
        "iterations": settings.run_iterations,
        "workers": workers,
        "operations": ops,
        "wall_s": summary["wall_seconds"],
        "crypto_floor_s": floor,
        "ratio": summary["wall_seconds"] / floor,
    }


def scaling(settings: Settings) -> list[dict[str, Any]]:
    """(d) Wall time and message rate as the network grows (degree 4, d = 10)."""
    rows = []
    for agents in settings.scaling_agents:
        summary = _run(
            bench_scenario(agents, settings.scaling_iterations, settings.key_bits)
        ).summary
        rows.append(
            {
                "agents": agents,
                "iterations": settings.scaling_iterations,
                "wall_s": summary["wall_seconds"],
                "messages_per_s": summary["messages_sent"] / summary["wall_seconds"],
                "wall_per_agent_edge_s": summary["wall_seconds"] / (agents * 4),
            }
        )
    return rows


def agent_iterations(
    settings: Settings, keys: list[SecretKey], report: Report
) -> list[dict[str, Any]]:
    """(b) rows: per-edge and aggregated decryption at each of ``settings.dims``."""
    memory = table_memory(keys[0])
    report(
        f"(b) fixed-base tables: {memory['neighbour_key_bytes'] / 2**20:.2f} MiB per "
        f"neighbour key, {memory['own_key_bytes'] / 2**20:.2f} MiB for the own key"
    )
    rows: list[dict[str, Any]] = [{"table_memory": memory}]
    naive_per_value = None
    for dim in settings.dims:
        b = agent_iteration(settings, keys, dim, naive_per_value=naive_per_value)
        if dim == 10:
            naive_per_value = b["phe_naive_s"] / dim
        rows.append(b)
        naive = "extrapolated per value from d=10" if b["phe_naive_extrapolated"] else "measured"
        report(
            f"(b) agent-iteration d={dim}, degree 4: per-edge {b['per_edge_s'] * 1e3:.1f} ms "
            f"({b['per_edge_ciphertexts']} ct/vector, {b['ratio_per_edge']:.0f}x), aggregated "
            f"{b['aggregate_s'] * 1e3:.1f} ms ({b['aggregate_ciphertexts']} ct/vector, "
            f"{b['ratio_aggregate']:.0f}x); naive phe {b['phe_naive_s'] * 1e3:.0f} ms ({naive})"
        )
    return rows


def iteration_row(rows: list[dict[str, Any]], dim: int) -> dict[str, Any]:
    """The (b) row of dimension ``dim`` (the first of (b)'s rows is the tables' memory),
    or the smallest dimension measured if ``dim`` was not."""
    timed = [row for row in rows if "dim" in row]
    return next((row for row in timed if row["dim"] == dim), min(timed, key=lambda r: r["dim"]))


def run_bench(settings: Settings, report: Report) -> dict[str, Any]:
    """Every measurement, printed as it completes; returns the JSON document."""
    report(f"keys: {settings.key_bits} bits, {os.cpu_count()} cores")
    keys = [keygen(settings.key_bits, insecure=settings.key_bits < 2048) for _ in range(5)]
    out: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "key_bits": settings.key_bits,
    }
    a = out["per_value"] = per_value(settings, keys[0])
    report(
        f"(a) encrypt+decrypt per value: hemesh {a['hemesh_packed_s'] * 1e3:.3f} ms, "
        f"phe {a['phe_s'] * 1e3:.2f} ms ({a['ratio_phe']:.0f}x)"
        + (f", HEU {a['heu_s'] * 1e3:.2f} ms ({a['ratio_heu']:.1f}x)" if a["heu_s"] else "")
    )
    out["agent_iteration"] = agent_iterations(settings, keys, report)
    e = out["authentication"] = authentication(
        settings, keys, 10, iteration_row(out["agent_iteration"], 10)["hemesh_s"]
    )
    report(
        f"(i) authentication per agent-iteration d=10, degree 4: seal+verify "
        f"{e['seal_verify_s'] * 1e6:.0f} us for {e['messages']} envelopes, "
        f"{e['share_of_iteration']:.2%} of the agent-iteration"
    )
    medians = out["op_medians_s"] = op_medians(settings, keys[0])
    c = out["whole_run"] = whole_run(settings, medians)
    report(
        f"(c) 16-agent run, {c['iterations']} iterations: wall {c['wall_s']:.1f} s, "
        f"crypto floor {c['crypto_floor_s']:.1f} s ({c['ratio']:.2f}x)"
    )
    out["scaling"] = []
    for row in scaling(settings):
        out["scaling"].append(row)
        report(
            f"(d) {row['agents']} agents, {row['iterations']} iterations: "
            f"{row['wall_s']:.1f} s, {row['messages_per_s']:.0f} msg/s, "
            f"{row['wall_per_agent_edge_s'] * 1e3:.1f} ms per agent-edge"
        )
    transport = dataclasses.replace(settings.transport, key_bits=settings.key_bits)
    out["transport"] = transport_rows(transport, keys, report)
    return out
