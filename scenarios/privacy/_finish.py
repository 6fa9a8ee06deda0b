"""After a run's agents are done: its adversaries' records completed, then the audit
(``hemesh audit RUN_DIR``, and every runner once its agents finish).

- colluders whose members ran in processes of their own wrote one part each
  (``adversaries/<name>/<agent>.jsonl``): merged into ``<name>.record.jsonl``, sorted
  by iteration and member, one line per member and iteration (a restarted member
  observed again what it did after its checkpoint: its last line of an iteration is
  kept, the one its neighbours' run went on with);
- the targets' true gradients: one line per iteration, sorted, the last kept;
- a membership attacker's record: every agent's released model, its last logged state;
- then :func:`~scenarios.privacy.audit_run`.

A run directory that is not one, or whose agents or adversaries did not finish writing,
is refused with one line (:class:`BadInput`) before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import BadInput
from ..results import AdversaryDir, RunDir, read_json, read_jsonl, read_log, write_jsonl
from ..spec import agent_index
from ._audit import audit_run
from ._params import PublicParams


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditResult:
    """What :func:`finish_adversaries` did."""

    summary: dict[str, Any]
    """Adversary name -> its numbers (``audit.json``)."""
    audit: Path
    """``audit.json``."""
    notes: tuple[str, ...] = ()
    """What the numbers lack (no true gradients: no gradient scores)."""


def merge_member_records(parts: Sequence[Path], record: Path) -> int:
    """Write the members' ``parts`` as one record: one line per (iteration, member),
    the last written of each kept, sorted by iteration then member; lines that are not
    observations (a line torn by a kill) are left out. Returns the number of lines."""
    merged: dict[tuple[int, str], dict[str, Any]] = {}
    for part in parts:
        for line in read_jsonl(part, iteration=True).records:
            if isinstance(line.get("agent"), str):
                merged[(int(line["k"]), line["agent"])] = line
    ordered = sorted(merged.items(), key=lambda item: (item[0][0], _order(item[0][1])))
    write_jsonl(record, (line for _, line in ordered))
    return len(ordered)


def _order(agent: str) -> tuple[int, str]:
    index = agent_index(agent)
    return (index if index is not None else -1, agent)


def _tidy_truth(path: Path) -> None:
    """One line per iteration, sorted, the last written of each kept (a resumed agent
    files again the iterations it does again)."""
    read = read_jsonl(path, iteration=True)
    lines = {int(line["k"]): line for line in read.records}
    if read.bad_lines or len(lines) != len(read.records) or list(lines) != sorted(lines):
        write_jsonl(path, (lines[k] for k in sorted(lines)), allow_nan=True)


def released_models(run: RunDir, agents: Sequence[str]) -> list[dict[str, Any]]:
    """What a membership attacker is given: each agent's final model (its last logged
    state), as the agent would publish or deploy it."""
    lines = []
    for agent in sorted(agents, key=_order):
        index = agent_index(agent)
        if index is None:
            raise BadInput(f"{run.path}: {agent!r} is not an agent id")
        last: dict[str, Any] | None = None
        for line in read_jsonl(run.log(agent), iteration=True, missing_ok=True).records:
            if "x" in line:
                last = line
        if last is not None:
            lines.append({"agent": agent, "index": index, "k": int(last["k"]), "x": last["x"]})
    return lines


def _check_run(run: RunDir) -> tuple[PublicParams, list[dict[str, Any]]]:
    """The public parameters and resolved specs of ``run``, once it is known to be a
    run directory whose agents finished and whose adversaries wrote their records."""
    if not RunDir.is_run(run.path):
        raise BadInput(f"{run.path}: not a run directory (no resolved.json and graph.json)")
    folder = run.adversaries
    specs = [read_json(path) for path in folder.specs()]
    if not folder.public.is_file() or not specs:
        raise BadInput(
            f"{run.path}: no adversaries to audit ({folder.public} or the adversaries' "
            "spec files are missing: the scenario has no [[adversary]], or the run was "
            "not prepared by hemesh run / hemesh compose)"
        )
    public = PublicParams.from_json(read_json(folder.public))
    for agent in public.agents:
        log = run.log(agent)
        if not log.is_file():
            raise BadInput(f"{run.path}: incomplete run: agent {agent} left no log ({log})")
        records = read_log(log, dim=public.dim).records
        last = max((int(r["k"]) for r in records), default=-1)
        if last < public.iterations:
            raise BadInput(
                f"{run.path}: incomplete run: the log of {agent} ends at iteration {last} "
                f"of {public.iterations} (audit a run whose agents finished)"
            )
    for spec in specs:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise BadInput(f"{folder.path}: an adversary's spec file is not one: {spec!r}")
        _check_record(folder, spec)
    return public, specs


def _check_record(folder: AdversaryDir, spec: dict[str, Any]) -> None:
    name, kind = spec["name"], spec.get("kind")
    if kind == "colluders":
        parts = {p.stem for p in folder.member_records(name)}
        members = [str(m) for m in spec.get("members") or []]
        if not members:
            raise BadInput(f"adversary {name}: its spec file names no members")
        if parts:
            missing = [m for m in members if m not in parts]
            if missing:
                raise BadInput(
                    f"adversary {name}: incomplete record: member {', '.join(missing)} wrote "
                    f"no part ({folder.member_record(name, missing[0])}); start every member "
                    "with hemesh agent --adversaries"
                )
        elif not folder.record(name).is_file():
            raise BadInput(
                f"adversary {name}: no record: its members ({', '.join(members)}) wrote "
                f"nothing to {folder.member_record(name, members[0]).parent}; start them with "
                "hemesh agent --adversaries"
            )
    elif kind == "eavesdropper" and not folder.record(name).is_file():
        raise BadInput(
            f"adversary {name}: no record ({folder.record(name)}): start it with hemesh "
            "eavesdrop beside the agents"
        )


def finish_adversaries(run: RunDir) -> AuditResult:
    """Complete the adversaries' records of ``run`` (see the module) and run the audit;
    :class:`BadInput` (one line) for a run directory that is damaged or incomplete."""
    public, specs = _check_run(run)
    folder = run.adversaries
    for spec in specs:
        name = spec["name"]
        if spec.get("kind") == "colluders" and (parts := folder.member_records(name)):
            merge_member_records(parts, folder.record(name))
        elif spec.get("kind") == "membership":
            write_jsonl(folder.record(name), released_models(run, public.agents))
    truth = [folder.truth_gradients(a) for a in public.agents]
    for path in truth:
        if path.is_file():
            _tidy_truth(path)
    notes: tuple[str, ...] = ()
    attacked = any(s.get("kind") in ("eavesdropper", "colluders") for s in specs)
    if attacked and not any(path.is_file() for path in truth):
        notes = (
            "no true gradients in this run directory (agents started without "
            "--adversaries): the audit scores states only",
        )
    summary = audit_run(run)
    return AuditResult(summary=summary, audit=folder.audit, notes=notes)
