"""The Dockerfile and its build context, checked without a Docker engine.

The context is what ``.dockerignore`` lets through; the image needs exactly what
the Dockerfile copies. The last test builds the package's wheel from those copied
files alone, as ``pip install .`` in the image would.
"""

from __future__ import annotations

import fnmatch
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [p.strip().rstrip("/") for p in lines if p.strip() and not p.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule for these patterns: a path is out when it or a parent matches;
    ``**/`` matches at any depth."""
    parts = relative.split("/")
    for pattern in patterns:
        deep = pattern.removeprefix("**/")
        for end in range(1, len(parts) + 1):
            if fnmatch.fnmatchcase("/".join(parts[:end]), pattern):
                return True
            if deep != pattern and any(
                fnmatch.fnmatchcase("/".join(parts[start:end]), deep) for start in range(end)
            ):
                return True
    return False


def copied_sources() -> list[str]:
    sources = []
    for word, args in instructions():
        if word == "COPY":
            *from_context, _ = shlex.split(args)
            sources += from_context
    return sources


def test_dockerfile_is_a_slim_python_image_running_hemesh_as_a_user() -> None:
    steps = instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    users = [args for word, args in steps if word == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    (entrypoint,) = [args for word, args in steps if word == "ENTRYPOINT"]
    assert entrypoint == '["hemesh"]'
    assert any(word == "RUN" and "pip install ." in args for word, args in steps)
    # the logs volume is mounted at /runs: the image must let the user write there
    assert any(word == "RUN" and "chown hemesh:hemesh /runs" in args for word, args in steps)


def test_dockerignore_keeps_environments_runs_and_caches_out() -> None:
    patterns = ignore_patterns()
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "runs/ring8-1/paillier/logs/a0.jsonl",
        "scenarios/__pycache__/_cli.cpython-311.pyc",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/x",
        ".pytest_cache/v",
        ".hypothesis/examples/x",
        "hemesh.egg-info/PKG-INFO",
    ):
        assert ignored(path, patterns), path
    for path in ("pyproject.toml", "README.md", "scenarios/_cli.py", "agents/__init__.py"):
        assert not ignored(path, patterns), path


def test_dockerfile_copies_what_pip_install_needs_and_the_context_has_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = {project["project"]["readme"], "pyproject.toml"}
    # every top-level package the wheel takes (sub-packages come with their directory)
    needed |= {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    sources = copied_sources()
    assert needed <= set(sources)
    patterns = ignore_patterns()
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
        assert not ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"


@pytest.mark.slow
def test_the_copied_files_alone_build_the_package(tmp_path: Path) -> None:
    """Built as the image builds it (pip's build isolation fetches setuptools)."""
    context = tmp_path / "context"
    patterns = ignore_patterns()
    for source in copied_sources():
        path = ROOT / source
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if not ignored(relative, patterns):
                (context / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, context / relative)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(context)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("hemesh-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "hemesh = scenarios:main" in archive.read(entry_points).decode()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    for module in (
        "agents/_crypto_worker.py",
        "transport/embedded/_server.py",
        "topologies/__init__.py",
        "scenarios/__main__.py",
        "scenarios/deploy/_agent_process.py",
        "scenarios/examples/ring8.toml",
    ):
        assert module in names, module
    for package in ("agents", "transport", "topologies", "scenarios"):  # every sub-package too
        for init in (ROOT / package).rglob("__init__.py"):
            assert init.relative_to(ROOT).as_posix() in names, init
    assert "Requires-Dist: pyyaml" in metadata
