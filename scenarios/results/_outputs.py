"""Where a command will write, checked before anything starts (one line naming the place).

A folder (a run's output folder, the dashboard's, an agent's run directory) may be missing,
it and its missing parents are then created as before; but the nearest part of it that
exists must be a directory this process can write in. A file (a drawing, a result) must
have an existing, writable folder and must not be a directory. Writability is tried for
real, with a temporary entry removed at once: permission bits say nothing to root, or on a
read-only file system.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .._errors import BadInput


def check_output_dir(path: Path | str, *, what: str) -> None:
    """:class:`BadInput` (``what`` and ``path`` named) unless ``path`` is a directory or can
    be made one: not a file, no file on the way, in a place this process may write."""
    path = Path(path)
    where = f"{what} {path}"
    existing = path
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
    except OSError as exc:
        raise BadInput(f"{where}: cannot look at {existing}: {exc.strerror}") from exc
    if existing == path and not path.is_dir():
        raise BadInput(f"{where}: is a file, not a directory")
    if not existing.is_dir():
        raise BadInput(f"{where}: {existing} is a file, not a directory")
    _writable(existing, where)


def check_output_file(path: Path | str, *, what: str) -> None:
    """:class:`BadInput` (``what`` and ``path`` named) unless ``path`` can be written as a
    file: not a directory, in an existing folder this process may write in."""
    path = Path(path)
    where = f"{what} {path}"
    if path.is_dir():
        raise BadInput(f"{where}: is a directory, not a file")
    folder = path.parent
    if not folder.exists():
        raise BadInput(f"{where}: its folder {folder} does not exist")
    if not folder.is_dir():
        raise BadInput(f"{where}: {folder} is a file, not a directory")
    _writable(folder, where)
    if path.exists() and not os.access(path, os.W_OK):
        raise BadInput(f"{where}: the file is not writable")


def _writable(folder: Path, where: str) -> None:
    try:
        probe = tempfile.mkdtemp(prefix=".hemesh-probe-", dir=folder)
    except OSError as exc:
        raise BadInput(f"{where}: cannot write in {folder}: {exc.strerror}") from exc
    os.rmdir(probe)
