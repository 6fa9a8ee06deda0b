"""An audit of a compose run (issue #15): the eavesdropper is a container of its own,
``hemesh eavesdrop`` logged in with its own read-everything account, subscribed before
any agent starts; the agents run ``hemesh agent --adversaries`` (the colluders' members
write what they see, every target its true gradients); once the agents are done the
eavesdropper is stopped, the logs volume is copied out and ``hemesh audit``'s
:func:`finish_adversaries` completes the records and audits the run.

On plain the eavesdropper recovers every state exactly; on paillier it learns nothing
beyond its prior; every number of the audit (the eavesdropper's, the colluders', the
membership attacker's) equals the in-process audit's for the same seed. One scenario
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
from scenarios.privacy import finish_adversaries, prepare_adversaries
from scenarios.results import RunDir
from scenarios.spec import load_scenario
from tests.containers._engine import Engine, Project, project, same_blas_kernels
from tests.containers._ring import AGENTS, project_name, ring_scenario
from tests.scenarios.support import heard

pytestmark = [pytest.mark.containers, pytest.mark.slow, pytest.mark.timeout(900)]

ITERATIONS = 8
SPY = "wiretap"
SPY_SERVICE = f"eavesdropper-{SPY}"
ADVERSARIES = (
    f'[[adversary]]\nkind = "eavesdropper"\nname = "{SPY}"\n'
    '[[adversary]]\nkind = "colluders"\nname = "pair"\nmembers = ["a1", "a5"]\ntarget = "a0"\n'
    '[[adversary]]\nkind = "membership"\nname = "released"\n'
)
TIMED = ("messages", "sizes")
"""Traffic metadata of the broker's own (retained and status messages), which differs
between brokers; the envelopes themselves are compared with :func:`heard`."""


def without_timing(summary: dict[str, Any]) -> dict[str, Any]:
    meta = summary.get("metadata")
    if meta is None:
        return summary
    return {**summary, "metadata": {k: v for k, v in meta.items() if k not in TIMED}}


def finish(compose: Project, run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Wait for every agent, stop the eavesdropper, copy the logs out, audit: its report
    line and the audit."""
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
    return lines[-1], finish_adversaries(RunDir(run_dir)).summary  # hemesh audit RUN_DIR


def test_an_eavesdropper_container_and_colluding_agents_audit_as_in_process(
    tmp_path: Path, engine: Engine, hemesh_image: str
) -> None:
    scenario = ring_scenario(
        tmp_path / "scenario", iterations=ITERATIONS, baselines=("plain",), adversaries=ADVERSARIES
    )
    written = {
        kind: write_compose(
            scenario,
            tmp_path / f"deploy-{kind.value}" / "compose.yml",
            algorithm=kind,
            image=hemesh_image,
            prepare_adversaries=prepare_adversaries,
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
            runs = [written[kind].run_dir for kind in projects]
            done = dict(zip(projects, pool.map(finish, projects.values(), runs), strict=True))
    seconds = time.monotonic() - started

    expected = asyncio.run(run_scenario(load_scenario(scenario), out=tmp_path / "in-process"))
    in_process = {Algorithm(r.summary["algorithm"]): r for r in expected}
    for kind, (report, audit) in done.items():
        theirs = in_process[kind].summary["audit"]
        assert {SPY, "pair", "released"} <= set(audit)
        assert set(audit) == set(theirs), kind
        for name in theirs:  # states, gradients, inputs, by distance: every number
            assert without_timing(audit[name]) == without_timing(theirs[name]), (kind, name)
        # every envelope the in-process eavesdropper heard, from the first iteration on
        record = RunDir(written[kind].run_dir).adversaries.record(SPY)
        assert heard(record) == heard(in_process[kind].run.adversaries.record(SPY)), kind
        assert audit[SPY]["targets"] == [f"a{i}" for i in range(AGENTS)]
        print(f"{kind.value}: {report['messages']} messages recorded; {audit[SPY]['method']}")
    plain, paillier = done[Algorithm.PLAIN][1][SPY], done[Algorithm.PAILLIER][1][SPY]
    # states in the clear: every one recovered exactly
    assert plain["state_rel_error_median"] == plain["state_rel_error_final"] == 0.0
    assert plain["state_cosine_median"] == 1.0
    assert plain["metadata"]["graph_recovered"] is True
    # ciphertexts only: nothing beyond its prior (the zero estimate)
    assert paillier["method"] == "prior (nothing readable)"
    assert paillier["state_rel_error_median"] == paillier["state_rel_error_final"] == 1.0
    assert paillier["state_cosine_median"] == 0.0
    print(f"two compose projects (plain, paillier) with adversaries: {seconds:.1f} s")
