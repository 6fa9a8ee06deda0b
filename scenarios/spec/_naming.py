"""Agent naming: the one place an agent's id is spelled from its node index.

Node ``i`` of a scenario's graph is agent ``a<i>``; :func:`agent_index` is the inverse.
"""

from __future__ import annotations

PREFIX = "a"


def agent_id(index: int) -> str:
    """The id of the agent at node ``index`` of the graph: ``a<index>``."""
    return f"{PREFIX}{index}"


def agent_index(agent: str) -> int | None:
    """The node index of the agent id ``agent``, or None when it is not one
    (``agent_index(agent_id(i)) == i``; ``"a01"`` is not an id)."""
    digits = agent.removeprefix(PREFIX)
    if digits == agent or not digits.isdigit() or agent_id(int(digits)) != agent:
        return None
    return int(digits)
