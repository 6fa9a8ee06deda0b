"""The agents package's exceptions: one root, translated at the boundary."""


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
