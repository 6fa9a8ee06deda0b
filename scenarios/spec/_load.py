"""Reading a scenario: TOML (or a run's ``resolved.json``), validated, errors naming the
field and value (:class:`BadInput`)."""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._errors import BadInput
from ._feasibility import check_against_graph
from ._models import FIELD_ERROR, Scenario, TopologySpec

BUILTIN = "builtin:"
"""``data = "builtin:NAME"`` names a dataset scikit-learn ships, not a file."""


def parse(doc: dict[str, Any], *, source: str) -> Scenario:
    """Validate a scenario document; the error names the first bad field and its value."""
    try:
        scenario = Scenario.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        # drop the member tags pydantic puts in union paths ("constrained-float", "list[...]")
        path = [str(p) for p in err["loc"] if not (isinstance(p, str) and ("-" in p or "[" in p))]
        got = f" (got {err['input']!r})" if err["type"] != "missing" else ""
        message = err["msg"]
        if err["type"] == FIELD_ERROR:  # a cross-field check names its own field and value
            ctx = err.get("ctx") or {}
            path.append(str(ctx["field"]))
            got = "" if ctx["value"] is None else f" (got {ctx['value']!r})"
        where = ".".join(path) or "(top level)"
        more = f"; {exc.error_count() - 1} more error(s)" if exc.error_count() > 1 else ""
        raise BadInput(f"{source}: {where}: {message}{got}{more}") from None
    _check_finite(scenario.model_dump(), (), source=source)
    return scenario


def _check_finite(value: object, path: tuple[str, ...], *, source: str) -> None:
    """Refuse an infinite or NaN float in any field (it cannot be written as JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise BadInput(
            f"{source}: {'.'.join(path)}: Input should be a finite number (got {value!r})"
        )
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(item, (*path, str(key)), source=source)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        for index, item in enumerate(value):
            _check_finite(item, (*path, str(index)), source=source)


def load(path: Path) -> Scenario:
    """Read and validate a scenario file; relative data paths resolve against its folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read scenario: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: {_not_text(exc)}") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{path}: not valid TOML: {exc}") from exc
    scenario = resolve_paths(parse(doc, source=str(path)), path.parent)
    check_against_graph(scenario, source=str(path))
    return scenario


def load_scenario(path: Path) -> Scenario:
    """A scenario TOML file, or the ``resolved.json`` of a run directory.

    A ``resolved.json`` names the algorithm of its own run directory; its
    ``baselines`` are the other directories of the same run and are dropped.
    """
    if path.suffix != ".json":
        return load(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read scenario: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{path}: {_not_text(exc)}") from exc
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise BadInput(f"{path}: a scenario must be a JSON object")
    algorithm = doc.get("algorithm")
    if isinstance(algorithm, dict):
        doc["algorithm"] = {**algorithm, "baselines": []}
    return parse(doc, source=str(path))


def _not_text(exc: UnicodeDecodeError) -> str:
    byte = exc.object[exc.start : exc.start + 1].hex()
    return (
        f"not a UTF-8 text file (byte 0x{byte} at offset {exc.start}); "
        "a scenario is TOML written as UTF-8"
    )


def resolve_paths(scenario: Scenario, base: Path) -> Scenario:
    """Make the data and graph file paths of a scenario absolute against ``base``."""
    problem = scenario.problem
    if problem.csv is not None and not problem.csv.is_absolute():
        problem = problem.model_copy(update={"csv": (base / problem.csv).resolve()})
    data = problem.data
    if data is not None and not data.startswith(BUILTIN) and not Path(data).is_absolute():
        problem = problem.model_copy(update={"data": str((base / data).resolve())})
    if problem.kind == "python":
        folders = [(base / p).resolve() for p in problem.module_path]
        if base.resolve() not in folders:
            folders.append(base.resolve())
        problem = problem.model_copy(update={"module_path": folders})
    topology = scenario.topology
    extra = dict(topology.model_extra or {})
    if topology.kind == "file" and isinstance(extra.get("path"), str):
        extra["path"] = str((base / extra["path"]).resolve())
        topology = TopologySpec(kind="file", **extra)
    return scenario.model_copy(update={"problem": problem, "topology": topology})
