"""``load_dataset``: one entry point that picks the loader from the source's form."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._arrays import load_npy, load_npz
from ._builtin import load_builtin
from ._dataset import Dataset
from ._refusal import Where, shown
from ._svmlight import load_svmlight
from ._table import load_table

BUILTIN_PREFIX = "builtin:"
FORMATS: dict[str, Callable[..., Dataset]] = {
    "table": load_table,
    "svmlight": load_svmlight,
    "npz": load_npz,
    "npy": load_npy,
}
SUFFIXES: dict[str, str] = {
    ".csv": "table",
    ".tsv": "table",
    ".txt": "table",
    ".svm": "svmlight",
    ".svmlight": "svmlight",
    ".libsvm": "svmlight",
    ".npz": "npz",
    ".npy": "npy",
}


def load_dataset(source: str | Path, *, format: str | None = None, **options: Any) -> Dataset:
    """A :class:`Dataset` from ``builtin:NAME`` (:func:`load_builtin`, no options) or a file,
    read by the loader its suffix names (:data:`SUFFIXES`: ``.csv .tsv .txt`` ->
    :func:`load_table`, ``.svm .svmlight .libsvm`` -> :func:`load_svmlight`, ``.npz``,
    ``.npy``), or by ``format`` (one of :data:`FORMATS`) for any other name. ``options``
    go to that loader; one it does not take is refused, naming those it does."""
    text = str(source)
    if isinstance(source, str) and text.startswith(BUILTIN_PREFIX) and format is None:
        if options:
            raise Where(source=text).refuse(
                "a built-in dataset takes no options, got " + ", ".join(sorted(options))
            )
        return load_builtin(text.removeprefix(BUILTIN_PREFIX))
    where = Where(source=text)
    if format is None:
        suffix = Path(text).suffix.lower()
        if suffix not in SUFFIXES:
            raise where.refuse(
                f"unknown file type {shown(suffix or '(no suffix)')}: the suffixes read are "
                + " ".join(SUFFIXES)
                + f"; pass format= one of {', '.join(FORMATS)}, or use {BUILTIN_PREFIX}NAME"
            )
        format = SUFFIXES[suffix]
    if format not in FORMATS:
        raise where.refuse(f"format must be one of {', '.join(FORMATS)}, got {shown(format)}")
    loader = FORMATS[format]
    accepted = [
        p.name for p in inspect.signature(loader).parameters.values() if p.kind is p.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise where.refuse(
            f"option {', '.join(unknown)} is not one the {format} loader takes; it takes "
            + ", ".join(accepted)
        )
    return loader(Path(text), **options)
