"""The embedded broker replays only the retained messages a client subscribed to.

amqtt 0.12.1, unpatched, sends every new client the retained messages matching
*any* client's filters, and can crash the connection while doing so; the
embedded broker's process fixes that (transport/embedded/_amqtt.py).
"""

from __future__ import annotations

import asyncio

import pytest

from transport import BROADCAST, BrokerAddress, Envelope, Kind, MqttTransport

BOUND = 10.0


def key(run: str, agent: str) -> Envelope:
    return Envelope(run=run, iteration=0, sender=agent, receiver=BROADCAST, kind=Kind.KEY)


@pytest.mark.asyncio
async def test_a_new_client_gets_only_the_retained_keys_it_subscribed_to(
    embedded_broker: BrokerAddress, run_id: str
) -> None:
    other = MqttTransport(f"{run_id}-other", embedded_broker)
    ours = MqttTransport(run_id, embedded_broker)
    # another run publishes retained keys while its agents stay subscribed
    async with (
        other.endpoint("a0", neighbours=["a1"]) as a0,
        other.endpoint("a1", neighbours=["a0"]) as a1,
    ):
        await a0.send(key(other.run, "a0"))
        await a1.send(key(other.run, "a1"))
        async with asyncio.timeout(BOUND):
            assert (await a1.receive()).sender == "a0"
        # our run: b0 publishes its key, then b1 connects and must see b0's key only
        async with ours.endpoint("b0", neighbours=["b1"]) as b0:
            await b0.send(key(ours.run, "b0"))
            async with ours.endpoint("b1", neighbours=["b0"]) as b1:
                async with asyncio.timeout(BOUND):
                    received = await b1.receive()
                assert (received.run, received.sender) == (ours.run, "b0")
                await asyncio.sleep(0.3)  # anything misrouted would have arrived by now
                # the control: b1's subscription was live through the wait, a fresh message
                # from b0 arrives (and is the only other one)
                request = Envelope(
                    run=ours.run, iteration=1, sender="b0", receiver="b1", kind=Kind.REQUEST
                )
                await b0.send(request)
                async with asyncio.timeout(BOUND):
                    assert await b1.receive() == request
                assert b1.counters.dropped == 0
                assert b1.counters.messages_received == 2


@pytest.mark.asyncio
async def test_many_clients_connecting_at_once_all_get_their_keys(
    embedded_broker: BrokerAddress, run_id: str
) -> None:
    transport = MqttTransport(run_id, embedded_broker)
    ids = [f"a{i}" for i in range(12)]

    async def agent(i: int) -> int:
        me, neighbours = ids[i], [ids[(i - 1) % 12], ids[(i + 1) % 12]]
        async with transport.endpoint(me, neighbours=neighbours) as endpoint:
            await endpoint.send(key(run_id, me))
            senders: set[str] = set()
            async with asyncio.timeout(BOUND):
                while senders != set(neighbours):
                    senders.add((await endpoint.receive()).sender)
            await asyncio.sleep(0.5)  # stay until the others have their keys
            return endpoint.counters.dropped

    for _ in range(3):  # repeated waves of connections and disconnections
        assert await asyncio.gather(*(agent(i) for i in range(12))) == [0] * 12
