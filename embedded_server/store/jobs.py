"""Reading and writing jobs, their trace and their counts."""

from __future__ import annotations

import base64
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from embedded_server.store.database import Database
from embedded_server.store.records import (
    COLUMNS,
    SUMMARY_COLUMNS,
    JobRecord,
    dumps,
    summary_from_row,
)

logger = logging.getLogger(__name__)

HOUR = 3600


class InvalidCursor(ValueError):
    """A paging cursor that this server did not issue."""


@dataclass(frozen=True)
class JobFilter:
    """The jobs-list filter; ``created_from`` and ``created_to`` are epoch seconds."""

    flow_id: str | None = None
    status: str | None = None
    created_from: float | None = None
    created_to: float | None = None
    worker_id: str | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.flow_id is not None:
            clauses.append("flow_id = ?")
            params.append(self.flow_id)
        if self.status is not None:
            clauses.append("status = ?")
            params.append(self.status)
        if self.created_from is not None:
            clauses.append("created_at >= ?")
            params.append(self.created_from)
        if self.created_to is not None:
            clauses.append("created_at < ?")
            params.append(self.created_to)
        if self.worker_id is not None:
            clauses.append("worker_id = ?")
            params.append(self.worker_id)
        return clauses, params


def encode_cursor(created_at: float, job_id: str) -> str:
    raw = json.dumps([created_at, job_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """Return the (created_at, job_id) position a cursor points after."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, job_id = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(job_id, str) or not math.isfinite(float(created_at)):
            raise ValueError
        return float(created_at), job_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidCursor("the cursor is not one this server returned") from exc


class JobStore:
    """Jobs in the history database."""

    def __init__(self, database: Database) -> None:
        self.db = database

    # -- writes ---------------------------------------------------------

    def insert(self, record: JobRecord) -> None:
        placeholders = ", ".join("?" * len(COLUMNS.split(",")))
        self.db.write(
            lambda c: c.execute(
                f"INSERT INTO jobs ({COLUMNS}) VALUES ({placeholders})", record.row()
            )
        )

    def mark_started(
        self, job_id: str, started_at: float, status: str = "running"
    ) -> None:
        self.db.write(
            lambda c: c.execute(
                "UPDATE jobs SET status = ?, started_at = ? WHERE job_id = ?",
                (status, started_at, job_id),
            )
        )

    def set_status(self, job_id: str, status: str) -> None:
        self.db.write(
            lambda c: c.execute(
                "UPDATE jobs SET status = ? WHERE job_id = ?", (status, job_id)
            )
        )

    def finish(self, record: JobRecord, trace: list[dict[str, Any]]) -> None:
        """Store a job's final state and its whole trace in one transaction."""

        def work(c):
            c.execute(
                "UPDATE jobs SET status = ?, completed_at = ?, error = ?, traceback = ?, "
                "failed_routine = ?, data = ?, output = ?, output_truncated = ?, "
                "started_at = COALESCE(started_at, ?) WHERE job_id = ?",
                (
                    record.status,
                    record.completed_at,
                    record.error,
                    record.traceback,
                    record.failed_routine,
                    dumps(record.data),
                    record.output,
                    int(record.output_truncated),
                    record.started_at,
                    record.job_id,
                ),
            )
            c.executemany(
                "INSERT OR REPLACE INTO trace VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        record.job_id,
                        position,
                        entry["ts"],
                        entry["routine_id"],
                        entry["action"],
                        dumps(entry["details"]),
                    )
                    for position, entry in enumerate(trace)
                ],
            )

        self.db.write(work)

    def fail_interrupted(self, reason: str) -> int:
        """Mark jobs left unfinished by a previous server process as failed."""
        now = time.time()
        count = self.db.write(
            lambda c: (
                c.execute(
                    "UPDATE jobs SET status = 'failed', error = ?, completed_at = ? "
                    "WHERE status IN ('pending', 'running', 'paused')",
                    (reason, now),
                ).rowcount
            )
        )
        if count:
            logger.warning("Marked %d interrupted job(s) as failed", count)
        return count

    # -- reads ----------------------------------------------------------

    def get(self, job_id: str) -> JobRecord | None:
        row = (
            self.db.reader()
            .execute(f"SELECT {COLUMNS} FROM jobs WHERE job_id = ?", (job_id,))
            .fetchone()
        )
        return JobRecord.from_row(row) if row else None

    def trace(
        self, job_id: str, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        reader = self.db.reader()
        total = reader.execute(
            "SELECT COUNT(*) FROM trace WHERE job_id = ?", (job_id,)
        ).fetchone()[0]
        rows = reader.execute(
            "SELECT timestamp, routine_id, action, details FROM trace "
            "WHERE job_id = ? ORDER BY position LIMIT ? OFFSET ?",
            (job_id, limit, offset),
        ).fetchall()
        return [
            {
                "ts": ts,
                "routine_id": rid,
                "action": action,
                "details": json.loads(details),
            }
            for ts, rid, action, details in rows
        ], total

    def page(
        self, where: JobFilter, *, limit: int, offset: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Return one page of jobs, newest first, and the cursor after it."""
        clauses, params = where.where()
        if cursor is not None:
            created_at, job_id = decode_cursor(cursor)
            clauses.append("(created_at, job_id) < (?, ?)")
            params.extend([created_at, job_id])
            offset = 0
        sql = f"SELECT {SUMMARY_COLUMNS} FROM jobs"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created_at DESC, job_id DESC LIMIT ? OFFSET ?"
        rows = self.db.reader().execute(sql, [*params, limit + 1, offset]).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1][6], rows[-1][0]) if more else None
        return [summary_from_row(row) for row in rows], next_cursor

    def count(self, where: JobFilter) -> int:
        """Count matching jobs from the hourly counts, reading only the partial hours."""
        reader = self.db.reader()
        start, end = where.created_from, where.created_to
        full_from = math.ceil(start / HOUR) if start is not None else None
        full_to = math.floor(end / HOUR) if end is not None else None
        # The hourly counts know no worker, and a range inside one hour has no
        # full hour to use: count such filters from the jobs index directly.
        if where.worker_id is not None or (
            full_from is not None and full_to is not None and full_from >= full_to
        ):
            return self._count_rows(where)

        clauses, params = [], []
        if where.flow_id is not None:
            clauses.append("flow_id = ?")
            params.append(where.flow_id)
        if where.status is not None:
            clauses.append("status = ?")
            params.append(where.status)
        if full_from is not None:
            clauses.append("hour >= ?")
            params.append(full_from)
        if full_to is not None:
            clauses.append("hour < ?")
            params.append(full_to)
        sql = "SELECT COALESCE(SUM(n), 0) FROM job_counts"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        total = reader.execute(sql, params).fetchone()[0]

        # Jobs in the partial hours at either end come from the jobs index.
        if start is not None and start < full_from * HOUR:
            edge = JobFilter(where.flow_id, where.status, start, full_from * HOUR)
            total += self._count_rows(edge)
        if end is not None and full_to * HOUR < end:
            edge = JobFilter(where.flow_id, where.status, full_to * HOUR, end)
            total += self._count_rows(edge)
        return total

    def _count_rows(self, where: JobFilter) -> int:
        clauses, params = where.where()
        sql = "SELECT COUNT(*) FROM jobs"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return self.db.reader().execute(sql, params).fetchone()[0]
