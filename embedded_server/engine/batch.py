"""Batch actions on many jobs: cancel or delete, with a per-job account of failures.

A batch never fails as a whole because some of its jobs cannot take the
action: each such job is listed with a reason, and the rest go ahead.
``matched`` always equals ``succeeded`` plus the number of failures.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from embedded_server.engine.scheduler import Engine
from embedded_server.store import batch as batch_store
from embedded_server.store.batch import Targets
from embedded_server.store.records import TERMINAL_STATUSES

logger = logging.getLogger(__name__)

NOT_FOUND = "not_found"
ALREADY_FINISHED = "already_finished"
NOT_FINISHED = "not_finished"


@dataclass(frozen=True)
class Failure:
    """One job the action could not be applied to, and why."""

    job_id: str
    reason: str
    message: str
    status: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "reason": self.reason,
            "status": self.status,
            "message": self.message,
        }


@dataclass
class BatchOutcome:
    """The response to a batch request."""

    action: str
    matched: int = 0
    succeeded: int = 0
    failed: list[Failure] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "matched": self.matched,
            "succeeded": self.succeeded,
            "failed": [failure.to_json() for failure in self.failed],
        }


def _not_found(job_id: str) -> Failure:
    return Failure(job_id, NOT_FOUND, f"Job '{job_id}' not found")


def _already_finished(job_id: str, status: str) -> Failure:
    return Failure(
        job_id,
        ALREADY_FINISHED,
        f"Job '{job_id}' already ended as {status}; only running or paused jobs "
        "can be cancelled",
        status,
    )


def cancel_jobs(engine: Engine, targets: Targets) -> BatchOutcome:
    """Cancel every target that is still running or paused."""
    outcome = BatchOutcome("cancel")
    rows = batch_store.statuses(engine.jobs.db, targets)
    outcome.matched = len(rows)
    for job_id, status in rows:
        if status is None:
            outcome.failed.append(_not_found(job_id))
        elif status in TERMINAL_STATUSES:
            outcome.failed.append(_already_finished(job_id, status))
        elif engine.cancel(job_id) is not None:
            outcome.succeeded += 1
        else:
            # The job ended between the read and the cancel.
            record = engine.jobs.get(job_id)
            outcome.failed.append(
                _not_found(job_id)
                if record is None
                else _already_finished(job_id, record.status)
            )
    logger.info(
        "Batch cancel: %d of %d job(s) cancelled", outcome.succeeded, outcome.matched
    )
    return outcome


def delete_jobs(engine: Engine, targets: Targets) -> BatchOutcome:
    """Delete every target that has ended, with its trace; list the others as failures."""
    result = batch_store.delete_ended(engine.jobs.db, targets)
    outcome = BatchOutcome("delete", matched=result.matched, succeeded=result.deleted)
    outcome.failed.extend(_not_found(job_id) for job_id in result.missing)
    outcome.failed.extend(
        Failure(
            job_id,
            NOT_FINISHED,
            f"Job '{job_id}' is {status}; cancel it or wait until it ends, "
            "then delete it",
            status,
        )
        for job_id, status in result.active
    )
    return outcome
