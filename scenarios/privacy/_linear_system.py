"""The linear-system attack on the baselines, after El Mrini, Cyffers and Bellet,
"Privacy Attacks in Decentralized Learning" (ICML 2024).

On ``plain`` and ``dp`` every agent runs ``X(k+1) = W X(k) - lambda(k) G(k)`` with the
public Metropolis matrix W, the public stepsize lambda(k) and the public start
``X(0) = x0`` (every row), so every state is a known linear function of the gradients:
``X(k) = x0 - sum_{s<k} lambda(s) W^(k-1-s) G(s)``. Each state the adversary saw (an
eavesdropper: the states on the topics it reads; a curious agent: its own and its
neighbours') is one linear equation in the unknown gradients of *every* agent. The
system has fewer equations than unknowns, so, like the paper's constant-gradient
assumption for D-GD, the attack takes the solution whose gradients change least from
one iteration to the next (a small temporal-smoothness penalty; the seen states are
fitted almost exactly), then rebuilds every agent's states from it. Per coordinate the
matrix is the same (W is scalar), so one least-squares solve serves every coordinate.

On ``dp`` the seen states carry the Laplace noise; the equations are fitted as they
are. On ``paillier`` and ``clear`` no state is readable: the solution is the prior
(``x0``, zero gradients).

Reads an adversary's record and :class:`PublicParams` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from agents import Algorithm
from transport import unpack_floats

from ..results import decode_bytes
from ._attacks import Estimates, FloatArray
from ._params import PublicParams

SMOOTHNESS = 1e-5
"""Weight of ||G(s+1) - G(s)|| against the seen states' equations (weight 1)."""
RIDGE = 1e-6
"""Weight of ||G(s)||: keeps gradients nothing constrains at the prior, zero.

The two defaults were chosen once, on a batch-1 logistic run on a line of 5 (breast
cancer, 20 iterations), among a handful of pairs: a ridge a tenth of the smoothness
weight shrinks the noisy minibatch gradients and rebuilt far states best there. For
slowly varying gradients a much smaller ridge is better (with constant gradients and
``ridge = 1e-10`` the system is solved exactly; see the tests)."""


def seen_states(
    kind: str, record: Iterable[dict[str, Any]], public: PublicParams
) -> dict[str, dict[int, FloatArray]]:
    """The states the adversary read, by agent and iteration: an eavesdropper's
    ``state`` envelopes; a colluder's own state and its neighbours' shared states."""
    seen: dict[str, dict[int, FloatArray]] = {}
    agents = set(public.agents)
    for line in record:
        if kind == "eavesdropper":
            env = line.get("envelope")
            if not isinstance(env, dict) or env.get("kind") != "state":
                continue
            payload = env.get("p", {})
            if env.get("from") in agents and "x" in payload:
                x = unpack_floats(decode_bytes(payload["x"]), count=public.dim)
                seen.setdefault(env["from"], {})[int(env["k"])] = x
        elif isinstance(line.get("k"), int) and line.get("agent") in agents:
            k = int(line["k"])
            seen.setdefault(line["agent"], {})[k] = np.array(line["x"], dtype=np.float64)
            for j, x in (line.get("states") or {}).items():
                if j in agents:
                    seen.setdefault(j, {}).setdefault(k, np.array(x, dtype=np.float64))
    return seen


def metropolis(public: PublicParams) -> FloatArray:
    """The public mixing matrix of the baselines, agents in ``public.agents`` order."""
    agents = public.agents
    index = {a: i for i, a in enumerate(agents)}
    w = np.zeros((len(agents), len(agents)))
    for a in agents:
        for b in public.neighbours[a]:
            w[index[a], index[b]] = 1.0 / public.metropolis_denominator(a, b)
        w[index[a], index[a]] = 1.0 - w[index[a]].sum()
    return w


