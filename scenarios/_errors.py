"""The scenarios package's exceptions: one root, translated at the boundary."""


class ScenarioError(Exception):
    """A scenario that cannot run: a bad field, a missing file, a failed run."""
