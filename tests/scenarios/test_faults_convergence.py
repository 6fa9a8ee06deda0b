"""Runs under message loss, duplication, delay and reordering from ``[transport.faults]``.

Clear algorithm on the memory transport, a ring of 6, short round timeouts. A lost
message costs its edge one iteration (both sides drop the term) and one bounded wait;
the run still converges. Duplicates are deduplicated: the trajectory is the same as
without them. A skip notice that is itself lost leaves that one term applied on one
side: the tests measure it and check that nothing else ever breaks the symmetry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scenarios import parse, run_scenario
from transport import Envelope, FaultSpec, FaultyTransport, Kind, MemoryBus, Transport

RING = 6
SEED = 11
CONVERGED = 0.03
"""The run converged: final MSE under 3% of the initial one."""

NOTICE_COPIES = 3
"""A skip notice is sent with its iteration and repeated with the next two (README)."""


@dataclass
class Outcome:
    summary: dict[str, Any]
    run: Path
    lost: list[Envelope] = field(default_factory=list)
    late: set[tuple[int, str, str]] = field(default_factory=set)
    """(k, sender, receiver) of skip notices refused as out of the receiver's window."""

    def journals(self) -> dict[str, list[dict[str, Any]]]:
        return {
            p.stem: [json.loads(line) for line in p.read_text().splitlines()]
            for p in sorted((self.run / "logs").glob("*.jsonl"))
        }

    def states(self) -> dict[str, np.ndarray]:
        return {a: np.array([line["x"] for line in lines]) for a, lines in self.journals().items()}

    def dropped(self) -> dict[str, set[tuple[str, int]]]:
        """Per agent, the (neighbour, iteration) terms it did not keep: skipped at
        iteration k (on line k + 1) or applied and then undone ("compensated")."""
        out = {}
        for agent, lines in self.journals().items():
            terms = {(n, line["k"] - 1) for line in lines for n in line["skipped"]}
            terms |= {(n, k) for line in lines for n, k in line["compensated"]}
            out[agent] = terms
        return out

    def one_sided(self) -> set[tuple[int, str, str]]:
        """(k, i, j): i dropped j's term of iteration k, j kept i's."""
        dropped = self.dropped()
        return {(k, i, j) for i in dropped for j, k in dropped[i] if (i, k) not in dropped[j]}

    def unexplained(self) -> set[tuple[int, str, str]]:
        """One-sided terms not caused by a skip notice lost (every copy of it) or refused
        as late, and not at the last iteration (where a neighbour that has left cannot
        undo a term)."""
        copies = Counter(
            (e.iteration, e.sender, e.receiver) for e in self.lost if e.kind is Kind.SKIP
        )
        lost_skips = {notice for notice, lost in copies.items() if lost >= NOTICE_COPIES}
        last = self.summary["iterations"] - 1
        return {t for t in self.one_sided() - lost_skips - self.late if t[0] != last}


def scenario(
    iterations: int, round_timeout: float, faults: dict[str, Any] | None
) -> dict[str, Any]:
    transport: dict[str, Any] = {
        "kind": "memory",
        "round_timeout": round_timeout,
        "startup_timeout": 5.0,
    }
    if faults is not None:
        transport["faults"] = faults
    return {
        "name": "faults",
        "seed": SEED,
        "iterations": iterations,
        "topology": {"kind": "ring", "n": RING},
        "problem": {"dim": 3, "samples": 20},
        "algorithm": {"kind": "clear"},
        "transport": transport,
        "output": {"record": "state"},
    }


def run(
    tmp: Path,
    *,
    iterations: int,
    round_timeout: float,
    faults: dict[str, Any] | None = None,
) -> Outcome:
    """The scenario's faults injected as the runner injects them (seeded with the
    scenario's seed), through the transport seam so that every lost envelope is seen."""
    lost: list[Envelope] = []
    spec = FaultSpec(**faults) if faults is not None else None

    def recording(run_id: str) -> Transport:
        bus = MemoryBus(run_id)
        if spec is None:
            return bus
        return FaultyTransport(bus, spec, seed=SEED, on_loss=lost.append)

    doc = parse(scenario(iterations, round_timeout, None), source="faults")
    late = LateSkips()
    logging.getLogger("hemesh.agent").addHandler(late)
    try:
        (result,) = asyncio.run(run_scenario(doc, out=tmp, transport_factory=recording))
    finally:
        logging.getLogger("hemesh.agent").removeHandler(late)
    return Outcome(result.summary, result.run.path, lost, late.notices)


