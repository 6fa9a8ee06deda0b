"""The agent at run time (DESIGN.md, Runtime): the ``async with`` :class:`Agent` and its
collaborators, each behind this face.

- ``_agent``: the lifecycle, the loops (receive, serve, iterate), the waits, the messages;
- ``_rounds``: the round table (rounds kept for serving, inbound requests, states and
  replies by iteration, the neighbours' progress: where to jump, how long to wait);
- ``_ledger``: the coupling ledger (applied terms, skip notices both ways, corrections);
- ``_update``: the update rule as pure functions, with the one draw order;
- ``_keys``: the key pair and the edge protocol over it;
- ``_recorder``, ``_journal``, ``_checkpoint``: journal lines, checkpoints, resuming;
- ``_report``: the counters, the final report, the observer's protocol.
"""

from ._agent import Agent
from ._checkpoint import Checkpoint, CheckpointError
from ._journal import Journal, digest
from ._report import AgentReport, Observer

__all__ = [
    "Agent",
    "AgentReport",
    "Checkpoint",
    "CheckpointError",
    "Journal",
    "Observer",
    "digest",
]
