"""An in-process message fabric with MQTT's topic semantics, for tests and big simulations."""

from __future__ import annotations

from collections.abc import Callable, Collection

from ._chunks import DEFAULT_TIMEOUT, validate_limit
from ._endpoint import EndpointBase
from ._errors import TransportError
from ._topics import Topics, topic_matches
from ._values import validate_seconds

Listener = Callable[[str, bytes], None]
ROUTE_CACHE = 65536
"""Topics whose listeners are remembered at once (one per inbox pair and key topic)."""


class MemoryBus:
    """A broker in a dict: topic filters to listeners, plus retained messages.

    Delivery is immediate and in order. :meth:`subscribe` lets a test (or an
    in-process eavesdropper) see raw traffic; ``inject`` publishes raw bytes as anyone.
    ``max_message_bytes`` makes its endpoints split larger envelopes into chunks, as on
    a broker (None: never; the bus itself has no limit), rejoined within ``chunk_timeout``
    seconds.
    """

    def __init__(
        self,
        run: str,
        *,
        max_message_bytes: int | None = None,
        chunk_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._chunk_timeout = validate_seconds(chunk_timeout, what="chunk_timeout")
        self._max_message_bytes = (
            None if max_message_bytes is None else validate_limit(max_message_bytes)
        )
        self._topics = Topics(run)
        self._listeners: list[tuple[str, Listener]] = []
        self._retained: dict[str, bytes] = {}
        self._routes: dict[str, list[Listener]] = {}
        """Topic -> its listeners, in subscription order; cleared on every (un)subscribe.
        Without it each message costs one filter match per subscription of the bus."""

    @property
    def run(self) -> str:
        return self._topics.run

    @property
    def topics(self) -> Topics:
        return self._topics

    @property
    def max_message_bytes(self) -> int | None:
        return self._max_message_bytes

    @property
    def chunk_timeout(self) -> float:
        return self._chunk_timeout

    def endpoint(self, agent_id: str, *, neighbours: Collection[str]) -> MemoryEndpoint:
        return MemoryEndpoint(self, agent_id, neighbours)

    def subscribe(self, topic_filter: str, listener: Listener) -> Callable[[], None]:
        """Call ``listener(topic, data)`` for every matching message; returns an unsubscriber."""
        entry = (topic_filter, listener)
        self._listeners.append(entry)
        self._routes.clear()
        for topic, data in list(self._retained.items()):
            if topic_matches(topic_filter, topic):
                listener(topic, data)

        def unsubscribe() -> None:
            self._listeners.remove(entry)
            self._routes.clear()

        return unsubscribe

    def inject(self, topic: str, data: bytes, *, retain: bool = False) -> None:
        """Publish raw bytes on ``topic``, bypassing every endpoint's checks."""
        if retain:
            self._retained[topic] = data
        listeners = self._routes.get(topic)
        if listeners is None:
            listeners = [li for f, li in self._listeners if topic_matches(f, topic)]
            if len(self._routes) >= ROUTE_CACHE:
                self._routes.clear()
            self._routes[topic] = listeners
        for listener in listeners:
            listener(topic, data)


class MemoryEndpoint(EndpointBase):
    """An agent's endpoint on a :class:`MemoryBus`."""

    def __init__(self, bus: MemoryBus, agent_id: str, neighbours: Collection[str]) -> None:
        super().__init__(
            bus.topics,
            agent_id,
            neighbours,
            max_message_bytes=bus.max_message_bytes,
            chunk_timeout=bus.chunk_timeout,
        )
        self._bus = bus
        self._unsubscribe: list[Callable[[], None]] = []

    async def _open_link(self) -> None:
        for topic_filter in self.subscriptions():
            self._unsubscribe.append(self._bus.subscribe(topic_filter, self._deliver))

    async def _close_link(self) -> None:
        while self._unsubscribe:
            self._unsubscribe.pop()()

    async def _publish(self, topic: str, data: bytes, *, retain: bool) -> None:
        if not self._unsubscribe:
            raise TransportError(f"endpoint {self.agent_id!r} is closed")
        self._bus.inject(topic, data, retain=retain)
