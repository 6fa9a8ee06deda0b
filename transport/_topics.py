"""The MQTT topic layout of one run (DESIGN.md, Transport).

``hemesh/<run>/inbox/<receiver>/<sender>``  one topic per directed edge
``hemesh/<run>/keys/<agent>``               retained public key
``hemesh/<run>/status/<agent>``             online/offline (will message)
"""

from __future__ import annotations

from dataclasses import dataclass

from ._envelope import validate_id

ROOT = "hemesh"


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names and filters for one run id."""

    run: str

    def __post_init__(self) -> None:
        validate_id(self.run, what="run id")

    @property
    def prefix(self) -> str:
        return f"{ROOT}/{self.run}"

    @property
    def everything(self) -> str:
        """Filter matching every topic of the run (what an eavesdropper subscribes to)."""
        return f"{self.prefix}/#"

    def inbox(self, receiver: str, sender: str) -> str:
        return f"{self.prefix}/inbox/{validate_id(receiver)}/{validate_id(sender)}"

    def inbox_filter(self, receiver: str) -> str:
        return f"{self.prefix}/inbox/{validate_id(receiver)}/+"

    def key(self, agent: str) -> str:
        return f"{self.prefix}/keys/{validate_id(agent)}"

    def status(self, agent: str) -> str:
        return f"{self.prefix}/status/{validate_id(agent)}"

    def parse(self, topic: str) -> tuple[str, str, str | None] | None:
        """Split a topic of this run into (section, agent, sender); None if it is not one."""
        parts = topic.split("/")
        if parts[:2] != [ROOT, self.run]:
            return None
        if len(parts) == 5 and parts[2] == "inbox":
            return ("inbox", parts[3], parts[4])
        if len(parts) == 4 and parts[2] in ("keys", "status"):
            return (parts[2], parts[3], None)
        return None


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT 3.1.1 filter matching with ``+`` and ``#`` wildcards.

    As in the standard (4.7.2), a filter that starts with a wildcard does not
    match topics that start with ``$`` (``$SYS/...``).
    """
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    flevels = topic_filter.split("/")
    tlevels = topic.split("/")
    for i, level in enumerate(flevels):
        if level == "#":
            return True
        if i >= len(tlevels):
            return False
        if level not in ("+", tlevels[i]):
            return False
    return len(flevels) == len(tlevels)
