"""The scenario file's model: pydantic sections, validated on construction.

A scenario fixes everything a run needs: the graph, each agent's data, the
algorithm and its parameters, the keys, the transport and where logs go.
Every field has a default except where a run cannot be guessed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from agents import MIN_SECURE_BITS, Algorithm, Record, Rounding, StepsizeMode, WeightMode

from .._errors import BadInput
from ._adversaries import AdversarySpec
from ._conditions import check_attenuation_exponent

WEIGHT_BUDGET = 0.9
"""gamma0 * sum_j a_max_ij^2 stays at or below this at every agent (it must be < 1)."""

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopologySpec(_Section):
    """``kind`` names a generator of :mod:`topologies` (or ``file`` with ``path``);
    the other keys are its parameters, checked against the generator."""

    model_config = ConfigDict(extra="allow", frozen=True)
    kind: str

    def params(self) -> dict[str, Any]:
        return {"kind": self.kind, **(self.model_extra or {})}


class ProblemSpec(_Section):
    kind: Literal["least_squares", "logistic"] = "least_squares"
    dim: Annotated[int, Field(ge=1, le=100_000)] = 5
    samples: Annotated[int, Field(ge=1)] = 40
    """Samples per agent (synthetic problems)."""
    noise: Annotated[float, Field(ge=0)] = 0.1
    heterogeneity: Annotated[float, Field(ge=0)] = 0.1
    """Spread of the agents' local minimizers (least squares) or feature shifts (logistic)."""
    l2: Annotated[float, Field(gt=0)] = 0.01
    batch_size: Annotated[int, Field(ge=1)] = 8
    csv: Path | None = None
    """Logistic regression on the rows of this CSV file (relative to the scenario file)."""
    label: str | None = None
    """Label column of ``csv`` (default: the last one)."""

    @model_validator(mode="after")
    def _csv_only_for_logistic(self) -> ProblemSpec:
        if self.csv is not None and self.kind != "logistic":
            raise ValueError("csv data is only supported for kind = 'logistic'")
        return self


class AlgorithmSpec(_Section):
    kind: Algorithm = Algorithm.PAILLIER
    attenuation: bool = True
    """gamma(k) = gamma0 / (1 + b k^p); false keeps gamma = gamma0 (ablation)."""
    gamma0: Annotated[float, Field(gt=0, le=1)] = 1.0
    b: Positive = 0.1
    p: Annotated[float, Field(gt=0.5, le=1)] = 0.81
    lambda0: Positive | None = None
    """Stepsize base; default 3 / L with L the largest local smoothness constant."""
    stepsize_decay: Positive = 1.0
    """lambda(k) = lambda0 / (1 + stepsize_decay * k)."""
    heterogeneous_stepsize: bool = True
    theta_spread: (
        Annotated[float, Field(ge=0, lt=1)] | list[Annotated[float, Field(ge=0, lt=1)]]
    ) = 0.5
    """theta_i(k) ~ U[1 - s_i, 1 + s_i]; one value for all agents or one per agent."""
    rounding: Rounding = Rounding.STOCHASTIC
    frac_bits: Annotated[int, Field(ge=0, le=48)] = 24
    weight_bits: Annotated[int, Field(ge=1, le=32)] = 16
    a_max: Positive | None = None
    """One upper end of the weight halves for every edge (overrides ``weight_ranges``)."""
    weight_ranges: Literal["global", "degree"] = "degree"
    """Without ``a_max``: ``global`` gives every edge sqrt(0.9 / (gamma0 * max_degree));
    ``degree`` gives edge ij sqrt(0.9 / (gamma0 * max(d_i, d_j))) (Metropolis-like; degrees
    are public), so that sum_j a_ij < 1/gamma0 at every agent without the largest degree
    shrinking every edge."""
    weights: WeightMode = WeightMode.PER_EDGE
    stepsize: StepsizeMode = StepsizeMode.SCALAR
    dp_noise: Annotated[float, Field(ge=0)] = 0.1
    """Laplace scale of the noise the dp baseline adds to shared states."""
    baselines: list[Algorithm] = Field(default_factory=list)
    """Also run these algorithms on the same graph, data and seed."""

    @field_validator("p")
    @classmethod
    def _p_keeps_lambda_over_gamma_vanishing(cls, p: float, info: ValidationInfo) -> float:
        check_attenuation_exponent(p, attenuation=info.data.get("attenuation", True))
        return p

    @model_validator(mode="after")
    def _checks(self) -> AlgorithmSpec:
        if self.kind in self.baselines:
            raise ValueError(f"baselines repeat the main algorithm {self.kind.value!r}")
        if len(set(self.baselines)) != len(self.baselines):
            raise ValueError("baselines has duplicates")
        return self


