"""Filling our history database with many jobs before the server starts.

Rows go in through ``embedded_server.store``: the same schema, columns and
triggers the server uses, so its indexes and per-hour counts are what a
server that ran these jobs would have. Only finished jobs are written,
because a stopped server has none running (it marks leftovers failed when it
starts). Trace rows are not written for these jobs; the jobs list never
reads them.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from embedded_server.store.database import Database
from embedded_server.store.records import COLUMNS, JobRecord

BATCH = 20_000
SPAN_S = 90 * 24 * 3600  # jobs are spread over the last 90 days

# (flow_id, entry routine, share of jobs). The jobs posted through the API use study_flow.
FLOWS = (
    ("study_flow", "source", 0.40),
    ("etl_orders", "reader", 0.25),
    ("report_daily", "collect", 0.15),
    ("ingest_events", "listener", 0.15),
    ("burst_flow", "burst", 0.05),
)
STATUSES = (("completed", 0.85), ("failed", 0.10), ("cancelled", 0.05))


def stored_jobs(db_path: Path) -> int:
    """Return how many jobs the file contains (0 for a missing file)."""
    if not db_path.exists():
        return 0
    database = Database(db_path)
    try:
        return database.reader().execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
    finally:
        database.close()


def fill_to(db_path: Path, target: int, seed: int = 7) -> int:
    """Insert synthetic finished jobs until the file contains ``target``; return how many."""
    database = Database(db_path)
    try:
        current = database.reader().execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        missing = max(0, target - current)
        rng = random.Random(seed + current)
        placeholders = ", ".join("?" * len(COLUMNS.split(",")))
        sql = f"INSERT INTO jobs ({COLUMNS}) VALUES ({placeholders})"
        now = time.time()
        done = 0
        while done < missing:
            size = min(BATCH, missing - done)
            rows = [record.row() for record in _records(rng, size, now)]
            with database.transaction() as connection:
                connection.executemany(sql, rows)
            done += size
        return missing
    finally:
        database.close()


def _records(rng: random.Random, count: int, now: float) -> Iterator[JobRecord]:
    flow_weights = [share for _, _, share in FLOWS]
    status_weights = [share for _, share in STATUSES]
    workers = {
        flow_id: [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(3)]
        for flow_id, _, _ in FLOWS
    }
    for _ in range(count):
        flow_id, entry, _ = rng.choices(FLOWS, flow_weights)[0]
        status = rng.choices(STATUSES, status_weights)[0][0]
        created = now - 3600 - rng.random() * SPAN_S
        started = created + rng.random() * 0.05
        completed = started + rng.lognormvariate(-4.0, 1.2)
        value = rng.randrange(1_000_000)
        yield JobRecord(
            job_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            flow_id=flow_id,
            worker_id=rng.choice(workers[flow_id]),
            routine_id=entry,
            slot_name="input",
            status=status,
            created_at=created,
            started_at=started,
            completed_at=completed,
            params={"value": value},
            metadata={"source": "bench"} if rng.random() < 0.3 else {},
            data={"result": value * 2} if status == "completed" else {},
            error=_error(status, value),
            failed_routine="transform" if status == "failed" else None,
            output=f"[{entry}] job got {{'value': {value}}}\n",
        )


def _error(status: str, value: int) -> str | None:
    if status == "failed":
        return f"transform: ValueError: transform failed on purpose (value={value})"
    if status == "cancelled":
        return "Cancelled by a user request"
    return None
