"""Fixtures for the whole suite: real brokers on free ports and a unique run id per test.

Helpers live in ``tests/_brokers.py`` (``from tests._brokers import free_port``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests._brokers import Mosquitto, require_mosquitto
from transport import BrokerAddress, EmbeddedBroker


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[BrokerAddress]:
    """A fresh Mosquitto on a free loopback port (skipped without the binary, unless
    HEMESH_REQUIRE_MOSQUITTO=1, which turns that into a failure)."""
    with Mosquitto(require_mosquitto(), tmp_path) as broker:
        yield broker.address


@pytest_asyncio.fixture
async def embedded_broker() -> AsyncIterator[BrokerAddress]:
    """A fresh embedded (amqtt) broker in a child process on a free loopback port."""
    async with EmbeddedBroker() as broker:
        yield broker.address


@pytest.fixture(
    params=[
        pytest.param("embedded_broker", id="amqtt"),
        pytest.param("mosquitto", id="mosquitto", marks=pytest.mark.mosquitto),
    ]
)
def broker(request: pytest.FixtureRequest) -> BrokerAddress:
    """Each of the two brokers in turn (the test runs once on each): the embedded one and
    a Mosquitto, both fresh and open."""
    address: BrokerAddress = request.getfixturevalue(request.param)
    return address


@pytest.fixture
def run_id() -> str:
    """A run id no other test uses, so tests sharing a broker never see each other."""
    return "t" + uuid.uuid4().hex[:12]
