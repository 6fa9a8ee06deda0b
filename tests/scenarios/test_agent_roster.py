"""``hemesh agent`` trusts the run's roster and is the agent its identity says: a roster
that does not fit is refused with one line and exit 2, before anything connects; and
every run directory holds the roster (public parts) and each agent's identity (0600)."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from agents import Identity, Roster
from scenarios import BadInput, parse, run_scenario
from scenarios.deploy import plan_agent
from scenarios.results import RunDir
from scenarios.spec import load_scenario
from tests._brokers import free_port
from tests.scenarios.support import hemesh, ring8, write_identities, write_toml


def _other_run(out: Path) -> None:
    write_identities(out, "another-run", 3)


def _other_key(out: Path) -> None:
    Identity.generate().save(RunDir(out).identity("a0"))


def _missing_agent(out: Path) -> None:
    run = RunDir(out)
    roster = Roster.load(run.roster)
    Roster(run=roster.run, members={a: roster.public(a) for a in ("a1", "a2")}).save(run.roster)


def _no_roster(out: Path) -> None:
    RunDir(out).roster.unlink()


def _no_identity(out: Path) -> None:
    RunDir(out).identity("a0").unlink()


def _garbled_roster(out: Path) -> None:
    RunDir(out).roster.write_text('{"format": "hemesh-roster/1", "run": "r1"')


SPOILS = [
    (_other_run, "roster.json: the roster is of run 'another-run', this agent's run is 'r1'"),
    (_other_key, "the roster lists another key for 'a0' than its own identity"),
    (_missing_agent, "'a0' is not in the roster of run 'r1'"),
    (_no_roster, "--roster: .*cannot read roster"),
    (_no_identity, "--identity: .*cannot read identity"),
    (_garbled_roster, "--roster: .*not a roster \\(bad JSON"),
]
IDS = ["other-run", "other-key", "missing-agent", "no-roster", "no-identity", "garbled"]


def _path3(tmp_path: Path) -> Path:
    doc = ring8(tmp_path / "runs", "embedded", iterations=2, kind="clear")
    doc["topology"] = {"kind": "path", "n": 3}
    return write_toml(tmp_path / "path3.toml", doc)


@pytest.mark.parametrize(("spoil", "expected"), SPOILS, ids=IDS)
def test_a_roster_mismatch_is_bad_input_naming_it(
    tmp_path: Path, spoil: Callable[[Path], None], expected: str
) -> None:
    scenario = load_scenario(_path3(tmp_path))
    out = tmp_path / "run"
    write_identities(out, "r1", 3)
    plan = plan_agent(scenario, agent="a0", run="r1", out=out, broker="mqtt://h:1")
    assert plan.identity == Identity.load(RunDir(out).identity("a0"))
    spoil(out)
    with pytest.raises(BadInput, match=expected):
        plan_agent(scenario, agent="a0", run="r1", out=out, broker="mqtt://h:1")


def test_hemesh_agent_exits_2_with_one_line_before_connecting(tmp_path: Path) -> None:
    """One of the cases above through the command (each costs a process start)."""
    scenario = _path3(tmp_path)
    out = tmp_path / "run"
    write_identities(out, "r1", 3)
    spoil, expected = SPOILS[1]
    spoil(out)
    port = free_port()  # nothing listens: an agent that tried to connect would fail later
    args = ["--scenario", str(scenario), "--id", "a0", "--run", "r1", "--out", str(out)]
    done = hemesh("agent", *args, "--broker", f"mqtt://127.0.0.1:{port}", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert expected in line
    assert not RunDir(out).log("a0").exists()


def test_every_run_directory_holds_the_roster_and_secret_identities(tmp_path: Path) -> None:
    doc = ring8(tmp_path / "runs", "embedded", iterations=2, kind="clear")
    doc["topology"] = {"kind": "path", "n": 3}
    doc["transport"]["kind"] = "memory"
    (result,) = asyncio.run(run_scenario(parse(doc, source="t")))
    run = result.run
    roster = Roster.load(run.roster)
    assert sorted(roster) == ["a0", "a1", "a2"]
    assert roster.run.endswith("-clear")
    assert json.loads(run.summary.read_text())  # the run went through, authenticated
    assert stat.S_IMODE(run.identities.stat().st_mode) == 0o700
    for agent in roster:
        path = run.identity(agent)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert Identity.load(path).public == roster.public(agent)
    text = run.roster.read_text()
    for agent in roster:  # public parts only
        assert Identity.load(run.identity(agent)).to_bytes().hex() not in text
