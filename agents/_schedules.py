"""The two step sequences of the update rule (DESIGN.md, The algorithm).

gamma(k)    = gamma0 / (1 + b k^p)      attenuation of the coupling term
lambda_i(k) = lambda0 / (1 + c k) * theta_i(k)
              theta_i(k) ~ U[1 - s_i, 1 + s_i], mean 1, drawn privately
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import ConfigError


@dataclass(frozen=True, kw_only=True, slots=True)
class Attenuation:
    """gamma(k) = gamma0 / (1 + b k^p); ``enabled=False`` gives the constant gamma0."""

    gamma0: float = 1.0
    b: float = 0.1
    p: float = 0.81
    enabled: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.gamma0 <= 1:
            raise ConfigError(f"gamma0 must be in (0, 1], got {self.gamma0}")
        if self.enabled:
            if not self.b > 0:
                raise ConfigError(f"attenuation b must be > 0, got {self.b}")
            # sum gamma = inf needs p <= 1; sum gamma^2 < inf needs p > 1/2
            if not 0.5 < self.p <= 1:
                raise ConfigError(f"attenuation p must be in (0.5, 1], got {self.p}")

    def __call__(self, k: int) -> float:
        if not self.enabled:
            return self.gamma0
        return float(self.gamma0 / (1.0 + self.b * float(k) ** self.p))


@dataclass(frozen=True, kw_only=True, slots=True)
class Stepsize:
    """lambda(k) theta_i(k): a public decaying base times a private mean-1 factor."""

    lambda0: float
    decay: float = 0.5
    spread: float = 0.5
    """theta ~ U[1 - spread, 1 + spread]; 0 turns heterogeneity off."""

    def __post_init__(self) -> None:
        if not self.lambda0 > 0:
            raise ConfigError(f"lambda0 must be > 0, got {self.lambda0}")
        if not self.decay > 0:
            raise ConfigError(
                f"stepsize decay must be > 0 (sum lambda^2/gamma < inf), got {self.decay}"
            )
        if not 0 <= self.spread < 1:
            raise ConfigError(f"stepsize spread must be in [0, 1), got {self.spread}")

    def base(self, k: int) -> float:
        return self.lambda0 / (1.0 + self.decay * k)

    def draw_factor(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        """theta_i(k); always consumes the same draws whatever the spread."""
        u = rng.random(size)
        return 1.0 + self.spread * (2.0 * u - 1.0)
