"""Agent naming: ``agent_id`` spells an id from a node index, ``agent_index`` reads it back."""

from __future__ import annotations

import pytest

from scenarios.spec import agent_id, agent_index


@pytest.mark.parametrize("index", [0, 1, 7, 10, 123])
def test_agent_index_inverts_agent_id(index: int) -> None:
    assert agent_index(agent_id(index)) == index


@pytest.mark.parametrize("text", ["", "a", "b1", "a-1", "a01", "a1x", "1", "A1"])
def test_anything_else_is_not_an_agent_id(text: str) -> None:
    assert agent_index(text) is None
