"""Fixtures of the container tests: the engine and the image built from the Dockerfile
(once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.containers._engine import Engine, require_engine

ROOT = Path(__file__).parents[2]
IMAGE = "hemesh-test:latest"
"""The image the tests build from the repository's Dockerfile (rebuilt every session, so
it holds the code under test; the engine's layer cache keeps a rebuild short)."""


@pytest.fixture(scope="session")
def engine() -> Engine:
    return require_engine()


@pytest.fixture(scope="session")
def hemesh_image(engine: Engine) -> str:
    engine.build(ROOT, IMAGE)
    return IMAGE
