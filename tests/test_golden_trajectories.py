"""Behaviour is pinned: fixed-seed ring8 trajectories equal those recorded before the
architecture change (paillier in both weight modes, clear, plain, dp), bit for bit, under
each OpenBLAS kernel this CPU can run (see tests/golden/trajectories.py for why the
kernel is named)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.golden.trajectories import KERNELS, VARIANTS, golden, missing, record_under

REQUIRE_KERNELS = "HEMESH_REQUIRE_GOLDEN_KERNELS"
"""Set to 1 (CI does): a kernel this machine cannot run fails instead of skipping."""


@pytest.fixture(scope="module", params=sorted(KERNELS))
def recorded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, np.ndarray]]:
    kernel: str = request.param
    reason = missing(kernel)
    if reason is not None:
        if os.environ.get(REQUIRE_KERNELS) == "1":
            pytest.fail(f"kernel {kernel}: {reason}; {REQUIRE_KERNELS}=1 requires it")
        pytest.skip(f"kernel {kernel}: {reason}")
    out = Path(tmp_path_factory.mktemp("golden")) / "states.npz"
    record_under(kernel, out)
    with np.load(out, allow_pickle=False) as arrays:
        return kernel, {name: arrays[name] for name in arrays.files}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_trajectories_are_bit_identical_to_the_recording(
    variant: str, recorded: tuple[str, dict[str, np.ndarray]]
) -> None:
    kernel, states = recorded
    with np.load(golden(kernel), allow_pickle=False) as recording:
        expected = recording[variant]
    got = states[variant]
    assert got.shape == expected.shape
    assert np.array_equal(got, expected), f"{variant} under {kernel}: trajectories changed"
    assert not np.allclose(got[-1], 0.0)  # the states moved: the comparison means something


def test_the_kernels_round_differently_so_naming_one_matters() -> None:
    """The two recordings differ (in the last bits): were they equal, the kernel would
    not need naming and one recording would do."""
    with np.load(golden("SkylakeX")) as a, np.load(golden("Haswell")) as b:
        assert not np.array_equal(a["plain"], b["plain"])
        assert np.allclose(a["plain"], b["plain"], rtol=0, atol=1e-12)
