"""What every participant of a run knows: the graph and the common parameters.

The attacks hold the agents' own schedule objects (:class:`agents.Attenuation`,
:class:`agents.Stepsize`), so gamma(k) and lambda(k) are computed exactly as the agents
compute them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents import AgentConfig, Attenuation, ConfigError, Stepsize

from .._errors import BadInput


@dataclass(frozen=True, kw_only=True, slots=True)
class PublicParams:
    """What every participant of a run knows: the graph and the common parameters.

    The common stepsize base lambda(k) is in every agent's configuration (it is the
    public stepsize of plain DSGD); each agent's private factor theta_i(k) is not.
    """

    run: str
    algorithm: str
    neighbours: dict[str, list[str]]
    dim: int
    iterations: int
    x0: list[float]
    frac_bits: int
    weight_bits: int
    weight_low: int
    """The smallest quantized weight half over all edges."""
    weight_high: int
    """The largest quantized weight half over all edges."""
    weight_ranges: dict[str, dict[str, list[int]]]
    """Each edge's range of quantized weight halves [low, high], by agent and neighbour
    (public: it follows from the degrees)."""
    weight_mode: str
    stepsize_mode: str
    attenuation: Attenuation
    """gamma(k), as every agent computes it."""
    base_stepsize: Stepsize
    """lambda(k), the public base (spread 0: the private factor theta_i is not known)."""
    model: dict[str, Any] = field(default_factory=dict)
    """The model every agent trains, as the scenario file says it (public: every
    participant runs the same code): ``kind``, ``intercept``, ``l2``, ``classes``,
    ``batch_size``. Empty when unknown (the input-reconstruction attacks then skip)."""

    @classmethod
    def from_configs(
        cls, configs: Iterable[AgentConfig], *, model: Mapping[str, Any] | None = None
    ) -> PublicParams:
        configs = list(configs)
        first = configs[0]
        ranges = {
            c.agent_id: {n: list(c.weight_range_for(n)) for n in sorted(c.neighbours)}
            for c in configs
        }
        low = min(lo for edges in ranges.values() for lo, _ in edges.values())
        high = max(hi for edges in ranges.values() for _, hi in edges.values())
        return cls(
            run=first.run,
            algorithm=first.algorithm.value,
            neighbours={c.agent_id: sorted(c.neighbours) for c in configs},
            dim=first.dim,
            iterations=first.iterations,
            x0=list(first.x0),
            frac_bits=first.frac_bits,
            weight_bits=first.weight_bits,
            weight_low=low,
            weight_high=high,
            weight_ranges=ranges,
            weight_mode=first.weight_mode.value,
            stepsize_mode=first.stepsize_mode.value,
            attenuation=first.attenuation,
            base_stepsize=Stepsize(
                lambda0=first.stepsize.lambda0, decay=first.stepsize.decay, spread=0.0
            ),
            model={"batch_size": first.batch_size, **(model or {})},
        )

    def to_json(self) -> dict[str, Any]:
        """The document of ``public.json`` (the schedules as their parameters)."""
        return {
            "run": self.run,
            "algorithm": self.algorithm,
            "neighbours": self.neighbours,
            "dim": self.dim,
            "iterations": self.iterations,
            "x0": self.x0,
            "frac_bits": self.frac_bits,
            "weight_bits": self.weight_bits,
            "weight_low": self.weight_low,
            "weight_high": self.weight_high,
            "weight_ranges": self.weight_ranges,
            "weight_mode": self.weight_mode,
            "stepsize_mode": self.stepsize_mode,
            "gamma0": self.attenuation.gamma0,
            "b": self.attenuation.b,
            "p": self.attenuation.p,
            "attenuation": self.attenuation.enabled,
            "lambda0": self.base_stepsize.lambda0,
            "decay": self.base_stepsize.decay,
            "model": self.model,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> PublicParams:
        fields = dict(doc)
        try:
            attenuation = Attenuation(
                gamma0=fields.pop("gamma0"),
                b=fields.pop("b"),
                p=fields.pop("p"),
                enabled=fields.pop("attenuation"),
            )
            stepsize = Stepsize(
                lambda0=fields.pop("lambda0"), decay=fields.pop("decay"), spread=0.0
            )
            return cls(**fields, attenuation=attenuation, base_stepsize=stepsize)
        except (KeyError, TypeError, ConfigError) as exc:
            raise BadInput(f"public parameters do not parse: {exc}") from exc

    def weight_range(self, agent: str, neighbour: str) -> tuple[int, int]:
        """The range of the quantized weight half ``agent`` draws for ``neighbour``."""
        low, high = self.weight_ranges[agent][neighbour]
        return low, high

    @property
    def agents(self) -> list[str]:
        return sorted(self.neighbours)

    def gamma(self, k: int) -> float:
        return self.attenuation(k)

    def stepsize(self, k: int) -> float:
        return self.base_stepsize.base(k)

    def metropolis_denominator(self, i: str, j: str) -> int:
        """Metropolis weight w_ij = 1 / this (the baselines' public weights)."""
        return 1 + max(len(self.neighbours[i]), len(self.neighbours[j]))