class CryptoSpec(_Section):
    key_bits: Annotated[int, Field(ge=128)] = MIN_SECURE_BITS
    insecure_keys: bool = False
    """Allow keys under 2048 bits (tests, quick demos)."""
    workers: Annotated[int, Field(ge=0)] = 0
    """Crypto worker processes shared by the agents of a process; 0 = one per core."""
    inline: bool = False
    """Run Paillier operations on the event loop instead (small keys, tests)."""
    packing: bool = True
    """Pack many fixed-point values into one ciphertext; false: one value per ciphertext."""
    fixed_base: bool = True
    """Each agent publishes h = r0^n; neighbours re-randomize with h^t, t of 320 random
    bits (6x cheaper; an assumption, see the README's security notes). false: r^n."""

    @model_validator(mode="after")
    def _secure(self) -> CryptoSpec:
        if self.key_bits < MIN_SECURE_BITS and not self.insecure_keys:
            raise ValueError(
                f"key_bits = {self.key_bits} is insecure (< {MIN_SECURE_BITS}); "
                "set insecure_keys = true to allow it"
            )
        if self.key_bits % 2:
            raise ValueError(f"key_bits must be even, got {self.key_bits}")
        return self


class FaultsSpec(_Section):
    """``[transport.faults]``: faults injected on what agents send (public keys excepted),
    seeded from the scenario's seed; see transport.FaultSpec."""

    loss: Annotated[float, Field(ge=0, lt=1)] = 0.0
    duplicate: Annotated[float, Field(ge=0, lt=1)] = 0.0
    delay: Annotated[float, Field(ge=0, le=60, allow_inf_nan=False)] = 0.0
    """Each message goes out after a uniform random delay in [0, delay] seconds."""
    reorder: Annotated[float, Field(ge=0, lt=1)] = 0.0
    kinds: list[Literal["request", "reply", "state", "skip", "bye"]] | None = None
    """The message kinds disturbed; default all but public keys."""


class TransportSpec(_Section):
    kind: Literal["mqtt", "memory"] = "mqtt"
    broker: str = "embedded"
    """``embedded`` (amqtt on 127.0.0.1, started and stopped by hemesh), ``mosquitto``
    (a Mosquitto per run on 127.0.0.1 with per-agent logins and an ACL from the graph),
    or a URL ``mqtt://[user:pass@]host[:port]`` of a running MQTT 3.1.1 broker."""
    round_timeout: Positive = 30.0
    startup_timeout: Positive = 60.0
    faults: FaultsSpec | None = None
    """Inject message loss, duplication, delay and reordering (in-process runs)."""
    pad_to: Annotated[int, Field(ge=64, le=16 * 1024 * 1024)] | None = None
    """Pad every envelope an agent sends to exactly this many bytes, so that sizes do
    not tell message kinds apart (useful over TLS). Must exceed the largest by 8."""


class OutputSpec(_Section):
    dir: Path = Path("runs")
    """Where run directories are created (relative to the working directory)."""
    record: Record = Record.STATE
    checkpoint_every: Annotated[int, Field(ge=0)] = 1
    """Agents in their own processes (``hemesh agent``, ``--spawn processes``, compose)
    write an atomic checkpoint to ``RUN_DIR/checkpoints/<id>.ckpt`` every this many
    iterations and, restarted with the same command, resume from it; 0: never."""


class Scenario(_Section):
    name: Id
    seed: Annotated[int, Field(ge=0)] = 0
    iterations: Annotated[int, Field(ge=1)] = 200
    description: str = ""
    topology: TopologySpec
    problem: ProblemSpec = Field(default_factory=ProblemSpec)
    algorithm: AlgorithmSpec = Field(default_factory=AlgorithmSpec)
    crypto: CryptoSpec = Field(default_factory=CryptoSpec)
    transport: TransportSpec = Field(default_factory=TransportSpec)
    output: OutputSpec = Field(default_factory=OutputSpec)
    adversary: list[AdversarySpec] = Field(default_factory=list)
    """``[[adversary]]`` entries: eavesdroppers and colluders (see ``_adversaries``)."""

    @property
    def algorithms(self) -> list[Algorithm]:
        return [self.algorithm.kind, *self.algorithm.baselines]

    def spread(self, agent: int, agents: int) -> float:
        """theta spread of agent ``agent`` (0 when heterogeneity is off)."""
        spread = self.algorithm.theta_spread
        if not self.algorithm.heterogeneous_stepsize:
            return 0.0
        if isinstance(spread, list):
            if len(spread) != agents:
                raise BadInput(f"algorithm.theta_spread: {len(spread)} values for {agents} agents")
            return spread[agent]
        return spread

    def default_a_max(self, max_degree: int) -> float:
        return self.algorithm.a_max or math.sqrt(
            WEIGHT_BUDGET / (self.algorithm.gamma0 * max_degree)
        )

    def edge_a_max(self, degree: int, neighbour_degree: int, max_degree: int) -> float:
        """The upper end of the weight halves on an edge between agents of these degrees."""
        if self.algorithm.a_max is not None or self.algorithm.weight_ranges == "global":
            return self.default_a_max(max_degree)
        return math.sqrt(WEIGHT_BUDGET / (self.algorithm.gamma0 * max(degree, neighbour_degree)))
