"""MqttTransport's QoS choice and its sends that do not wait for their PUBACK."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest

from transport import BrokerAddress, Envelope, Kind, MqttTransport, TransportError

WAIT = 10.0


def request_(run: str, k: int) -> Envelope:
    return Envelope(
        run=run, iteration=k, sender="a", receiver="b", kind=Kind.REQUEST, payload={"c": b"x"}
    )


def test_qos_is_checked() -> None:
    address = BrokerAddress(host="127.0.0.1", port=1)
    for bad in (2, -1, True, 1.0, "0"):
        with pytest.raises(TransportError, match="qos must be 0 or 1"):
            MqttTransport("r", address, qos=bad)  # type: ignore[arg-type]
    assert MqttTransport("r", address).qos == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("qos", [0, 1])
async def test_every_send_arrives_even_when_closing_at_once(
    broker: BrokerAddress, run_id: str, qos: int
) -> None:
    """Sends return before their PUBACK (QoS 1) or without one (QoS 0); closing an
    endpoint lets what it sent reach the broker first."""
    transport = MqttTransport(run_id, broker, qos=qos)
    async with transport.endpoint("b", neighbours=["a"]) as b:
        async with transport.endpoint("a", neighbours=["b"]) as a:
            for k in range(200):
                await a.send(request_(run_id, k))
        async with asyncio.timeout(WAIT):
            got = [(await b.receive()).iteration for _ in range(200)]
    assert got == list(range(200))  # in order, none lost, none twice
    assert a.counters.messages_sent == 200


@pytest.mark.asyncio
@pytest.mark.parametrize("qos", [0, 1])
async def test_messages_travel_at_the_chosen_qos(
    broker: BrokerAddress, run_id: str, qos: int, request: pytest.FixtureRequest
) -> None:
    """Mosquitto delivers at min(publish, subscription) QoS as MQTT says; amqtt 0.12
    delivers at the subscription's (1), so there QoS 0 saves only the sender's PUBACK."""
    expected = 1 if request.node.callspec.id.startswith("amqtt") else qos
    transport = MqttTransport(run_id, broker, qos=qos)
    async with aiomqtt.Client(broker.host, broker.port, identifier=f"spy-{run_id}") as spy:
        await spy.subscribe(transport.topics.inbox_filter("b"), qos=1)
        async with transport.endpoint("a", neighbours=["b"]) as a:
            await a.send(request_(run_id, 0))
            async with asyncio.timeout(WAIT):
                message = await anext(aiter(spy.messages))
    assert message.qos == expected
