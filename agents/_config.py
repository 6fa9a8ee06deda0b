"""Everything an agent is given, as plain frozen values (it never reads a scenario)."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from transport import validate_id

from ._errors import ConfigError
from ._paillier import MIN_SECURE_BITS
from ._quantize import FLOAT_EXACT, Quantizer, Rounding
from ._schedules import Attenuation, Stepsize


class Algorithm(enum.StrEnum):
    """The update an agent runs (DESIGN.md, The algorithm and Baselines)."""

    PAILLIER = "paillier"
    """Coupling computed under encryption by the secure edge protocol."""
    CLEAR = "clear"
    """The same messages and draws as paillier, without encryption."""
    PLAIN = "plain"
    """Conventional DSGD: states in the clear, Metropolis weights, public stepsize."""
    DP = "dp"
    """plain with Laplace noise on the shared states."""

    @property
    def uses_edge_protocol(self) -> bool:
        return self in (Algorithm.PAILLIER, Algorithm.CLEAR)


class WeightMode(enum.StrEnum):
    PER_EDGE = "per_edge"
    PER_COORDINATE = "per_coordinate"


class DecryptMode(enum.StrEnum):
    """How an agent opens its neighbours' replies (paillier and clear, per-edge weights)."""

    AGGREGATE = "aggregate"
    """Raise each reply to this agent's weight half, multiply, decrypt the sum once per
    packed ciphertext; a reply is decrypted alone only when a skip notice undoes it."""
    PER_EDGE = "per_edge"
    """Decrypt every reply on its own (always so with per-coordinate weights, an
    observer or a checkpoint, which need each term)."""


class StepsizeMode(enum.StrEnum):
    SCALAR = "scalar"
    PER_COORDINATE = "per_coordinate"


class Record(enum.StrEnum):
    """What each journal line holds of the state."""

    STATE = "state"
    DIGEST = "digest"


