"""Publisher on its own (QoS 1 sends): a stand-in client whose PUBACKs the test hands
out, and stand-ins for the endpoint's link, call and drop judgement."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from transport import ConnectionLost
from transport.mqtt._publishing import MAX_UNACKED, Link, Publisher

BOUND = 5.0


class Client:
    """Records each publish; each waits for its PUBACK (a future the test resolves)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, int, bool]] = []
        self.acks: list[asyncio.Future[None]] = []
        self.changed = asyncio.Event()

    async def publish(self, topic: str, data: bytes, *, qos: int, retain: bool, **_: Any) -> None:
        self.sent.append((topic, data, qos, retain))
        ack = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        self.changed.set()
        await ack


class Stage:
    def __init__(self, qos: int = 1) -> None:
        self.client = Client()
        self.link = Link(self.client)  # type: ignore[arg-type]
        self.dropped_calls = 0
        self.publisher = Publisher(
            agent="a0",
            run="r",
            qos=qos,
            timeout=BOUND,
            link=self.current,
            call=self.call,
            dropped=self.dropped,
        )

    async def current(self) -> Link:
        return self.link

    async def call(self, link: Link, call: Any) -> Any:
        return await call

    def dropped(self, link: Link, exc: BaseException) -> bool:
        self.dropped_calls += 1
        return True  # a reconnection is under way: resend


async def until(client: Client, condition: Any) -> None:
    """Wait (bounded) until ``condition()`` holds, re-asked after each publish."""
    async with asyncio.timeout(BOUND):
        while not condition():
            client.changed.clear()
            await client.changed.wait()


@pytest.mark.asyncio
async def test_a_send_returns_before_its_puback_and_settle_waits_for_it() -> None:
    stage = Stage()
    await stage.publisher.publish("t/1", b"x", retain=False)
    await until(stage.client, lambda: stage.client.acks)
    assert stage.client.sent == [("t/1", b"x", 1, False)]
    settling = asyncio.create_task(stage.publisher.settle())
    await asyncio.sleep(0.01)
    assert not settling.done()  # the PUBACK is still due
    stage.client.acks[0].set_result(None)
    async with asyncio.timeout(BOUND):
        await settling


@pytest.mark.asyncio
async def test_retained_messages_go_at_qos_1_whatever_the_qos() -> None:
    stage = Stage(qos=0)
    await stage.publisher.publish("keys/a0", b"k", retain=True)
    await until(stage.client, lambda: stage.client.acks)
    stage.client.acks[0].set_result(None)
    await stage.publisher.settle()
    assert stage.client.sent == [("keys/a0", b"k", 1, True)]


@pytest.mark.asyncio
async def test_a_publish_cut_off_by_a_drop_is_sent_once_more_then_given_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stage = Stage()
    await stage.publisher.publish("t/1", b"x", retain=False)
    await until(stage.client, lambda: len(stage.client.acks) == 1)
    stage.client.acks[0].set_exception(ConnectionLost("cut"))
    await until(stage.client, lambda: len(stage.client.acks) == 2)  # resent once
    assert stage.client.sent[1] == stage.client.sent[0]
    with caplog.at_level(logging.WARNING, logger="hemesh.transport"):
        stage.client.acks[1].set_exception(ConnectionLost("cut again"))
        await stage.publisher.settle()
    assert len(stage.client.sent) == 2  # not a third time
    assert stage.dropped_calls == 1
    assert "lost a message it sent: cut again" in caplog.text


@pytest.mark.asyncio
async def test_sends_past_the_unacked_bound_wait_for_a_puback() -> None:
    stage = Stage()
    for i in range(MAX_UNACKED):
        await stage.publisher.publish("t/1", bytes([i % 256]), retain=False)
    blocked = asyncio.create_task(stage.publisher.publish("t/1", b"late", retain=False))
    await until(stage.client, lambda: len(stage.client.acks) == MAX_UNACKED)
    await asyncio.sleep(0.01)
    assert not blocked.done()
    stage.client.acks[0].set_result(None)
    async with asyncio.timeout(BOUND):
        await blocked
    await until(stage.client, lambda: len(stage.client.acks) == MAX_UNACKED + 1)
    assert stage.client.sent[-1][1] == b"late"
    for ack in stage.client.acks[1:]:
        ack.set_result(None)
    await stage.publisher.settle()
