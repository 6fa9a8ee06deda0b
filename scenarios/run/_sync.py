"""``run_sync``: :func:`run_scenario` for a notebook or a script, without ``await``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from .._errors import BadInput
from ..spec import Scenario, parse
from ._result import Progress, RunResult
from ._scenario import run_scenario


def run_sync(
    scenario: Scenario,
    *,
    source: Path | None = None,
    out: Path | str | None = None,
    progress: Progress | None = None,
    spawn: str = "tasks",
    restarts: int = 0,
    **overrides: Any,
) -> list[RunResult]:
    """Run every algorithm of ``scenario`` to its end, in a new event loop; one result
    per run directory. ``overrides`` change scenario fields first (see :func:`override`,
    e.g. ``iterations=50`` or ``algorithm={"lambda0": 0.1}``). Inside a running event loop (a
    Jupyter cell is one) this refuses: ``await run_scenario(...)`` there instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise BadInput(
            "run_sync() was called inside a running event loop (a Jupyter cell runs in one): "
            "use 'await scenarios.run_scenario(scenario)' there"
        )
    if overrides:
        scenario = override(scenario, **overrides)
    return asyncio.run(
        run_scenario(
            scenario,
            source=source,
            out=Path(out) if out is not None else None,
            progress=progress,
            spawn=spawn,
            restarts=restarts,
        )
    )


def override(scenario: Scenario, **fields: Any) -> Scenario:
    """``scenario`` with ``fields`` changed, validated like a scenario file: a top-level
    value replaces the field; a dict given for a section (``algorithm``, ``problem``, ...)
    changes only the keys it names."""
    doc = scenario.model_dump()
    unknown = sorted(set(fields) - set(doc))
    if unknown:
        raise BadInput(f"no scenario field {', '.join(unknown)} to override")
    for name, value in fields.items():
        section = doc[name]
        doc[name] = (
            {**section, **value} if isinstance(section, dict) and isinstance(value, dict) else value
        )
    return parse(doc, source="overrides")
