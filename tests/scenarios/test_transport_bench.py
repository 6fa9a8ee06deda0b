"""The transport rows of ``hemesh bench`` compute what they say (small keys, small runs)."""

from __future__ import annotations

import math

from agents import keygen
from scenarios.cli._transport_bench import (
    CHUNK_LIMIT,
    TransportSettings,
    _ipc,
    _run_async,
    chunking,
    loop_and_floor,
)
from transport._chunks import HEADER

INSECURE_TEST_BITS = 512
"""Small keys, named as such: these tests check the rows' arithmetic, not security."""


def test_the_chunking_row_measures_chunked_messages() -> None:
    keys = [keygen(INSECURE_TEST_BITS, insecure=True) for _ in range(2)]
    row = chunking(TransportSettings(key_bits=INSECURE_TEST_BITS, repeats=1), keys)
    assert row["message_bytes"] > CHUNK_LIMIT
    assert row["frames_per_message"] == math.ceil(
        row["message_bytes"] / (CHUNK_LIMIT - HEADER.size)
    )
    assert row["crypto_s"] > 0 and row["messages_whole_s"] > 0 and row["messages_chunked_s"] > 0
    expected = (row["messages_chunked_s"] - row["messages_whole_s"]) / (
        row["crypto_s"] + row["messages_whole_s"]
    )
    assert row["overhead"] == expected


def test_the_ipc_row_times_each_size() -> None:
    out = _run_async(_ipc(5, (64, 4096)))
    assert set(out) == {"64", "4096"}
    assert all(0 < v < 1 for v in out.values())


def test_the_floor_row_gives_the_loop_cpu_of_the_whole_run_and_in_steady_state() -> None:
    settings = TransportSettings(
        key_bits=INSECURE_TEST_BITS, repeats=1, floor_iterations=4, ipc_calls=2
    )
    row = loop_and_floor(settings)
    assert row["wall_s"] > 0 and "crypto_floor_s" not in row  # the floor is row (c)'s
    assert row["loop_cpu_s"] > 0
    assert row["loop_cpu_run_per_agent_iteration_s"] == row["loop_cpu_s"] / (16 * 4)
    # the difference of a 4- and a 1-iteration run, per agent-iteration of difference
    assert isinstance(row["loop_cpu_per_agent_iteration_s"], float)
    assert row["loop_cpu_per_agent_iteration_s"] < row["loop_cpu_s"]
