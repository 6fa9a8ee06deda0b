"""The agents package's exceptions: one root, translated at the boundary."""

from __future__ import annotations

import math


class AgentError(Exception):
    """Root of every error raised by :mod:`agents`."""


class ConfigError(AgentError, ValueError):
    """An agent was given parameters it cannot run with."""


class QuantizationOverflow(AgentError, ArithmeticError):
    """A value does not fit the fixed-point range; it is reported, never wrapped."""


class CryptoError(AgentError):
    """A Paillier operation failed, or a ciphertext is not valid under the key."""


class ProtocolError(AgentError):
    """A neighbour's message breaks the edge protocol (sizes, ranges, iterations)."""


class Diverged(AgentError, ArithmeticError):
    """An agent's state left the finite range or the bound ``AgentConfig.max_state``
    after an update: the run is diverging (usually a stepsize too large)."""

    def __init__(self, agent: str, iteration: int, value: float, bound: float) -> None:
        self.agent, self.iteration, self.value, self.bound = agent, iteration, value, bound
        what = f"|x| = {value:.2g}" if not math.isnan(value) else "x is NaN"
        limit = f"{bound:.3g}".replace("e+0", "e").replace("e+", "e")
        super().__init__(f"agent {agent} at iteration {iteration}: {what} > {limit}")
