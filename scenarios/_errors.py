"""The scenarios package's exceptions: one root, two branches, translated at the boundary.

The CLI's exit code follows the class: :class:`BadInput` exits 2 (nothing was started),
:class:`RunFailed` exits 1 (a run started and did not finish). A bare
:class:`ScenarioError` is treated as a failed run.
"""


class ScenarioError(Exception):
    """Root of every error raised by :mod:`scenarios`."""


class BadInput(ScenarioError, ValueError):
    """Input that cannot run: a scenario field, a data or graph file, a run directory,
    a command-line argument. Raised before anything is written or started."""


class RunFailed(ScenarioError):
    """A run that started and failed: an agent, the broker, the network."""
