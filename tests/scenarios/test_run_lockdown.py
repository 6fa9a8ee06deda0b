"""The brokers a run starts are locked down (issue 13, item 3): the embedded one (the
default) as much as Mosquitto, over one ACL from the scenario's graph; each agent logs
in as itself, nothing else gets in; an eavesdropper hears what its ``vantage`` allows."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from aiomqtt.exceptions import MqttConnectError

from scenarios import parse, run_scenario
from scenarios.deploy import OBSERVER, WIRETAP, locked_transport, vantage_addresses
from tests._brokers import require_mosquitto
from tests.scenarios.support import INSECURE_TEST_BITS
from transport import BrokerAddress, TransportError, mqtt_client

WAIT = 10.0
BROKERS = ["embedded", pytest.param("mosquitto", marks=pytest.mark.mosquitto)]


@pytest.mark.parametrize(
    "who", ["anonymous", "wrong password", "unknown user", "another agent's password"]
)
def test_the_embedded_broker_of_a_run_refuses_all_but_its_agents_own_logins(
    who: str, run_id: str, tmp_path: Path
) -> None:
    async def main() -> str:
        async with locked_transport(nx.path_graph(5), run_id, inside=tmp_path) as transport:
            good = transport.address_of("a0")
            assert good.username == "a0" and good.password
            assert transport.address.username == OBSERVER  # anything else: no rights
            other = transport.address_of("a1")
            assert other.username == "a1" and other.password != good.password
            bad = {
                "anonymous": BrokerAddress(host=good.host, port=good.port),
                "wrong password": BrokerAddress(
                    host=good.host, port=good.port, username="a0", password=f"x{good.password}"
                ),
                "unknown user": BrokerAddress(
                    host=good.host, port=good.port, username="eve", password=good.password
                ),
                "another agent's password": BrokerAddress(
                    host=good.host, port=good.port, username="a0", password=other.password
                ),
            }[who]
            with pytest.raises(MqttConnectError):
                async with mqtt_client(bad, identifier="intruder", timeout=WAIT):
                    pass
            with pytest.raises(TransportError, match="refused"):
                async with type(transport)(run_id, bad).endpoint("a0", neighbours=["a1"]):
                    pass
            async with transport.endpoint("a0", neighbours=["a1"]):  # the control
                pass
            return str(good.password)

    password = asyncio.run(main())
    # no secret left on disk: nothing in the run directory holds a password
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert password not in path.read_text(errors="replace")


def ring4(out: Path, broker: str, vantage: str) -> Any:
    return parse(
        {
            "name": "vantage",
            "seed": 3,
            "iterations": 5,
            "topology": {"kind": "ring", "n": 4},
            "problem": {"kind": "least_squares", "dim": 2, "samples": 10},
            "algorithm": {"kind": "clear"},
            "crypto": {"key_bits": INSECURE_TEST_BITS, "insecure_keys": True, "inline": True},
            "transport": {
                "kind": "mqtt",
                "broker": broker,
                "round_timeout": 5.0,
                "startup_timeout": 10.0,
            },
            "adversary": [{"kind": "eavesdropper", "name": "eve", "vantage": vantage}],
            "output": {"dir": str(out)},
        },
        source="vantage",
    )


@pytest.mark.parametrize("vantage", ["broker", "client"])
@pytest.mark.parametrize("broker", BROKERS)
def test_an_eavesdropper_hears_everything_at_the_broker_and_nothing_as_a_client(
    broker: str, vantage: str, tmp_path: Path
) -> None:
    if broker == "mosquitto":
        require_mosquitto()
    (result,) = asyncio.run(run_scenario(ring4(tmp_path, broker, vantage), out=tmp_path))
    assert result.summary["skipped_edges"] == 0
    adversaries = result.run.adversaries
    assert json.loads(adversaries.spec("eve").read_text())["vantage"] == vantage
    lines = adversaries.record("eve").read_text().splitlines()
    heard = [json.loads(line) for line in lines]
    if vantage == "client":
        assert heard == []
        return
    inboxes = {tuple(h["topic"].split("/")[3:]) for h in heard if "/inbox/" in h["topic"]}
    edges = {(f"a{j}", f"a{i}") for i in range(4) for j in ((i - 1) % 4, (i + 1) % 4)}
    assert inboxes == edges  # every directed edge of the ring, from the broker's seat
    assert len(heard) > 20


def test_the_vantage_logins_are_the_wiretap_and_the_observer(run_id: str) -> None:
    async def main() -> None:
        async with locked_transport(nx.cycle_graph(3), run_id) as transport:
            logins = {v: a.username for v, a in vantage_addresses(transport).items()}
            assert logins == {"broker": WIRETAP, "client": OBSERVER}

    asyncio.run(main())
