"""A scenario file that runs (memory transport, small keys) with keys changed, and the
processes a refused run must not leave: shared by the bad-input tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# the sections of a scenario that runs (memory transport, small keys); a row replaces
# or adds one key, written as TOML text
BASE: dict[str, dict[str, str]] = {
    "": {"name": '"bad"', "seed": "1", "iterations": "3"},
    "topology": {"kind": '"ring"', "n": "4"},
    "problem": {"kind": '"least_squares"', "dim": "2"},
    "algorithm": {"kind": '"paillier"'},
    "crypto": {"key_bits": "256", "insecure_keys": "true", "inline": "true"},
    "transport": {"kind": '"memory"'},
    "output": {},
}


def scenario_text(out: Path, changes: dict[str, str]) -> str:
    sections = {name: dict(values) for name, values in BASE.items()}
    sections["output"]["dir"] = f'"{out.as_posix()}"'
    for dotted, value in changes.items():
        section, _, key = dotted.rpartition(".")
        if value:
            sections[section][key] = value
        else:
            del sections[section][key]
    lines: list[str] = []
    for name, values in sections.items():
        if name:
            lines.append(f"[{name}]")
        lines += [f"{key} = {value}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def toml(**changes: str) -> Callable[[Path], bytes]:
    """A scenario file with these keys (``algorithm__dp_noise="inf"``) changed; an empty
    value removes the key."""
    fixed = {key.replace("__", "."): value for key, value in changes.items()}
    return lambda out: scenario_text(out, fixed).encode()


def leftover_processes(marker: str) -> list[str]:
    """Command lines (from /proc) of running processes that mention ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(cmdline)
    return found
