"""The server-wide event bus: numbering, fan-out to subscribers, replay and persistence.

Publishers on any thread call `EventBus.publish`, which numbers the event,
serialises it once and returns without waiting. Events reach the event loop
in batches (one ``call_soon_threadsafe`` per batch), where the bus keeps the
newest ones in a ring buffer and appends each to the queue of every
subscriber whose filter matches. A writer thread stores them in SQLite in
batches. A subscriber that reconnects with ``after_seq`` replays what it
missed from the ring buffer, or from SQLite when the ring no longer has it,
and then switches to live events with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any

from embedded_server.events import protocol
from embedded_server.events.protocol import Subscription
from embedded_server.events.store import EventStore, EventWriter, Record
from embedded_server.events.subscriber import GOING_AWAY, TRY_AGAIN_LATER, Subscriber

if TYPE_CHECKING:
    from embedded_server.store.database import Database

logger = logging.getLogger(__name__)

# Events replayed per step. Replay is paced by the subscriber's socket, so a
# client that requests a million events never keeps them all in memory.
REPLAY_CHUNK = 1_000

OVERFLOW_REASON = (
    "Client too slow, event queue full; reconnect with after_seq=<last seq received>"
)


class EventBus:
    """Numbers, stores and fans out the server's events.

    Args:
        database: the history database; events go to its ``events`` table.
        memory_events: newest events kept in memory for fast replay.
        keep_events: newest events kept in SQLite; older ones are pruned.
        subscriber_queue: events a subscriber may have waiting before the
            bus drops it with close code 1013 (it then catches up with
            ``after_seq``).
    """

    def __init__(
        self,
        database: Database,
        *,
        memory_events: int = 50_000,
        keep_events: int = 1_000_000,
        subscriber_queue: int = 50_000,
    ) -> None:
        if memory_events < 1 or subscriber_queue < 1:
            raise ValueError("memory_events and subscriber_queue must be at least 1")
        self._store = EventStore(database, keep_events)
        self._writer = EventWriter(self._store, self._on_saved_threadsafe)
        self._subscriber_queue = subscriber_queue

        # Shared with publisher threads, guarded by _lock.
        self._lock = threading.Lock()
        self._seq = self._store.max_seq()
        self._pending: list[Record] = []
        self._drain_scheduled = False
        self._closed = False
        self._warned_after_close = False

        # Used only on the event loop.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._ring: deque[Record] = deque(maxlen=memory_events)
        self._dispatched_seq = self._seq
        self._saved_seq = self._seq
        self._saved_changed: asyncio.Event | None = None
        self._live: set[Subscriber] = set()
        self._open: set[Subscriber] = set()
        self._ids = itertools.count(1)
        self._reader_pool: ThreadPoolExecutor | None = None
        logger.info("Event bus continues after seq %d", self._seq)

    @property
    def last_seq(self) -> int:
        """The seq of the newest published event (0 before the first)."""
        return self._seq

    @property
    def dispatched_seq(self) -> int:
        """The seq of the newest event handed to subscribers."""
        return self._dispatched_seq

    @property
    def closed(self) -> bool:
        """Whether `close` was called."""
        return self._closed

    @property
    def subscriber_count(self) -> int:
        """Open subscribers, live or catching up."""
        return len(self._open)

    # Publishing (any thread)

    def publish(
        self, type: str, job_id: str | None, flow_id: str | None, data: dict
    ) -> int:
        """Number an event, queue it for subscribers and storage, and return its seq.

        Never blocks on I/O or on the event loop. The only lock it takes is
        held just long enough to number and append a record, or to swap the
        pending list. Values that JSON cannot encode are sent as their
        ``str()``.
        """
        job_id = None if job_id is None else str(job_id)
        flow_id = None if flow_id is None else str(flow_id)
        head = f'{{"type":{encode_basestring_ascii(type)},"seq":'
        ids = f',"job_id":{_json_str(job_id)},"flow_id":{_json_str(flow_id)},"timestamp":"'
        body = f'","data":{_encode_data(type, data)}}}'

        with self._lock:
            self._seq += 1
            seq = self._seq
            now = time.time()
            record = (
                seq,
                type,
                job_id,
                flow_id,
                f"{head}{seq}{ids}{protocol.utc_timestamp(now)}{body}",
                now,
            )
            if self._closed:
                self._warn_closed(seq)
                return seq
            self._writer.put(record)
            self._pending.append(record)
            schedule = self._loop is not None and not self._drain_scheduled
            if schedule:
                self._drain_scheduled = True
        if schedule:
            self._schedule_drain()
        return seq

    def _warn_closed(self, seq: int) -> None:
        if not self._warned_after_close:
            self._warned_after_close = True
            logger.warning(
                "Event %d was published after the bus closed; it is not stored", seq
            )

    def _schedule_drain(self) -> None:
        assert self._loop is not None
        try:
            if threading.get_ident() == self._loop_thread:
                self._loop.call_soon(self._drain)
            else:
                self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:
            # The loop is closed, so no subscriber is left. The writer
            # still stores the event.
            logger.debug("Event loop closed; events stay undelivered")

    # Fan-out (event loop)

    def _drain(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            self._drain_scheduled = False
        if not batch:
            return
        self._ring.extend(batch)
        self._dispatched_seq = batch[-1][0]
        for subscriber in tuple(self._live):
            if not subscriber.deliver(batch):
                self._drop_slow(subscriber)

    def _drop_slow(self, subscriber: Subscriber) -> None:
        logger.warning(
            "Dropping subscriber %s: more than %d events waiting",
            subscriber.subscriber_id,
            subscriber.queue_limit,
        )
        self._live.discard(subscriber)
        subscriber.request_close(TRY_AGAIN_LATER, OVERFLOW_REASON)

    # Subscribers (event loop)

    def open_subscriber(
        self, *, after_seq: int | None = None, subscription: Subscription | None = None
    ) -> Subscriber:
        """Create a subscriber; call on the event loop after `start`.

        Without ``after_seq`` it receives every event published after this
        call. With it, it first replays the stored events after
        ``after_seq``. A ``catch_up:incomplete`` message precedes the replay
        when some of them were pruned, or when ``after_seq`` is ahead of this
        server's numbering because its history was reset.
        """
        if self._closed:
            raise RuntimeError("The event bus is closed")
        # Hand over what is already published, so the live stream starts
        # exactly after last_seq.
        self._drain()
        subscriber = Subscriber(
            f"sub_{next(self._ids)}",
            subscription or Subscription(),
            queue_limit=self._subscriber_queue,
            catch_up=self._catch_up,
        )
        self._open.add(subscriber)
        if after_seq is None or after_seq >= self._dispatched_seq:
            if after_seq is not None and after_seq > self._seq:
                subscriber.send(
                    protocol.catch_up_incomplete(
                        self._dispatched_seq + 1,
                        f"after_seq {after_seq} is ahead of this server's last seq {self._seq}; "
                        "its event history was reset",
                    )
                )
            self._live.add(subscriber)
        else:
            subscriber.next_seq = max(after_seq, 0) + 1
        return subscriber

    def close_subscriber(self, subscriber: Subscriber) -> None:
        """Forget a subscriber whose connection ended."""
        self._live.discard(subscriber)
        self._open.discard(subscriber)

    async def _catch_up(self, subscriber: Subscriber) -> None:
        """Queue the next replay chunk, or switch the subscriber to live events."""
        if not self._replay_from_memory(subscriber):
            await self._replay_from_store(subscriber)

    def _replay_from_memory(self, subscriber: Subscriber) -> bool:
        # Runs without awaiting, so no batch can be dispatched between the
        # last replayed record and joining the live set.
        next_seq = subscriber.next_seq
        assert next_seq is not None
        ring = self._ring
        oldest = ring[0][0] if ring else self._dispatched_seq + 1
        if next_seq < oldest:
            return False

        subscription = subscriber.subscription
        scanned = 0
        for record in itertools.islice(ring, next_seq - oldest, None):
            if subscription.matches(record[1], record[2], record[3]):
                subscriber.replay(record)
            scanned += 1
            if scanned == REPLAY_CHUNK:
                break
        subscriber.next_seq = next_seq + scanned
        if subscriber.next_seq > self._dispatched_seq:
            subscriber.next_seq = None
            self._live.add(subscriber)
        return True

    async def _replay_from_store(self, subscriber: Subscriber) -> None:
        next_seq = subscriber.next_seq
        assert next_seq is not None and self._loop is not None
        if next_seq > self._saved_seq:
            # The ring lost these events before the writer stored them.
            await self._wait_saved()
            return

        # The writer may store more during the read, so the range read is
        # fixed here, not taken from _saved_seq after the await.
        last_seq = self._saved_seq
        subscription = subscriber.subscription
        oldest, rows = await self._loop.run_in_executor(
            self._reader_pool,
            self._store.read,
            next_seq,
            last_seq,
            subscription,
            REPLAY_CHUNK,
        )
        if subscriber.closing or subscription is not subscriber.subscription:
            return  # Read again with the new filter.
        if oldest is None or oldest > next_seq:
            self._report_pruned(subscriber, oldest)
            return
        for record in rows:
            subscriber.replay(record)
        subscriber.next_seq = (
            rows[-1][0] + 1 if len(rows) == REPLAY_CHUNK else last_seq + 1
        )

    def _report_pruned(self, subscriber: Subscriber, oldest_stored: int | None) -> None:
        ring_oldest = self._ring[0][0] if self._ring else self._dispatched_seq + 1
        first_available = min(ring_oldest, oldest_stored or ring_oldest)
        subscriber.send(
            protocol.catch_up_incomplete(
                first_available,
                f"Events {subscriber.next_seq}-{first_available - 1} were pruned from the history",
            )
        )
        subscriber.next_seq = first_available

    async def wait_stored(self, seq: int | None = None) -> None:
        """Wait until the writer stored every event up to ``seq`` (default: `last_seq`)."""
        target = self._seq if seq is None else seq
        while self._saved_seq < target:
            await self._wait_saved()

    async def _wait_saved(self) -> None:
        if self._saved_changed is None:
            self._saved_changed = asyncio.Event()
        await self._saved_changed.wait()

    def _on_saved_threadsafe(self, seq: int) -> None:
        loop = self._loop
        if loop is None:
            self._saved_seq = seq
            return
        try:
            loop.call_soon_threadsafe(self._on_saved, seq)
        except RuntimeError:
            self._saved_seq = seq  # The loop is closed, so no replay waits.

    def _on_saved(self, seq: int) -> None:
        self._saved_seq = max(self._saved_seq, seq)
        changed, self._saved_changed = self._saved_changed, None
        if changed is not None:
            changed.set()

    # Lifecycle

    async def start(self) -> None:
        """Bind the running event loop and start the writer thread."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._reader_pool = ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="event-replay"
        )
        self._writer.start()
        with self._lock:
            schedule = bool(self._pending) and not self._drain_scheduled
            self._drain_scheduled = self._drain_scheduled or schedule
        if schedule:
            self._schedule_drain()
        logger.info("Event bus started")

    async def close(self) -> None:
        """Store every published event and close all subscribers with code 1001."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for subscriber in tuple(self._open):
            subscriber.request_close(GOING_AWAY, "Server is shutting down")
        self._live.clear()
        self._open.clear()

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._writer.stop)
        if self._reader_pool is not None:
            await loop.run_in_executor(None, self._reader_pool.shutdown)
        logger.info("Event bus closed at seq %d", self._seq)


def _json_str(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)


def _encode_data(event_type: str, data: Any) -> str:
    if data is None:
        return "{}"
    try:
        return json.dumps(data, separators=(",", ":"), default=str)
    except (TypeError, ValueError) as exc:
        # Circular references or keys JSON cannot take: keep the event, lose the detail.
        logger.warning(
            "Data of a %s event is not JSON-serialisable: %s", event_type, exc
        )
        return json.dumps({"unserializable": repr(data)[:1000]})
