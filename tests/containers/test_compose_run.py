"""``hemesh compose`` brought up for real: one container per agent, the locked-down broker.

The image is built from the repository's Dockerfile; the scenario is a small paillier
ring with 256-bit keys (insecure, named so). The run's logs are copied out of the logs
volume and the run is read as any other: its states must equal the in-process run's with
the same seed, bit for bit.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from scenarios import Run, find_runs, run_scenario, write_compose
from scenarios.spec import load_scenario
from tests.containers._engine import Engine, Project, project, same_blas_kernels
from tests.containers._ring import AGENTS, project_name, ring_scenario

pytestmark = [pytest.mark.containers, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture
def compose_run(
    tmp_path: Path, engine: Engine, hemesh_image: str
) -> Iterator[tuple[Project, Path, Path]]:
    """The compose file of a 6-agent paillier ring, as a project taken down afterwards."""
    scenario = ring_scenario(tmp_path / "scenario", iterations=12)
    written = write_compose(scenario, tmp_path / "deploy" / "compose.yml", image=hemesh_image)
    same_blas_kernels(written.compose)  # the last bits of the step sizes depend on them
    with project(engine, written.compose, project_name()) as started:
        yield started, scenario, written.run_dir


def test_compose_run_reaches_the_in_process_states(
    compose_run: tuple[Project, Path, Path], tmp_path: Path
) -> None:
    compose, scenario, run_dir = compose_run
    agents = [f"a{i}" for i in range(AGENTS)]
    started = time.monotonic()
    compose.up()
    exits = compose.wait_for_exit(agents, timeout=240)
    seconds = time.monotonic() - started
    for done in exits:
        assert done.exit_code == 0, f"{done.service} exited {done.exit_code}:\n{done.output}"
        assert done.restarts == 0
        report = json.loads(done.output.strip().splitlines()[-1])
        assert report["agent"] == done.service
        assert report["iterations"] == 12
        assert report["skipped"] == 0
    # the broker refused nobody and admitted only the agents and its own healthcheck
    broker_log = compose.logs("broker")
    assert "not authorised" not in broker_log.lower()

    compose.copy_out("a0", "/runs/.", run_dir.parent.parent)  # docker compose cp a0:/runs/. runs/
    (found,) = find_runs(run_dir)
    in_containers = Run.load(found)
    expected = asyncio.run(run_scenario(load_scenario(scenario), out=tmp_path / "in-process"))
    in_process = Run.load(expected[0].run)
    _, x_containers = in_containers.states()
    _, x_in_process = in_process.states()
    assert x_containers.shape == (13, AGENTS, 4)
    assert np.array_equal(x_containers, x_in_process)
    assert not np.allclose(x_containers[-1], 0.0)  # the states moved
    summary = in_containers.summary()
    assert summary["skipped_edges"] == 0
    assert summary["mse_final"] == expected[0].summary["mse_final"]
    print(f"compose run of {AGENTS} agents x 12 iterations: {seconds:.1f} s from up to exit")
