"""``hemesh bench`` row (i): envelope authentication per agent-iteration (issue 13)."""

from __future__ import annotations

from agents import keygen
from scenarios.cli._bench import Settings, authentication

TEST_BITS = 512
"""Small keys, named as such: the row's shape is tested here; ``hemesh bench`` measures
it at 2048 bits."""


def test_the_authentication_row_measures_sixteen_envelopes_against_the_iteration() -> None:
    keys = [keygen(TEST_BITS, insecure=True) for _ in range(5)]
    row = authentication(Settings(key_bits=TEST_BITS, repeats=3), keys, 10, iteration_s=0.1)
    assert row["dim"] == 10 and row["degree"] == 4
    assert row["messages"] == 16  # 4 requests and 4 replies sealed, as many verified
    assert 0 < row["seal_verify_s"] < 0.1  # an HMAC per envelope, far below any crypto
    assert row["share_of_iteration"] == row["seal_verify_s"] / 0.1