@dataclass(frozen=True, kw_only=True, slots=True)
class AgentConfig:
    """One agent's parameters. ``neighbours`` maps each neighbour id to its degree
    (public graph knowledge, needed only for the Metropolis weights of the baselines)."""

    run: str
    agent_id: str
    neighbours: Mapping[str, int]
    algorithm: Algorithm
    iterations: int
    x0: tuple[float, ...]
    seed: tuple[int, ...]
    """Entropy of the agent's private RNG (numpy SeedSequence)."""
    attenuation: Attenuation = field(default_factory=Attenuation)
    stepsize: Stepsize
    stepsize_mode: StepsizeMode = StepsizeMode.SCALAR
    frac_bits: int = 24
    rounding: Rounding = Rounding.STOCHASTIC
    weight_bits: int = 16
    weight_mode: WeightMode = WeightMode.PER_EDGE
    a_max: float | Mapping[str, float] = 0.5
    """Upper end of each weight half: one value for every edge (the global range), or one
    per neighbour (degree-aware ranges; both ends of an edge must be given the same)."""
    batch_size: int = 8
    dp_noise: float = 0.0
    key_bits: int = MIN_SECURE_BITS
    insecure_keys: bool = False
    packing: bool = True
    """Pack many values per ciphertext (see :mod:`agents._packing`)."""
    fixed_base: bool = True
    """Publish a fixed base so neighbours re-randomize with a short exponent."""
    decrypt: DecryptMode = DecryptMode.AGGREGATE
    """One decryption per packed ciphertext for the sum over the neighbours, or one per
    reply (see :class:`DecryptMode`); per-coordinate weights always decrypt per edge."""
    round_timeout: float = 30.0
    startup_timeout: float = 60.0
    record: Record = Record.STATE
    max_state: float = 1e9
    """The largest |x_i| coordinate an update may produce; beyond it (or at a non-finite
    value) the agent raises :class:`Diverged` (``math.inf``: only non-finite states)."""

    def __post_init__(self) -> None:
        try:
            validate_id(self.run, what="run id")
            validate_id(self.agent_id)
            for n in self.neighbours:
                validate_id(n, what="neighbour id")
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        if not self.neighbours:
            raise ConfigError(f"agent {self.agent_id!r} has no neighbours")
        if self.agent_id in self.neighbours:
            raise ConfigError(f"agent {self.agent_id!r} lists itself as a neighbour")
        if any(d < 1 for d in self.neighbours.values()):
            raise ConfigError("neighbour degrees must be >= 1")
        object.__setattr__(self, "neighbours", MappingProxyType(dict(self.neighbours)))
        for name, kind in (
            ("algorithm", Algorithm),
            ("rounding", Rounding),
            ("weight_mode", WeightMode),
            ("stepsize_mode", StepsizeMode),
            ("record", Record),
            ("decrypt", DecryptMode),
        ):
            try:
                object.__setattr__(self, name, kind(getattr(self, name)))
            except ValueError:
                raise ConfigError(f"{name}: unknown value {getattr(self, name)!r}") from None
        if self.iterations < 1:
            raise ConfigError(f"iterations must be >= 1, got {self.iterations}")
        if not self.x0 or not all(math.isfinite(v) for v in self.x0):
            raise ConfigError("x0 must be a non-empty finite vector")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if not (math.isfinite(self.dp_noise) and self.dp_noise >= 0):
            raise ConfigError(f"dp_noise must be >= 0, got {self.dp_noise}")
        if not self.max_state > 0:
            raise ConfigError(f"max_state must be > 0, got {self.max_state}")
        if not 1 <= self.weight_bits <= 32:
            raise ConfigError(f"weight_bits must be in [1, 32], got {self.weight_bits}")
        self._check_weights()
        if self.key_bits < MIN_SECURE_BITS and not self.insecure_keys:
            raise ConfigError(
                f"key_bits = {self.key_bits} is insecure (< {MIN_SECURE_BITS}); "
                "set insecure_keys to use it in tests"
            )
        if not (self.round_timeout > 0 and self.startup_timeout > 0):
            raise ConfigError("timeouts must be > 0")
        object.__setattr__(self, "x0", tuple(float(v) for v in self.x0))
        object.__setattr__(self, "seed", tuple(int(s) for s in self.seed))
        self.quantizer()  # validates frac_bits and the bound

    def _check_weights(self) -> None:
        if isinstance(self.a_max, Mapping):
            if set(self.a_max) != set(self.neighbours):
                raise ConfigError(
                    f"a_max names {sorted(self.a_max)}, but the neighbours of "
                    f"{self.agent_id!r} are {sorted(self.neighbours)}"
                )
            object.__setattr__(
                self, "a_max", MappingProxyType({n: float(a) for n, a in self.a_max.items()})
            )
        for neighbour in self.neighbours:
            a_max = self.a_max_for(neighbour)
            if not (math.isfinite(a_max) and a_max > 0) or a_max * 2**self.weight_bits < 2:
                raise ConfigError(
                    f"a_max = {a_max} is not representable with {self.weight_bits} weight bits"
                )
        if self.algorithm.uses_edge_protocol:
            # a_ij <= a_max_ij^2, so gamma0 * sum_j a_ij < 1 keeps the mixing stable
            budget = sum(self.a_max_for(n) ** 2 for n in self.neighbours)
            product = self.attenuation.gamma0 * budget
            if product >= 1:
                raise ConfigError(
                    f"gamma0 * sum over neighbours of a_max^2 = {product:.3g} must be < 1 "
                    f"for agent {self.agent_id!r}"
                )

    @property
    def dim(self) -> int:
        return len(self.x0)

    @property
    def aggregates(self) -> bool:
        """Whether replies are summed before decryption (sizes the packing slots)."""
        return self.decrypt is DecryptMode.AGGREGATE and self.weight_mode is WeightMode.PER_EDGE

    def a_max_for(self, neighbour: str) -> float:
        """Upper end of the weight halves on the edge to ``neighbour``."""
        if isinstance(self.a_max, Mapping):
            return self.a_max[neighbour]
        return self.a_max

    def weight_range_for(self, neighbour: str) -> tuple[int, int]:
        """Integer range of a quantized weight half [a] = a * 2^W on the edge to
        ``neighbour``, a in [a_max/2, a_max]."""
        high = math.floor(self.a_max_for(neighbour) * 2**self.weight_bits)
        return max(1, math.ceil(high / 2)), high

    @property
    def weight_range(self) -> tuple[int, int]:
        """The smallest and largest quantized weight half over all edges (the largest
        sizes the quantizer's bound and the packing slots)."""
        ranges = [self.weight_range_for(n) for n in self.neighbours]
        return min(low for low, _ in ranges), max(high for _, high in ranges)

    def quantizer(self) -> Quantizer:
        """The state quantizer, its bound chosen so a reply a ([x_j] - [x_i]) stays
        inside a signed plaintext: 2 * bound * a_high < n / 2 with n >= 2^(bits-1)."""
        _, a_high = self.weight_range
        bound = min(FLOAT_EXACT, 2 ** (self.key_bits - 3) // a_high)
        return Quantizer(frac_bits=self.frac_bits, rounding=self.rounding, bound=bound)
