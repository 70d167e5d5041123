"""Batch actions on many jobs: what to do, to which jobs, and how it went."""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Self

from app.models.records import JobQuery

logger = logging.getLogger(__name__)

# Reasons the embedded server gives, and the ones the app adds for
# servers that act one job at a time.
REASON_TEXT = {
    "not_found": "not found",
    "already_finished": "already finished",
    "not_finished": "still running",
    "no_entry_point": "its entry routine is unknown",
    "unsupported": "not supported by the server",
    "error": "request failed",
}


class BatchAction(enum.Enum):
    """Action a batch applies to each job."""

    CANCEL = "cancel"
    RERUN = "rerun"
    DELETE = "delete"

    @property
    def title(self) -> str:
        """Verb for buttons and headings, such as ``Cancel``."""
        return {"cancel": "Cancel", "rerun": "Re-run", "delete": "Delete"}[self.value]

    @property
    def past(self) -> str:
        """Past participle for summaries, such as ``cancelled``."""
        return {"cancel": "cancelled", "rerun": "re-run", "delete": "deleted"}[
            self.value
        ]


@dataclass(frozen=True)
class BatchSelection:
    """The jobs a batch acts on: chosen rows, or every job matching a query.

    Attributes:
        job_ids: the chosen jobs, when ``query`` is None.
        query: the jobs-list filter, for "all jobs matching the filter".
        expected: the number of jobs shown to the user when the batch was
            confirmed.
    """

    job_ids: tuple[str, ...] = ()
    query: JobQuery | None = None
    expected: int = 0

    @classmethod
    def of_jobs(cls, job_ids: Iterable[str]) -> Self:
        """Select these jobs, each once, in order."""
        ids = tuple(dict.fromkeys(job_ids))
        return cls(job_ids=ids, expected=len(ids))

    @classmethod
    def matching(cls, query: JobQuery, total: int) -> Self:
        """Select every job matching ``query``; ``total`` is the count shown."""
        return cls(query=query, expected=total)

    def describe(self) -> str:
        """Describe the selection for a confirmation, such as ``3 selected jobs``."""
        noun = "job" if self.expected == 1 else "jobs"
        if self.query is None:
            return f"{self.expected:,} selected {noun}"
        return f"all {self.expected:,} {noun} matching the filter"


@dataclass(frozen=True)
class BatchFailure:
    """A job the action could not be applied to, with the reason code and message."""

    job_id: str
    reason: str
    message: str = ""
    status: str | None = None

    @property
    def reason_text(self) -> str:
        """The reason in words, such as ``already finished``."""
        return REASON_TEXT.get(self.reason, self.reason.replace("_", " "))

    @classmethod
    def from_json(cls, data: Any) -> Self:
        """Build from one entry of a batch response's ``failed`` list."""
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        status = data.get("status")
        return cls(
            job_id=str(data.get("job_id", "")),
            reason=str(data.get("reason", "error")),
            message=str(data.get("message") or ""),
            status=str(status) if status is not None else None,
        )


@dataclass(frozen=True)
class BatchResult:
    """How a batch went.

    Attributes:
        matched: jobs the batch covered; ``succeeded + len(failed)`` unless
            it was stopped or refused.
        not_attempted: jobs left alone because the batch was stopped.
        stopped: the user stopped the batch.
        refused: why the server took no action at all (for example, it has
            no route for the action), or None.
        uncertain: a request was abandoned, so the server may have acted on
            more jobs than ``succeeded`` counts.
    """

    action: BatchAction
    matched: int = 0
    succeeded: int = 0
    failed: tuple[BatchFailure, ...] = ()
    not_attempted: int = 0
    stopped: bool = False
    refused: str | None = None
    uncertain: bool = False

    @classmethod
    def from_json(cls, action: BatchAction, data: Any) -> Self:
        """Build from the embedded server's batch response."""
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        failed = data.get("failed")
        return cls(
            action=action,
            matched=_count(data, "matched"),
            succeeded=_count(data, "succeeded"),
            failed=tuple(
                BatchFailure.from_json(item)
                for item in (failed if isinstance(failed, list) else [])
            ),
        )

    def merged(self, other: BatchResult) -> BatchResult:
        """Add up two parts of one batch."""
        return replace(
            self,
            matched=self.matched + other.matched,
            succeeded=self.succeeded + other.succeeded,
            failed=self.failed + other.failed,
            not_attempted=self.not_attempted + other.not_attempted,
            stopped=self.stopped or other.stopped,
            refused=self.refused or other.refused,
            uncertain=self.uncertain or other.uncertain,
        )

    def summary(self) -> str:
        """Describe the outcome in one sentence."""
        if self.refused:
            return f"{self.action.title} failed: {self.refused}"
        noun = "job" if self.matched == 1 else "jobs"
        text = f"{self.action.past.capitalize()} {self.succeeded:,} of {self.matched:,} {noun}"
        if self.failed:
            text += f"; {len(self.failed):,} failed"
        if self.stopped:
            text += f"; stopped with {self.not_attempted:,} not attempted"
        if self.uncertain:
            text += "; the server may have acted on more before the stop"
        return text


def _count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"'{key}' must be an integer, got {value!r}")
    return value
