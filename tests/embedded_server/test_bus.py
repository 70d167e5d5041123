"""Tests for the event bus: numbering, storage, pruning, fan-out and replay."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading

import pytest

from embedded_server.events.bus import EventBus
from embedded_server.events.protocol import Subscription
from embedded_server.store.database import Database

pytestmark = pytest.mark.anyio

TIMEOUT = 10.0
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "history.db"


@pytest.fixture
async def make_bus(db_path):
    """Build started buses on one database file; closes them at the end."""
    opened: list[tuple[EventBus, Database]] = []

    async def make(**options) -> EventBus:
        database = Database(db_path)
        bus = EventBus(database, **options)
        await bus.start()
        opened.append((bus, database))
        return bus

    yield make
    for bus, database in opened:
        await bus.close()
        database.close()


def stored_rows(db_path) -> list[tuple]:
    with sqlite3.connect(db_path) as connection:
        return connection.execute(
            "SELECT seq, type, job_id, flow_id, timestamp, body FROM events ORDER BY seq"
        ).fetchall()


async def take(subscriber, count: int) -> list[dict]:
    """Take ``count`` messages from a subscriber, decoded."""
    messages: list[dict] = []
    while len(messages) < count:
        batch = await asyncio.wait_for(
            subscriber.next_messages(count - len(messages)), TIMEOUT
        )
        assert batch, "the subscriber was closed"
        messages.extend(json.loads(text) for text in batch)
    return messages


async def test_publish_numbers_events_and_formats_them(make_bus):
    bus = await make_bus()
    subscriber = bus.open_subscriber()

    first = bus.publish("job_started", "job-1", "flow-a", {"job": {"job_id": "job-1"}})
    second = bus.publish("log_message", None, None, {"message": "héllo ✓"})
    messages = await take(subscriber, 2)

    assert (first, second) == (1, 2)
    assert bus.last_seq == 2
    assert list(messages[0]) == [
        "type",
        "seq",
        "job_id",
        "flow_id",
        "timestamp",
        "data",
    ]
    assert messages[0]["type"] == "job_started"
    assert messages[0]["job_id"] == "job-1"
    assert messages[0]["flow_id"] == "flow-a"
    assert messages[0]["data"] == {"job": {"job_id": "job-1"}}
    assert TIMESTAMP.match(messages[0]["timestamp"])
    assert messages[1]["job_id"] is None
    assert messages[1]["data"] == {"message": "héllo ✓"}


async def test_publish_survives_unserialisable_data(make_bus):
    bus = await make_bus()
    subscriber = bus.open_subscriber()
    circular: dict = {}
    circular["self"] = circular

    bus.publish("event_emitted", "job-1", "flow-a", {"value": object()})
    bus.publish("event_emitted", "job-1", "flow-a", circular)
    first, second = await take(subscriber, 2)

    assert first["data"]["value"].startswith("<object object")
    assert "unserializable" in second["data"]


async def test_seq_continues_after_restart(make_bus, db_path):
    bus = await make_bus()
    for _ in range(5):
        bus.publish("job_started", "job-1", "flow-a", {})
    await bus.close()

    restarted = await make_bus()
    seq = restarted.publish("job_completed", "job-1", "flow-a", {})

    assert restarted.last_seq == 6
    assert seq == 6


async def test_close_stores_every_event(make_bus, db_path):
    bus = await make_bus()
    for index in range(1_000):
        bus.publish("log_message", "job-1", "flow-a", {"index": index})
    await bus.close()

    rows = stored_rows(db_path)

    assert [row[0] for row in rows] == list(range(1, 1_001))
    assert json.loads(rows[-1][5])["data"] == {"index": 999}
    assert rows[0][1:4] == ("log_message", "job-1", "flow-a")
    assert isinstance(rows[0][4], float)


async def test_close_stores_events_published_before_start(db_path):
    database = Database(db_path)
    bus = EventBus(database)
    bus.publish("job_started", "job-1", "flow-a", {})
    await bus.close()
    database.close()

    assert [row[0] for row in stored_rows(db_path)] == [1]


async def test_publish_from_threads_is_gapless(make_bus, db_path):
    bus = await make_bus()
    subscriber = bus.open_subscriber()
    returned: list[int] = []
    lock = threading.Lock()

    def publish_many(worker: int) -> None:
        for index in range(500):
            seq = bus.publish(
                "log_message", f"job-{worker}", "flow-a", {"index": index}
            )
            with lock:
                returned.append(seq)

    threads = [threading.Thread(target=publish_many, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    await asyncio.to_thread(lambda: [thread.join(10) for thread in threads])
    received = await take(subscriber, 4_000)
    await bus.close()

    assert sorted(returned) == list(range(1, 4_001))
    assert [message["seq"] for message in received] == list(range(1, 4_001))
    assert len(stored_rows(db_path)) == 4_000


async def test_event_text_is_shared_between_subscribers(make_bus):
    bus = await make_bus()
    first = bus.open_subscriber()
    second = bus.open_subscriber()

    bus.publish("job_started", "job-1", "flow-a", {})
    [text_a] = await asyncio.wait_for(first.next_messages(10), 5)
    [text_b] = await asyncio.wait_for(second.next_messages(10), 5)

    assert text_a is text_b


async def test_subscription_filters_live_events(make_bus):
    bus = await make_bus()
    subscriber = bus.open_subscriber(
        subscription=Subscription(frozenset({"job_failed"}), frozenset({"job-2"}))
    )

    bus.publish("job_failed", "job-1", "flow-a", {})
    bus.publish("job_started", "job-2", "flow-a", {})
    bus.publish("job_failed", "job-2", "flow-a", {})
    [message] = await take(subscriber, 1)

    assert (message["seq"], message["type"], message["job_id"]) == (
        3,
        "job_failed",
        "job-2",
    )
    assert subscriber.queued == 0


async def test_prune_keeps_newest_events(make_bus, db_path):
    bus = await make_bus(keep_events=100)
    for index in range(1_000):
        bus.publish("log_message", "job-1", "flow-a", {"index": index})
    await bus.close()

    seqs = [row[0] for row in stored_rows(db_path)]

    assert seqs[-100:] == list(range(901, 1_001))
    # Pruning runs in steps of a tenth of keep_events.
    assert len(seqs) <= 110


async def test_overflow_drops_subscriber_with_1013(make_bus):
    bus = await make_bus(subscriber_queue=10)
    slow = bus.open_subscriber()
    fast = bus.open_subscriber()

    # Each burst fits a queue of 10; two bursts do not.
    for _burst in range(2):
        for index in range(8):
            bus.publish("log_message", "job-1", "flow-a", {"index": index})
        await take(fast, 8)
    await asyncio.wait_for(slow.wait_closing(), 5)

    assert slow.close_code == 1013
    assert "after_seq" in slow.close_reason
    assert await slow.next_messages(10) == []
    assert fast.close_code is None


async def test_close_asks_subscribers_to_go_away(make_bus):
    bus = await make_bus()
    subscriber = bus.open_subscriber()

    await bus.close()

    assert subscriber.close_code == 1001
    assert bus.subscriber_count == 0
    with pytest.raises(RuntimeError):
        bus.open_subscriber()


async def test_replay_from_memory_then_live(make_bus):
    bus = await make_bus()
    for index in range(30):
        bus.publish("log_message", "job-1", "flow-a", {"index": index})
    await bus.wait_stored()
    subscriber = bus.open_subscriber(after_seq=10)

    replayed = await take(subscriber, 20)
    bus.publish("log_message", "job-1", "flow-a", {"index": 30})
    live = await take(subscriber, 1)

    assert [m["seq"] for m in replayed + live] == list(range(11, 32))
    assert not subscriber.catching_up


async def test_replay_reads_sqlite_beyond_memory(make_bus):
    bus = await make_bus(memory_events=10)
    for index in range(3_000):
        bus.publish("log_message", f"job-{index % 3}", "flow-a", {"index": index})
    subscriber = bus.open_subscriber(after_seq=5)

    messages = await take(subscriber, 2_995)

    assert [m["seq"] for m in messages] == list(range(6, 3_001))


async def test_replay_survives_writer_progress_during_read(make_bus):
    """Replay from SQLite skips nothing when the writer stores more while it reads."""
    bus = await make_bus(memory_events=10)
    bus.publish("log_message", "job-1", "flow-a", {})
    await bus.wait_stored(1)

    # Hold the writer back until a replay read is under way, then let it store
    # everything before that read returns.
    writer_released = threading.Event()
    all_stored = threading.Event()
    store, writer = bus._store, bus._writer
    original_insert, original_read, original_saved = (
        store.insert,
        store.read,
        writer._on_saved,
    )

    def held_insert(records):
        writer_released.wait(TIMEOUT)
        original_insert(records)

    def read_while_writer_runs(*args):
        result = original_read(*args)
        writer_released.set()
        all_stored.wait(TIMEOUT)
        return result

    def note_saved(seq):
        original_saved(seq)
        if seq == 100:
            all_stored.set()

    store.insert, store.read, writer._on_saved = (
        held_insert,
        read_while_writer_runs,
        note_saved,
    )
    for index in range(99):
        bus.publish("log_message", "job-1", "flow-a", {"index": index})
    subscriber = bus.open_subscriber(after_seq=0)

    messages = await take(subscriber, 100)

    assert all_stored.is_set()
    assert [m["seq"] for m in messages] == list(range(1, 101))


async def test_replay_applies_filter_to_stored_events(make_bus):
    bus = await make_bus(memory_events=10)
    for index in range(300):
        bus.publish("log_message", f"job-{index % 3}", "flow-a", {"index": index})
    await bus.wait_stored()
    subscriber = bus.open_subscriber(
        after_seq=0, subscription=Subscription(job_ids=frozenset({"job-1"}))
    )

    messages = await take(subscriber, 100)

    assert {m["job_id"] for m in messages} == {"job-1"}
    assert [m["seq"] for m in messages] == list(range(2, 301, 3))


async def test_replay_reports_pruned_events(make_bus):
    bus = await make_bus(memory_events=10, keep_events=50)
    for index in range(500):
        bus.publish("log_message", "job-1", "flow-a", {"index": index})
    await bus.wait_stored()
    subscriber = bus.open_subscriber(after_seq=3)

    [notice] = await take(subscriber, 1)
    first = notice["first_available_seq"]
    events = await take(subscriber, 501 - first)

    assert notice["type"] == "catch_up:incomplete"
    assert 4 < first <= 451
    assert [m["seq"] for m in events] == list(range(first, 501))


async def test_replay_after_restart_reads_sqlite(make_bus):
    bus = await make_bus()
    for index in range(40):
        bus.publish("log_message", "job-1", "flow-a", {"index": index})
    await bus.close()

    restarted = await make_bus()
    subscriber = restarted.open_subscriber(after_seq=25)
    replayed = await take(subscriber, 15)
    restarted.publish("log_message", "job-1", "flow-a", {"index": 40})
    live = await take(subscriber, 1)

    assert [m["seq"] for m in replayed + live] == list(range(26, 42))


async def test_after_seq_ahead_of_server_reports_reset(make_bus):
    bus = await make_bus()
    bus.publish("log_message", "job-1", "flow-a", {})
    subscriber = bus.open_subscriber(after_seq=500)

    bus.publish("log_message", "job-1", "flow-a", {})
    notice, event = await take(subscriber, 2)

    assert notice["type"] == "catch_up:incomplete"
    assert notice["first_available_seq"] == 2
    assert event["seq"] == 2


def test_keep_events_must_be_positive(db_path):
    database = Database(db_path)
    try:
        with pytest.raises(ValueError, match="keep_events"):
            EventBus(database, keep_events=0)
    finally:
        database.close()
