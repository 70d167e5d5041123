"""The SQLite side of the event bus: a batching writer thread, pruning and range reads."""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from embedded_server.events.protocol import Subscription

if TYPE_CHECKING:
    from embedded_server.store.database import Database

logger = logging.getLogger(__name__)

# One published event: seq, type, job_id, flow_id, the message as JSON text,
# and the timestamp in epoch seconds. Rows read back have the same shape.
Record = tuple[int, str, str | None, str | None, str, float]

_INDEXES = """
CREATE INDEX IF NOT EXISTS events_by_job ON events (job_id, seq);
"""
_INSERT = (
    "INSERT INTO events (seq, type, job_id, flow_id, timestamp, body) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_MAX_BATCH = 5_000
_MAX_ATTEMPTS = 5
_RETRY_DELAY = 0.5
_STOP = None


class EventStore:
    """Reads and writes the ``events`` table and keeps it to ``keep_events`` rows."""

    def __init__(self, database: Database, keep_events: int) -> None:
        if keep_events < 1:
            raise ValueError(f"keep_events must be at least 1, got {keep_events}")
        self._database = database
        self._keep_events = keep_events
        # Pruning runs once this many rows are past the limit, so most batches
        # skip the DELETE and each DELETE removes a useful amount.
        self._prune_step = max(1, min(10_000, keep_events // 10))
        self._pruned_through = 0
        database.write(lambda connection: connection.executescript(_INDEXES))

    def max_seq(self) -> int:
        """Return the highest stored seq, or 0 for an empty table."""
        row = self._database.write(
            lambda connection: connection.execute(
                "SELECT MAX(seq) FROM events"
            ).fetchone()
        )
        return int(row[0] or 0)

    def insert(self, records: list[Record]) -> None:
        """Store a batch of records in one transaction, then prune old rows."""
        rows = [(r[0], r[1], r[2], r[3], r[5], r[4]) for r in records]
        self._database.write(lambda connection: connection.executemany(_INSERT, rows))
        self.prune(records[-1][0])

    def prune(self, last_seq: int) -> None:
        """Delete the rows older than the newest ``keep_events`` once enough piled up."""
        threshold = last_seq - self._keep_events
        if threshold - self._pruned_through < self._prune_step:
            return
        self._database.write(
            lambda connection: connection.execute(
                "DELETE FROM events WHERE seq <= ?", (threshold,)
            )
        )
        self._pruned_through = threshold

    def read(
        self, first_seq: int, last_seq: int, subscription: Subscription, limit: int
    ) -> tuple[int | None, list[Record]]:
        """Read stored events in ``[first_seq, last_seq]`` that match ``subscription``.

        Runs in one read transaction, so the oldest stored seq and the rows
        come from the same snapshot even while the writer prunes.

        Returns:
            The oldest stored seq (``None`` for an empty table) and up to
            ``limit`` matching records in seq order.
        """
        connection = self._database.reader()
        where, params = _filter_sql(subscription)
        sql = (
            "SELECT seq, type, job_id, flow_id, body, timestamp FROM events "
            f"WHERE seq BETWEEN ? AND ?{where} ORDER BY seq LIMIT ?"
        )
        connection.execute("BEGIN")
        try:
            oldest = connection.execute("SELECT MIN(seq) FROM events").fetchone()[0]
            rows = connection.execute(
                sql, (first_seq, last_seq, *params, limit)
            ).fetchall()
        finally:
            connection.execute("COMMIT")
        return oldest, rows


def _filter_sql(subscription: Subscription) -> tuple[str, list[str]]:
    clauses: list[str] = []
    params: list[str] = []
    for column, values in (
        ("type", subscription.event_types),
        ("job_id", subscription.job_ids),
        ("flow_id", subscription.flow_ids),
    ):
        if values is None:
            continue
        if not values:
            return " AND 0", []
        clauses.append(f" AND {column} IN ({', '.join('?' * len(values))})")
        params.extend(sorted(values))
    return "".join(clauses), params


class EventWriter:
    """A thread that stores published records in batches.

    `put` never blocks. The thread takes everything queued since its last
    write (up to a cap) and stores it in one transaction, so the batch size
    follows the publish rate.
    """

    def __init__(self, store: EventStore, on_saved: Callable[[int], None]) -> None:
        self._store = store
        self._on_saved = on_saved
        self._queue: queue.SimpleQueue[Record | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def put(self, record: Record) -> None:
        """Queue one record; callers put records in seq order."""
        self._queue.put(record)

    def start(self) -> None:
        """Start the writer thread."""
        self._thread = threading.Thread(
            target=self._run, name="event-writer", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Store everything queued, then end the thread; blocks until done."""
        self._queue.put(_STOP)
        if self._thread is None:
            self._run()
        else:
            self._thread.join()

    def _run(self) -> None:
        while True:
            batch, stop = self._take_batch()
            if batch:
                self._save(batch)
            if stop:
                return

    def _take_batch(self) -> tuple[list[Record], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        batch = [first]
        while len(batch) < _MAX_BATCH:
            try:
                record = self._queue.get_nowait()
            except queue.Empty:
                break
            if record is _STOP:
                return batch, True
            batch.append(record)
        return batch, False

    def _save(self, batch: list[Record]) -> None:
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                self._store.insert(batch)
            except sqlite3.OperationalError as exc:
                # Usually a locked or full database: retry, then give up on
                # this batch so later events still get stored.
                logger.warning(
                    "Storing events %d-%d failed (attempt %d of %d): %s",
                    batch[0][0],
                    batch[-1][0],
                    attempt,
                    _MAX_ATTEMPTS,
                    exc,
                )
                time.sleep(_RETRY_DELAY * attempt)
                continue
            except sqlite3.Error:
                logger.exception(
                    "Dropped events %d-%d: SQLite rejected them",
                    batch[0][0],
                    batch[-1][0],
                )
                break
            self._on_saved(batch[-1][0])
            return
        else:
            logger.error(
                "Dropped events %d-%d after %d failed attempts",
                batch[0][0],
                batch[-1][0],
                _MAX_ATTEMPTS,
            )
        # The events are lost to catch-up from SQLite, but replay must not
        # wait for them forever.
        self._on_saved(batch[-1][0])
