"""Behaviour is pinned: fixed-seed ring8 trajectories equal those recorded before the
architecture change (paillier in both weight modes, clear, plain, dp), bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.golden.trajectories import GOLDEN, VARIANTS, record


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    return record(Path(tmp_path_factory.mktemp("golden")))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_trajectories_are_bit_identical_to_the_recording(
    variant: str, recorded: dict[str, np.ndarray]
) -> None:
    with np.load(GOLDEN, allow_pickle=False) as golden:
        expected = golden[variant]
    got = recorded[variant]
    assert got.shape == expected.shape
    assert np.array_equal(got, expected), f"{variant}: trajectories changed"
    assert not np.allclose(got[-1], 0.0)  # the states moved: the comparison means something
