"""The identity sub-package's errors (under :class:`agents.AgentError`)."""

from __future__ import annotations

from .._errors import AgentError, ProtocolError


class IdentityError(AgentError):
    """An identity or roster cannot be read, or does not fit this agent and run."""


class AuthenticationError(ProtocolError):
    """An envelope's tag is missing or does not verify: it is dropped unread."""
