"""Attacks: from what one adversary recorded, plus public parameters, to estimates.

DESIGN.md, Threat model and the privacy audit. Every function here takes an
adversary's record (the lines of ``<name>.record.jsonl``) and the run's
:class:`PublicParams`, and nothing else: no honest agent's log, no x*, no data.
Scoring the estimates against the truth is ``_audit``'s job.

Estimates, per target and iteration k:

- eavesdropper, ``plain``/``dp``: the state the target broadcast (exact on
  plain, noisy on dp); the gradient from two consecutive broadcasts, the public
  Metropolis weights and the public stepsize:
  ``g(k) = (x(k) + sum_j w_ij (x_j(k) - x(k)) - x(k+1)) / lambda(k)``.
- eavesdropper, ``clear``: the state from the request's clear ``-[x_i]``.
- eavesdropper, ``paillier``: ciphertexts only, so the prior: the public start
  ``x0`` for the state and zero for the gradient.
- colluders, edge protocol: member c decrypted ``R_c = [a_ic]([x_i] - [x_c])``.
  ``per_edge`` weights: ``x_i = q_c + t_c R_c`` with ``t_c = 1 / a_ic > 0`` unknown;
  two or more rays are intersected by least squares, one ray gives the point at
  the middle of the known range of ``t``. ``per_coordinate`` weights: per
  coordinate an interval ``q_c + R_c [1/a_hi, 1/a_lo]``; the colluders intersect
  theirs and take the midpoint. Gradient: the colluders know member c's term of
  the target's coupling exactly, ``-[a_ci] R_c / 2^(F+2W)``, and estimate
  ``g(k) = (x^(k) - x^(k+1) + gamma(k) * known coupling) / lambda(k)``
  (exact coupling when every neighbour colludes; the private factor theta is
  unknown, its mean 1 is used).
- colluders, ``plain``/``dp``: the target's broadcast state, received directly.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agents import CLEAR_INT_BYTES, Algorithm, WeightMode
from transport import Topics, unpack_floats, unpack_ints

from .._errors import BadInput
from ..results import decode_bytes, read_jsonl
from ._params import PublicParams

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, kw_only=True, slots=True)
class Estimates:
    """What one adversary estimates of each target's states and gradients."""

    adversary: str
    kind: str
    method: str
    states: dict[str, dict[int, FloatArray]]
    gradients: dict[str, dict[int, FloatArray]]
    metadata: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, dict[int, FloatArray]] = field(default_factory=dict)
    """Candidate feature rows of each target's minibatch, by iteration (``_inversion``)."""


