"""One consumer of the event stream: its filter, its bounded queue and its close request."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from embedded_server.events.protocol import Subscription
from embedded_server.events.store import Record

# Close codes the bus requests.
GOING_AWAY = 1001
TRY_AGAIN_LATER = 1013


class Subscriber:
    """The bus's handle on one consumer, used only on the event loop.

    The bus appends matching records to the queue; the consumer takes them
    with `next_messages`. Records are shared between subscribers, so their
    JSON text exists once per event however many subscribers there are.

    A new subscriber either receives live events at once, or first catches
    up from ``next_seq``: `next_messages` then pulls replayed chunks through
    the bus until the replay reaches the live stream.

    Attributes:
        subscriber_id: a short id for logs and acknowledgements.
        subscription: the current filter; replace it to change what arrives.
        next_seq: the next seq to replay, or ``None`` once live.
        queue_limit: queued messages past which the bus drops the subscriber.
        close_code, close_reason: set once the bus or the connection asked
            for the socket to close.
    """

    def __init__(
        self,
        subscriber_id: str,
        subscription: Subscription,
        *,
        queue_limit: int,
        catch_up: Callable[[Subscriber], Awaitable[None]],
    ) -> None:
        self.subscriber_id = subscriber_id
        self.subscription = subscription
        self.queue_limit = queue_limit
        self.next_seq: int | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        self._catch_up = catch_up
        self._queue: deque[Record | str] = deque()
        self._urgent: deque[str] = deque()
        self._ready = asyncio.Event()
        self._closed = asyncio.Event()

    @property
    def catching_up(self) -> bool:
        """Whether the subscriber still replays stored events."""
        return self.next_seq is not None

    @property
    def closing(self) -> bool:
        """Whether a close was requested."""
        return self.close_code is not None

    @property
    def queued(self) -> int:
        """Messages waiting to be taken."""
        return len(self._queue) + len(self._urgent)

    def deliver(self, batch: list[Record]) -> bool:
        """Queue the records of a batch that match the subscription.

        Returns:
            False when the queue is over its limit; the bus then drops the
            subscriber.
        """
        before = len(self._queue)
        subscription = self.subscription
        if subscription.everything:
            self._queue.extend(batch)
        else:
            match = subscription.matches
            self._queue.extend(r for r in batch if match(r[1], r[2], r[3]))
        if len(self._queue) == before:
            return True
        self._ready.set()
        return len(self._queue) <= self.queue_limit

    def replay(self, record: Record) -> None:
        """Queue one replayed record; replay is paced by the consumer, not limited."""
        self._queue.append(record)

    def send(self, message: str, *, urgent: bool = False) -> None:
        """Queue a server message.

        Urgent messages (the greeting, heartbeat pings) go ahead of queued
        events. Other messages keep their order with the events, so every
        event after a subscription's acknowledgement matches it.
        """
        if self.closing:
            return
        (self._urgent if urgent else self._queue).append(message)
        self._ready.set()

    async def next_messages(self, limit: int) -> list[str]:
        """Wait for messages and take up to ``limit`` of them as JSON text.

        Returns:
            An empty list once a close was requested.
        """
        while not self.closing:
            if self._urgent or self._queue:
                return self._take(limit)
            if self.catching_up:
                await self._catch_up(self)
                continue
            self._ready.clear()
            await self._ready.wait()
        return []

    def _take(self, limit: int) -> list[str]:
        taken: list[str] = []
        urgent, queue = self._urgent, self._queue
        while urgent and len(taken) < limit:
            taken.append(urgent.popleft())
        while queue and len(taken) < limit:
            item = queue.popleft()
            taken.append(item if isinstance(item, str) else item[4])
        return taken

    def request_close(self, code: int, reason: str) -> None:
        """Ask for the socket to close; queued messages are dropped."""
        if self.closing:
            return
        self.close_code = code
        self.close_reason = reason
        self._queue.clear()
        self._urgent.clear()
        self._ready.set()
        self._closed.set()

    async def wait_closing(self) -> None:
        """Wait until a close was requested."""
        await self._closed.wait()
