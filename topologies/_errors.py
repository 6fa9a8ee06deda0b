"""The topologies package's one exception root."""


class TopologyError(ValueError):
    """A graph or a graph's parameters cannot be used: the message names what and why."""