def read_record(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of an adversary's record (a cut-off last line is skipped)."""
    return read_jsonl(path).records


# eavesdropper ---------------------------------------------------------------------


def eavesdropper_attack(name: str, record: list[dict[str, Any]], public: PublicParams) -> Estimates:
    """State and gradient estimates of every agent, from recorded envelopes alone."""
    scale = 2.0**public.frac_bits
    read: dict[str, dict[int, FloatArray]] = {a: {} for a in public.agents}
    for line in record:
        env = line.get("envelope")
        if not isinstance(env, dict) or env.get("from") not in read:
            continue
        payload = env.get("p", {})
        sender, k = env["from"], int(env["k"])
        if env["kind"] == "state" and "x" in payload:
            read[sender][k] = unpack_floats(decode_bytes(payload["x"]), count=public.dim)
        elif env["kind"] == "request" and "v" in payload:
            ints = unpack_ints(decode_bytes(payload["v"]), CLEAR_INT_BYTES, signed=True)
            read[sender][k] = -np.array(ints, dtype=np.float64) / scale
    metadata = traffic_metadata(record, public)
    if any(read.values()):
        gradients = (
            _baseline_gradients(read, public)
            if public.algorithm in (Algorithm.PLAIN, Algorithm.DP)
            else {}
        )
        method = "read the shared states" + (" (noisy)" if public.algorithm == "dp" else "")
        return Estimates(
            adversary=name,
            kind="eavesdropper",
            method=method,
            states=read,
            gradients=gradients,
            metadata=metadata,
        )
    return _prior(name, "eavesdropper", public, public.agents, metadata)


def _prior(
    name: str, kind: str, public: PublicParams, targets: list[str], metadata: dict[str, Any]
) -> Estimates:
    """Nothing readable: the public start x0 as every state, zero as every gradient."""
    x0 = np.array(public.x0, dtype=np.float64)
    zero = np.zeros(public.dim)
    ks = range(public.iterations)
    return Estimates(
        adversary=name,
        kind=kind,
        method="prior (nothing readable)",
        states={t: {k: x0 for k in ks} for t in targets},
        gradients={t: {k: zero for k in ks} for t in targets},
        metadata=metadata,
    )


def _baseline_gradients(
    states: dict[str, dict[int, FloatArray]], public: PublicParams
) -> dict[str, dict[int, FloatArray]]:
    """g_i(k) from x_i(k), x_i(k+1), the neighbours' x_j(k), the Metropolis weights and
    the public stepsize (plain: exact; dp: the shared states are noisy)."""
    out: dict[str, dict[int, FloatArray]] = {}
    for i, xs in states.items():
        out[i] = {}
        for k in sorted(xs):
            if k + 1 not in xs or not all(k in states[j] for j in public.neighbours[i]):
                continue
            mixing = np.zeros(public.dim)
            for j in public.neighbours[i]:  # the agent's own order and arithmetic
                mixing += (states[j][k] - xs[k]) / public.metropolis_denominator(i, j)
            out[i][k] = (xs[k] + mixing - xs[k + 1]) / public.stepsize(k)
    return out


def traffic_metadata(record: list[dict[str, Any]], public: PublicParams) -> dict[str, Any]:
    """What the traffic shows without decrypting anything: who talks to whom (the
    graph, from topics), message sizes per kind and the timing of each agent's rounds."""
    topics = Topics(public.run)
    edges: set[tuple[str, str]] = set()
    sizes: dict[str, list[int]] = {}
    first_sent: dict[str, dict[int, float]] = {}
    sent: dict[str, int] = {}
    for line in record:
        parsed = topics.parse(str(line.get("topic", "")))
        if parsed is None:
            continue
        section, receiver, sender = parsed
        if section == "inbox" and sender is not None:
            edges.add((min(receiver, sender), max(receiver, sender)))
            sent[sender] = sent.get(sender, 0) + 1
        env = line.get("envelope")
        kind = env["kind"] if isinstance(env, dict) else "undecodable"
        sizes.setdefault(kind, []).append(int(line.get("size", 0)))
        if isinstance(env, dict) and kind in ("request", "state"):
            first_sent.setdefault(env["from"], {}).setdefault(int(env["k"]), float(line["t"]))
    true_edges = {(min(a, b), max(a, b)) for a, ns in public.neighbours.items() for b in ns}
    round_seconds = {}
    for agent, times in first_sent.items():
        ks = sorted(times)
        gaps = [times[b] - times[a] for a, b in itertools.pairwise(ks)]
        if gaps:
            round_seconds[agent] = statistics.median(gaps)
    return {
        "messages": len(record),
        "edges_seen": sorted([a, b] for a, b in edges),
        "graph_recovered": edges == true_edges,
        "messages_sent": dict(sorted(sent.items())),
        "sizes": {
            kind: {"count": len(s), "min": min(s), "max": max(s), "distinct": len(set(s))}
            for kind, s in sorted(sizes.items())
        },
        "round_seconds_median": dict(sorted(round_seconds.items())),
    }


# colluders ------------------------------------------------------------------------


def colluders_attack(
    name: str, record: list[dict[str, Any]], public: PublicParams, *, target: str
) -> Estimates:
    """The target's states and gradients from what the colluding members saw."""
    if target not in public.neighbours:
        raise BadInput(f"adversary {name}: target {target!r} is not an agent of the run")
    by_k: dict[int, dict[str, dict[str, Any]]] = {}
    for obs in record:
        if isinstance(obs.get("k"), int) and isinstance(obs.get("agent"), str):
            by_k.setdefault(obs["k"], {})[obs["agent"]] = obs
    # members in one order whatever order their lines came in (tasks or merged parts)
    by_k = {k: dict(sorted(seen.items())) for k, seen in by_k.items()}
    members = sorted({a for seen in by_k.values() for a in seen})
    if public.algorithm in (Algorithm.PLAIN, Algorithm.DP):
        return _colluders_baseline(name, by_k, public, target, members)
    states: dict[int, FloatArray] = {}
    coupling: dict[int, FloatArray] = {}
    for k, seen in sorted(by_k.items()):
        rays = [_ray(obs, target, public) for obs in seen.values() if target in obs["decrypted"]]
        if not rays:
            continue
        if public.weight_mode == WeightMode.PER_EDGE:
            states[k] = _intersect_rays(rays, public)
        else:
            states[k] = _intersect_intervals(rays, public)
        coupling[k] = sum(
            (
                _known_term(obs, target, public)
                for obs in seen.values()
                if target in obs["decrypted"]
            ),
            np.zeros(public.dim),
        )
    gradients = {
        k: (states[k] - states[k + 1] + public.gamma(k) * coupling[k]) / public.stepsize(k)
        for k in states
        if k + 1 in states
    }
    complete = set(members) >= set(public.neighbours[target])
    method = (
        ("ray intersection" if public.weight_mode == WeightMode.PER_EDGE else "interval midpoints")
        + f" from {len(members)} of {len(public.neighbours[target])} neighbours"
        + ("; full coupling known" if complete else "; partial coupling")
    )
    return Estimates(
        adversary=name,
        kind="colluders",
        method=method,
        states={target: states},
        gradients={target: gradients},
        metadata={"members": members, "target": target, "all_neighbours": complete},
    )


@dataclass(frozen=True, slots=True)
class _Ray:
    origin: FloatArray
    """q_c = [x_c] / 2^F, the member's own quantized state."""
    direction: FloatArray
    """R_c / 2^(F+W) = a_ic (x_i - x_c), up to quantization."""
    t_range: tuple[float, float]
    """The known range of t = 1 / a_ic on this edge."""


def _ray(obs: Mapping[str, Any], target: str, public: PublicParams) -> _Ray:
    f, w = public.frac_bits, public.weight_bits
    origin = np.array(obs["quantized"], dtype=np.float64) / 2.0**f
    direction = np.array(obs["decrypted"][target], dtype=np.float64) / 2.0 ** (f + w)
    return _Ray(origin, direction, _t_range(public, target, str(obs["agent"])))


def _t_range(public: PublicParams, target: str, member: str) -> tuple[float, float]:
    """The range of t = 1 / a_ic, a_ic = [a_ic] / 2^W with [a_ic] in the edge's [low, high]."""
    scale = 2.0**public.weight_bits
    low, high = public.weight_range(target, member)
    return scale / high, scale / low


def _intersect_rays(rays: list[_Ray], public: PublicParams) -> FloatArray:
    """Least squares over (x, t_1..t_m) of sum_c ||x - q_c - t_c R_c||^2; one ray: its
    point at the middle of the known range of t."""
    d, m = public.dim, len(rays)
    if m == 1:
        t_lo, t_hi = rays[0].t_range
        return rays[0].origin + 0.5 * (t_lo + t_hi) * rays[0].direction
    a = np.zeros((m * d, d + m))
    rhs = np.zeros(m * d)
    for c, ray in enumerate(rays):
        a[c * d : (c + 1) * d, :d] = np.eye(d)
        a[c * d : (c + 1) * d, d + c] = -ray.direction
        rhs[c * d : (c + 1) * d] = ray.origin
    solution, *_ = np.linalg.lstsq(a, rhs, rcond=None)
    lows, highs = np.array([r.t_range for r in rays]).T
    t = np.clip(solution[d:], lows, highs)
    if np.allclose(t, solution[d:]):
        return np.asarray(solution[:d], dtype=np.float64)
    # a parallel or degenerate configuration: keep t in its known range
    points = [r.origin + tc * r.direction for r, tc in zip(rays, t, strict=True)]
    return np.asarray(np.mean(points, axis=0), dtype=np.float64)


def _intersect_intervals(rays: list[_Ray], public: PublicParams) -> FloatArray:
    """Per coordinate each member knows x_i in q_c + R_c [t_lo, t_hi]; intersect and
    take the midpoint (the mean of the midpoints if quantization empties it)."""
    ends = [
        (r.origin + r.t_range[0] * r.direction, r.origin + r.t_range[1] * r.direction) for r in rays
    ]
    lows = np.array([np.minimum(a, b) for a, b in ends])
    highs = np.array([np.maximum(a, b) for a, b in ends])
    low, high = lows.max(axis=0), highs.min(axis=0)
    mids = ((lows + highs) / 2).mean(axis=0)
    return np.asarray(np.where(low <= high, (low + high) / 2, mids), dtype=np.float64)


def _known_term(obs: Mapping[str, Any], target: str, public: PublicParams) -> FloatArray:
    """Member c's term of the target's coupling: a_ic a_ci (x_c - x_i) = -[a_ci] R_c."""
    scale = 2.0 ** (public.frac_bits + 2 * public.weight_bits)
    own = obs["weights"][target]
    values = obs["decrypted"][target]
    return np.array([-a * r for a, r in zip(own, values, strict=True)], dtype=np.float64) / scale


def _colluders_baseline(
    name: str,
    by_k: dict[int, dict[str, dict[str, Any]]],
    public: PublicParams,
    target: str,
    members: list[str],
) -> Estimates:
    states: dict[int, FloatArray] = {}
    mixing: dict[int, FloatArray] = {}
    for k, seen in sorted(by_k.items()):
        shared = [obs for obs in seen.values() if target in obs["states"]]
        if not shared:
            continue
        states[k] = np.array(shared[0]["states"][target], dtype=np.float64)
        mixing[k] = sum(
            (
                (np.array(obs["x"], dtype=np.float64) - states[k])
                / public.metropolis_denominator(target, obs["agent"])
                for obs in shared
            ),
            np.zeros(public.dim),
        )
    gradients = {
        k: (states[k] + mixing[k] - states[k + 1]) / public.stepsize(k)
        for k in states
        if k + 1 in states
    }
    return Estimates(
        adversary=name,
        kind="colluders",
        method=f"read the shared state; {len(members)} neighbours' mixing terms",
        states={target: states},
        gradients={target: gradients},
        metadata={"members": members, "target": target},
    )
