"""The conditions of DESIGN.md that a scenario's parameters must meet, checked up front.

With ``lambda(k) = lambda0 / (1 + c k)`` (so ``lambda ~ 1/k``) and, with attenuation,
``gamma(k) = gamma0 / (1 + b k^p)`` (so ``gamma ~ k^-p``), the algorithm needs

- ``sum gamma = inf`` and ``sum gamma^2 < inf``: ``p`` in (0.5, 1] (the field's range),
- ``sum lambda = inf``: ``c > 0`` gives ``lambda ~ 1/k`` (the field's range),
- ``lambda / gamma -> 0`` and ``sum lambda^2 / gamma < inf``: ``k^(p-1) -> 0`` and
  ``sum k^(p-2) < inf``, both only when ``p < 1`` (attenuation off: gamma is constant
  and both hold),
- ``gamma0 * a_max^2 * max_degree < 1`` (the coupling weights keep the mixing stable).

A scenario that breaks one is refused before anything starts, naming the field and the
condition: the exponent here (a field check), the graph-dependent ones in
``_feasibility``.
"""

from __future__ import annotations


def check_attenuation_exponent(p: float, *, attenuation: bool) -> None:
    """Raise ValueError (for pydantic) when ``p`` breaks lambda/gamma -> 0."""
    if attenuation and p >= 1:
        raise ValueError(
            f"p = {p} with attenuation on breaks DESIGN.md's conditions lambda/gamma -> 0 and "
            "sum lambda^2/gamma < inf (lambda ~ 1/k, gamma ~ k^-p: both need p < 1); "
            "use p in (0.5, 1) or attenuation = false"
        )
