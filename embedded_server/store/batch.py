"""Set-based reads and deletes over many jobs at once, for batch actions.

A batch names its jobs by id or by a jobs-list filter. Either way the work
is a few SQL statements over the whole set, not one statement per job, so a
batch over tens of thousands of jobs takes one write transaction.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any

from embedded_server.store.database import Database
from embedded_server.store.jobs import JobFilter
from embedded_server.store.records import TERMINAL_STATUSES

logger = logging.getLogger(__name__)

_TERMINAL = ", ".join(f"'{status}'" for status in sorted(TERMINAL_STATUSES))


@dataclass(frozen=True)
class Targets:
    """The jobs a batch acts on: explicit ids (deduplicated, in order) or a filter."""

    job_ids: tuple[str, ...] | None = None
    where: JobFilter | None = None

    def clause(self) -> tuple[str, list[Any]]:
        """Return an SQL condition on ``jobs`` that selects the targets, and its params."""
        if self.job_ids is not None:
            return "job_id IN (SELECT value FROM json_each(?))", [
                json.dumps(list(self.job_ids))
            ]
        clauses, params = (self.where or JobFilter()).where()
        return " AND ".join(clauses) or "1 = 1", params


@dataclass(frozen=True)
class DeleteOutcome:
    """Outcome of a batch delete.

    Attributes:
        matched: the jobs the filter matched, or the distinct ids requested.
        missing: requested ids with no job.
        active: (job_id, status) of jobs not deleted because they have not ended.
    """

    matched: int
    deleted: int
    missing: list[str]
    active: list[tuple[str, str]]


def statuses(database: Database, targets: Targets) -> list[tuple[str, str | None]]:
    """Return (job_id, status) for each target; a requested id with no job has None.

    Filter targets come newest first; id targets in the order requested.
    """
    condition, params = targets.clause()
    rows = (
        database.reader()
        .execute(
            f"SELECT job_id, status FROM jobs WHERE {condition} "
            "ORDER BY created_at DESC, job_id DESC",
            params,
        )
        .fetchall()
    )
    if targets.job_ids is None:
        return [(job_id, status) for job_id, status in rows]
    found = dict(rows)
    return [(job_id, found.get(job_id)) for job_id in targets.job_ids]


def delete_ended(database: Database, targets: Targets) -> DeleteOutcome:
    """Delete the targets that have ended, with their trace, in one transaction.

    Jobs still pending, running or paused are left alone and listed in the
    outcome. The ``job_counts`` triggers keep the hourly counts right.
    """
    condition, params = targets.clause()

    def work(connection: sqlite3.Connection) -> DeleteOutcome:
        active = connection.execute(
            f"SELECT job_id, status FROM jobs WHERE {condition} "
            f"AND status NOT IN ({_TERMINAL}) ORDER BY created_at DESC, job_id DESC",
            params,
        ).fetchall()
        if targets.job_ids is None:
            matched = connection.execute(
                f"SELECT COUNT(*) FROM jobs WHERE {condition}", params
            ).fetchone()[0]
            missing: list[str] = []
        else:
            found = {
                row[0]
                for row in connection.execute(
                    f"SELECT job_id FROM jobs WHERE {condition}", params
                )
            }
            matched = len(targets.job_ids)
            missing = [job_id for job_id in targets.job_ids if job_id not in found]
        ended = f"SELECT job_id FROM jobs WHERE {condition} AND status IN ({_TERMINAL})"
        connection.execute(f"DELETE FROM trace WHERE job_id IN ({ended})", params)
        deleted = connection.execute(
            f"DELETE FROM jobs WHERE {condition} AND status IN ({_TERMINAL})", params
        ).rowcount
        connection.execute("DELETE FROM job_counts WHERE n <= 0")
        return DeleteOutcome(matched, deleted, missing, active)

    outcome = database.write(work)
    logger.info(
        "Deleted %d of %d job(s); %d not ended, %d not found",
        outcome.deleted,
        outcome.matched,
        len(outcome.active),
        len(outcome.missing),
    )
    return outcome
