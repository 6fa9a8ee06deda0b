"""Fixed-seed ring8 trajectories recorded before the architecture change.

The states of a run are bit-exact for one floating-point kernel: numpy's OpenBLAS picks
its kernels by CPU at run time (``DYNAMIC_ARCH``), and kernels round a dot product
differently (a last-bit difference from iteration 1, seen between an AVX2-era machine's
kernel and an AVX-512 one's). So each recording is made, and checked, under a named
OpenBLAS kernel (``OPENBLAS_CORETYPE``, read when numpy loads): ``SkylakeX`` (AVX-512)
is the recording made before the architecture change; ``Haswell`` (AVX2 and FMA) was
recorded from commit a479c21, whose states reproduced the SkylakeX recording bit for bit.

``python -m tests.golden.trajectories --kernel K`` re-executes itself under kernel K and
writes that kernel's file beside this one (``--out`` elsewhere);
``tests/test_golden_trajectories.py`` asserts that today's code reproduces every kernel
this CPU can run, bit for bit. Regenerate only when a change is meant to alter the
trajectories, and say so in the commit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent
KERNEL_ENV = "OPENBLAS_CORETYPE"
KERNELS: dict[str, tuple[str, ...]] = {
    "SkylakeX": ("avx512f", "avx512dq", "avx512bw", "avx512vl"),
    "Haswell": ("avx2", "fma"),
}
"""The recorded kernels and the CPU flags each needs."""
ITERATIONS = 30

# name -> algorithm table; each runs ring8 least squares, seed 1, memory transport.
VARIANTS: dict[str, dict[str, Any]] = {
    "paillier": {"kind": "paillier"},
    "paillier_hardened": {
        "kind": "paillier",
        "weights": "per_coordinate",
        "stepsize": "per_coordinate",
    },
    "clear": {"kind": "clear"},
    "plain": {"kind": "plain"},
    "dp": {"kind": "dp", "dp_noise": 0.3},
}


def golden(kernel: str) -> Path:
    """The recording of ``kernel``."""
    suffix = "" if kernel == "SkylakeX" else f".{kernel.lower()}"
    return HERE / f"ring8_trajectories{suffix}.npz"


def missing(kernel: str) -> str | None:
    """Why this machine cannot run ``kernel`` (None: it can)."""
    config: Any = np.show_config(mode="dicts")
    blas = config["Build Dependencies"]["blas"]["name"]
    if blas != "scipy-openblas":
        return f"numpy uses {blas}, not the OpenBLAS of numpy's wheels the recordings used"
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "no /proc/cpuinfo to read the CPU's flags from"
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])  # fmt: skip
    lacking = [f for f in KERNELS[kernel] if f not in flags]
    return f"the CPU lacks {', '.join(lacking)}" if lacking else None


def scenario(directory: Path, algorithm: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "golden",
        "seed": 1,
        "iterations": ITERATIONS,
        "topology": {"kind": "ring", "n": 8},
        "problem": {"kind": "least_squares", "dim": 5},
        "algorithm": algorithm,
        "crypto": {"key_bits": 256, "insecure_keys": True, "inline": True},
        "transport": {"kind": "memory", "round_timeout": 10},
        "output": {"dir": str(directory)},
    }


def record(directory: Path) -> dict[str, np.ndarray]:
    """Every variant's states, shape (iterations + 1, agents, dim), in this process (its
    kernel is whatever numpy loaded with)."""
    from scenarios import Run, parse, run_scenario

    out: dict[str, np.ndarray] = {}
    for name, algorithm in VARIANTS.items():
        doc = scenario(directory / name, algorithm)
        (result,) = asyncio.run(run_scenario(parse(doc, source=name)))
        _, states = Run.load(result.run).states()
        out[name] = states
    return out


def record_under(kernel: str, out: Path) -> None:
    """Record in a child process whose numpy loads ``kernel``; the arrays go to ``out``."""
    env = {**os.environ, KERNEL_ENV: kernel}
    command = [sys.executable, "-m", "tests.golden.trajectories", "--kernel", kernel]
    subprocess.run(
        [*command, "--out", str(out)], env=env, cwd=HERE.parent.parent, check=True, timeout=600
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", choices=sorted(KERNELS), required=True)
    parser.add_argument("--out", type=Path, help="where to write (default: the recording)")
    args = parser.parse_args()
    out: Path = args.out or golden(args.kernel)
    if os.environ.get(KERNEL_ENV) != args.kernel:  # numpy is loaded: only a child can switch
        record_under(args.kernel, out)
        print(f"wrote {out} ({args.kernel})")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        arrays = record(Path(tmp))
    np.savez(out, **arrays)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
