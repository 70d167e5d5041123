"""One SQLite file in WAL mode: a shared writer connection and per-thread readers."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Version 2 added jobs.flow_version and the flow_versions table.
SCHEMA_VERSION = 2
# Page cache per reader connection, in KiB; readers are per thread.
READER_CACHE_KIB = 2_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    flow_id TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    routine_id TEXT NOT NULL,
    slot_name TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    completed_at REAL,
    error TEXT,
    traceback TEXT,
    failed_routine TEXT,
    params TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    metadata TEXT NOT NULL DEFAULT '{}',
    output TEXT NOT NULL DEFAULT '',
    output_truncated INTEGER NOT NULL DEFAULT 0,
    flow_version INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (created_at DESC, job_id DESC);
CREATE INDEX IF NOT EXISTS jobs_by_flow ON jobs (flow_id, created_at DESC, job_id DESC);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created_at DESC, job_id DESC);
CREATE INDEX IF NOT EXISTS jobs_by_flow_status
    ON jobs (flow_id, status, created_at DESC, job_id DESC);

CREATE TABLE IF NOT EXISTS job_counts (
    flow_id TEXT NOT NULL,
    status TEXT NOT NULL,
    hour INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (flow_id, status, hour)
);

CREATE TRIGGER IF NOT EXISTS job_counts_insert AFTER INSERT ON jobs BEGIN
    INSERT INTO job_counts (flow_id, status, hour, n)
    VALUES (NEW.flow_id, NEW.status, CAST(NEW.created_at / 3600 AS INTEGER), 1)
    ON CONFLICT (flow_id, status, hour) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS job_counts_status AFTER UPDATE OF status ON jobs
WHEN OLD.status != NEW.status BEGIN
    UPDATE job_counts SET n = n - 1
    WHERE flow_id = OLD.flow_id AND status = OLD.status
      AND hour = CAST(OLD.created_at / 3600 AS INTEGER);
    INSERT INTO job_counts (flow_id, status, hour, n)
    VALUES (NEW.flow_id, NEW.status, CAST(NEW.created_at / 3600 AS INTEGER), 1)
    ON CONFLICT (flow_id, status, hour) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS job_counts_delete AFTER DELETE ON jobs BEGIN
    UPDATE job_counts SET n = n - 1
    WHERE flow_id = OLD.flow_id AND status = OLD.status
      AND hour = CAST(OLD.created_at / 3600 AS INTEGER);
END;

CREATE TABLE IF NOT EXISTS trace (
    job_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    routine_id TEXT NOT NULL,
    action TEXT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (job_id, position)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS flow_versions (
    flow_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    dsl TEXT NOT NULL,
    source TEXT,
    first_seen REAL NOT NULL,
    PRIMARY KEY (flow_id, version),
    UNIQUE (flow_id, content_hash)
);

CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    job_id TEXT,
    flow_id TEXT,
    timestamp REAL NOT NULL,
    body TEXT NOT NULL
);
"""


class Database:
    """An SQLite file shared by the server's threads.

    Writes go through one connection under a lock, so they never fight over
    the write lock; reads use one connection per thread, which WAL mode lets
    run beside the writer.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer = self._open()
        self._writer.executescript(_SCHEMA)
        self._migrate()
        self._writer.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._writer.commit()
        logger.info("History database: %s", self.path)

    def _migrate(self) -> None:
        """Add the columns that files written by older versions lack."""
        columns = {row[1] for row in self._writer.execute("PRAGMA table_info(jobs)")}
        if "flow_version" not in columns:
            self._writer.execute("ALTER TABLE jobs ADD COLUMN flow_version INTEGER")
            logger.info("Added jobs.flow_version to %s", self.path)

    def _open(self, cache_kib: int = 16_000) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute(f"PRAGMA cache_size = -{cache_kib}")
        connection.execute("PRAGMA temp_store = MEMORY")
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the body in one write transaction on the writer connection."""
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                raise
            # executescript() commits on its own, so the transaction may be over.
            if self._writer.in_transaction:
                self._writer.execute("COMMIT")

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Call ``work`` inside one write transaction and return its result."""
        with self.transaction() as connection:
            return work(connection)

    def reader(self) -> sqlite3.Connection:
        """Return this thread's read connection, opening it on first use."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # Readers are per thread and the request thread pool is large, so
            # each keeps a small page cache and memory stays flat.
            connection = self._open(cache_kib=READER_CACHE_KIB)
            connection.execute("PRAGMA query_only = ON")
            self._local.connection = connection
            with self._readers_lock:
                self._readers.append(connection)
        return connection

    def close(self) -> None:
        """Close every connection; the file stays consistent thanks to WAL."""
        with self._readers_lock:
            readers, self._readers = self._readers, []
        for connection in readers:
            try:
                connection.close()
            except sqlite3.ProgrammingError:
                # A reader made in another thread may refuse; it dies with it.
                logger.debug("Reader connection closed by its own thread")
        with self._write_lock:
            self._writer.execute("PRAGMA optimize")
            self._writer.close()