def distances(public: PublicParams, sources: Iterable[str]) -> dict[str, int]:
    """Hops from the nearest of ``sources`` to every agent (-1: unreachable)."""
    frontier = sorted(set(sources))
    result = dict.fromkeys(frontier, 0)
    while frontier:
        nxt = []
        for a in frontier:
            for b in public.neighbours[a]:
                if b not in result:
                    result[b] = result[a] + 1
                    nxt.append(b)
        frontier = nxt
    return {a: result.get(a, -1) for a in public.agents}


def linear_system_attack(
    name: str,
    kind: str,
    record: list[dict[str, Any]],
    public: PublicParams,
    *,
    vantage: list[str] | None = None,
    smoothness: float = SMOOTHNESS,
    ridge: float = RIDGE,
) -> Estimates:
    """Every agent's states and gradients from the states the adversary saw.

    ``vantage``: the agents the adversary sits at (a curious agent's members), from
    which graph distances are counted; default: the agents whose states it read."""
    agents = public.agents
    x0 = np.array(public.x0, dtype=np.float64)
    seen = (
        seen_states(kind, record, public)
        if public.algorithm in (Algorithm.PLAIN, Algorithm.DP)
        else {}
    )
    observed = sorted(a for a, xs in seen.items() if xs)
    where = (
        distances(public, vantage or observed)
        if (vantage or observed)
        else dict.fromkeys(agents, -1)
    )
    meta: dict[str, Any] = {
        "vantage": sorted(vantage or observed),
        "observed": observed,
        "distance": where,
    }
    horizon = max((k for xs in seen.values() for k in xs), default=0)
    if not observed or horizon < 1:
        zero = np.zeros(public.dim)
        ks = range(public.iterations)
        return Estimates(
            adversary=name,
            kind="linear_system",
            method="prior (no state readable)",
            states={a: {k: x0 for k in ks} for a in agents},
            gradients={a: {k: zero for k in ks} for a in agents},
            metadata=meta,
        )
    n, steps = len(agents), horizon
    index = {a: i for i, a in enumerate(agents)}
    w = metropolis(public)
    powers = [np.eye(n)]
    for _ in range(steps):
        powers.append(powers[-1] @ w)
    lam = np.array([public.stepsize(s) for s in range(steps)])
    rows, rhs = [], []
    for a in observed:
        for k, x in sorted(seen[a].items()):
            if not 1 <= k <= steps:
                continue
            row = np.zeros(n * steps)
            for s in range(k):
                row[s * n : (s + 1) * n] = -lam[s] * powers[k - 1 - s][index[a]]
            rows.append(row)
            rhs.append(x - x0)
    penalty = []
    for s in range(steps - 1):
        for j in range(n):
            row = np.zeros(n * steps)
            row[s * n + j], row[(s + 1) * n + j] = -smoothness, smoothness
            penalty.append(row)
    a_matrix = np.vstack(
        [np.array(rows), *([np.array(penalty)] if penalty else []), ridge * np.eye(n * steps)]
    )
    b = np.vstack([np.array(rhs), np.zeros((a_matrix.shape[0] - len(rhs), public.dim))])
    solution, *_ = np.linalg.lstsq(a_matrix, b, rcond=None)
    g = solution.reshape(steps, n, public.dim)
    states: dict[str, dict[int, FloatArray]] = {a: {} for a in agents}
    gradients: dict[str, dict[int, FloatArray]] = {a: {} for a in agents}
    current = np.tile(x0, (n, 1))
    for k in range(steps + 1):
        for a in agents:
            states[a][k] = seen.get(a, {}).get(k, current[index[a]]).copy()
        if k < steps:
            for a in agents:
                gradients[a][k] = g[k, index[a]].copy()
            current = w @ current - lam[k] * g[k]
    return Estimates(
        adversary=name,
        kind="linear_system",
        method=(
            f"linear system over {steps} iterations from {len(observed)} agents' seen states"
            + (" (noisy, dp)" if public.algorithm == Algorithm.DP else "")
        ),
        states=states,
        gradients=gradients,
        metadata=meta,
    )