class LateSkips(logging.Handler):
    """Collects the skip notices an agent refused because they came outside its window
    (the sender ran more than one iteration ahead): their term stays on one side."""

    PATTERN = re.compile(r"agent (\S+) dropped skip from (\S+) at iteration (\d+): skip notice")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.notices: set[tuple[int, str, str]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if match := self.PATTERN.match(record.getMessage()):
            self.notices.add((int(match[3]), match[2], match[1]))


@pytest.fixture(scope="module")
def lossy(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """5% of every kind of message lost (skip notices and goodbyes included)."""
    return run(
        tmp_path_factory.mktemp("lossy"), iterations=150, round_timeout=0.05, faults={"loss": 0.05}
    )


def test_five_percent_loss_converges(lossy: Outcome) -> None:
    summary = lossy.summary
    assert len(lossy.lost) > 100  # the faults really happened
    assert summary["skipped_edges"] > 0
    assert summary["mse_final"] < CONVERGED * summary["mse_initial"], summary


def test_every_one_sided_drop_is_a_lost_or_late_skip_notice(lossy: Outcome) -> None:
    # measured, not assumed: the protocol's only gaps are a skip notice lost in transit
    # (each is sent three times), one refused for arriving outside the receiver's window,
    # and the last iteration (see the README). 8 runs: 1 one-sided of 4441 dropped terms,
    # at the last iteration (324 notice copies lost); before the goodbye carried the last
    # notices, 3 of 2129 in 4 runs; before notices were repeated, 75 of 3859 (74 lost).
    assert lossy.unexplained() == set(), sorted(lossy.unexplained())
    dropped_terms = sum(len(terms) for terms in lossy.dropped().values())
    assert dropped_terms > 10 * max(1, len(lossy.one_sided()))


def test_with_reliable_skip_notices_only_late_ones_break_symmetry(
    tmp_path: Path,
) -> None:
    outcome = run(
        tmp_path,
        iterations=80,
        round_timeout=0.05,
        faults={"loss": 0.05, "kinds": ["request", "reply"]},
    )
    assert outcome.summary["skipped_edges"] > 0
    assert {e.kind for e in outcome.lost} <= {Kind.REQUEST, Kind.REPLY}
    # measured over 16 runs on 2 busy cores: 0 one-sided terms in 15, 1 (a late notice) in 1
    assert outcome.unexplained() == set(), sorted(outcome.unexplained())
    assert len(outcome.one_sided()) <= 2


def test_duplicates_change_nothing(tmp_path: Path) -> None:
    settings = {"iterations": 200, "round_timeout": 2.0}
    quiet = run(tmp_path / "quiet", **settings)  # type: ignore[arg-type]
    doubled = run(tmp_path / "dup", faults={"duplicate": 0.3}, **settings)  # type: ignore[arg-type]
    assert quiet.summary["mse_final"] < CONVERGED * quiet.summary["mse_initial"]
    states, twins = quiet.states(), doubled.states()
    assert states.keys() == twins.keys()
    for agent in states:
        np.testing.assert_array_equal(states[agent], twins[agent], err_msg=agent)
    assert doubled.summary["skipped_edges"] == 0
    assert doubled.summary["messages_sent"] > 1.2 * quiet.summary["messages_sent"]


def test_delay_and_reordering_converge_and_stay_symmetric(
    tmp_path: Path,
) -> None:
    outcome = run(
        tmp_path,
        iterations=200,
        round_timeout=0.3,
        faults={"delay": 0.01, "reorder": 0.2},
    )
    summary = outcome.summary
    assert summary["mse_final"] < CONVERGED * summary["mse_initial"], summary
    assert outcome.lost == []
    # A goodbye that overtakes a delayed last reply ends the wait for that reply; the
    # skip notice that follows, and its copy inside our own goodbye, reach the neighbour
    # while it waits for that goodbye. Measured before notices went to neighbours that
    # had said goodbye: 0 to 4 one-sided terms a run, all at the last iteration.
    assert outcome.one_sided() == set(), sorted(outcome.one_sided())


def test_the_scenarios_faults_reach_the_agents_sends(tmp_path: Path) -> None:
    """Without the seam the runner itself wraps the agents' transport in the scenario's
    faults: duplicates double the traffic, loss makes agents skip neighbours."""
    settings = {"iterations": 40, "round_timeout": 0.05}
    quiet = run(tmp_path / "quiet", **settings)  # type: ignore[arg-type]
    doc = parse(scenario(faults={"duplicate": 0.5, "loss": 0.1}, **settings), source="f")  # type: ignore[arg-type]
    (faulty,) = asyncio.run(run_scenario(doc, out=tmp_path / "faulty"))
    assert faulty.summary["skipped_edges"] > 0
    assert faulty.summary["messages_sent"] > 1.2 * quiet.summary["messages_sent"]


@pytest.mark.parametrize(
    ("faults", "field", "value"),
    [
        ({"loss": 1.0}, "transport.faults.loss", "1.0"),
        ({"duplicate": -0.5}, "transport.faults.duplicate", "-0.5"),
        ({"reorder": 2}, "transport.faults.reorder", "2"),
        ({"delay": -1}, "transport.faults.delay", "-1"),
        ({"kinds": ["key"]}, "transport.faults.kinds.0", "'key'"),
        ({"jitter": 0.1}, "transport.faults.jitter", "0.1"),
    ],
)
def test_bad_faults_are_named_with_their_value(
    faults: dict[str, Any], field: str, value: str
) -> None:
    from scenarios import ScenarioError

    with pytest.raises(ScenarioError) as info:
        parse(scenario(10, 1.0, faults), source="bad.toml")
    assert str(info.value).startswith(f"bad.toml: {field}:")
    assert f"(got {value})" in str(info.value)
