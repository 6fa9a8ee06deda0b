"""An audit of a compose run (issue #15): the eavesdropper is a container of its own,
``hemesh eavesdrop`` logged in with its own read-everything account, subscribed before
any agent starts; once the agents are done it is stopped, the logs volume is copied out
and the run is audited from the records.

On plain it recovers every state exactly; on paillier it learns nothing beyond its
prior; the audit's numbers equal the in-process audit's for the same seed. One scenario
with both algorithms gives two compose files (``--algorithm``), brought up side by side
as two projects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agents import Algorithm
from scenarios import run_scenario, write_compose
from scenarios.privacy import audit_run
from scenarios.results import RunDir
from scenarios.spec import load_scenario
from tests.containers._engine import Engine, Project, project, same_blas_kernels
from tests.containers._ring import AGENTS, project_name, ring_scenario
from tests.scenarios.support import heard

pytestmark = [pytest.mark.containers, pytest.mark.slow, pytest.mark.timeout(900)]

ITERATIONS = 8
SPY = "wiretap"
SPY_SERVICE = f"eavesdropper-{SPY}"
STATE_KEYS = (
    "method",
    "targets",
    "state_rel_error_median",
    "state_rel_error_final",
    "state_cosine_median",
    "state_cosine_final",
)
"""What the audit of a compose run shares with the in-process one (the gradient scores
need the targets' true gradients, which only the in-process runner records)."""


def bring_up_and_audit(compose: Project, run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Wait for every agent, stop the eavesdropper, copy the logs out, audit: its report
    line and its audit."""
    agents = [f"a{i}" for i in range(AGENTS)]
    for done in compose.wait_for_exit(agents, timeout=240):
        assert done.exit_code == 0, f"{done.service} exited {done.exit_code}:\n{done.output}"
        assert done.restarts == 0
        assert json.loads(done.output.strip().splitlines()[-1])["iterations"] == ITERATIONS
    spy = compose.stop(SPY_SERVICE)  # docker compose stop eavesdropper-wiretap
    assert spy.exit_code == 0, spy.output
    assert spy.restarts == 0
    lines = [json.loads(line) for line in spy.output.strip().splitlines()]
    assert lines[0] == {"eavesdropper": SPY, "subscribed": True}
    assert lines[-1]["messages"] > 0
    compose.copy_out("a0", "/runs/.", run_dir.parent.parent)  # docker compose cp a0:/runs/. runs/
    return lines[-1], audit_run(RunDir(run_dir))[SPY]


def test_an_eavesdropper_container_audits_a_compose_run_as_the_in_process_one(
    tmp_path: Path, engine: Engine, hemesh_image: str
) -> None:
    scenario = ring_scenario(
        tmp_path / "scenario", iterations=ITERATIONS, baselines=("plain",), eavesdropper=SPY
    )
    written = {
        kind: write_compose(
            scenario,
            tmp_path / f"deploy-{kind.value}" / "compose.yml",
            algorithm=kind,
            image=hemesh_image,
        )
        for kind in (Algorithm.PLAIN, Algorithm.PAILLIER)
    }
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        projects = {}
        for kind, files in written.items():
            same_blas_kernels(files.compose)  # the last bits of the step sizes depend on them
            projects[kind] = stack.enter_context(project(engine, files.compose, project_name()))
        with ThreadPoolExecutor(len(projects)) as pool:  # both projects at once
            list(pool.map(Project.up, projects.values()))
            done = dict(
                zip(
                    projects,
                    pool.map(
                        bring_up_and_audit,
                        projects.values(),
                        [written[kind].run_dir for kind in projects],
                    ),
                    strict=True,
                )
            )
    seconds = time.monotonic() - started

    expected = asyncio.run(run_scenario(load_scenario(scenario), out=tmp_path / "in-process"))
    in_process = {Algorithm(r.summary["algorithm"]): r.summary["audit"][SPY] for r in expected}
    runs = {Algorithm(r.summary["algorithm"]): r.run for r in expected}
    for kind, (report, audit) in done.items():
        # every message the in-process eavesdropper heard, from the first iteration on
        record = RunDir(written[kind].run_dir).adversaries.record(SPY)
        assert heard(record) == heard(runs[kind].adversaries.record(SPY)), kind
        for key in STATE_KEYS:
            assert audit[key] == in_process[kind][key], (kind, key)
        for key in ("graph_recovered", "edges_seen", "sizes"):
            assert audit["metadata"][key] == in_process[kind]["metadata"][key], (kind, key)
        assert audit["targets"] == [f"a{i}" for i in range(AGENTS)]
        print(f"{kind.value}: {report['messages']} messages recorded; {audit['method']}")
    plain, paillier = done[Algorithm.PLAIN][1], done[Algorithm.PAILLIER][1]
    # states in the clear: every one recovered exactly
    assert plain["state_rel_error_median"] == plain["state_rel_error_final"] == 0.0
    assert plain["state_cosine_median"] == 1.0
    assert plain["metadata"]["graph_recovered"] is True
    # ciphertexts only: nothing beyond its prior (the zero estimate)
    assert paillier["method"] == "prior (nothing readable)"
    assert paillier["state_rel_error_median"] == paillier["state_rel_error_final"] == 1.0
    assert paillier["state_cosine_median"] == 0.0
    print(f"two compose projects (plain, paillier) with an eavesdropper: {seconds:.1f} s")
