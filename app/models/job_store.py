"""Rows of the jobs list for one filter, filled by pages and by live updates."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QObject, Signal

from app.models import formatting
from app.models.job_filter import query_matches
from app.models.records import JobPage, JobQuery, JobSummary

logger = logging.getLogger(__name__)

_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class JobRow:
    """A job with its table cells formatted once, when the row is stored."""

    job: JobSummary
    cells: tuple[str, ...]

    @classmethod
    def from_job(cls, job: JobSummary) -> JobRow:
        """Format the cells of ``job`` in column order."""
        entry = job.routine_id or ""
        if job.slot_name:
            entry = f"{entry}.{job.slot_name}"
        return cls(
            job=job,
            cells=(
                job.status,
                job.job_id,
                job.flow_id,
                entry,
                formatting.format_datetime(job.created_at),
                formatting.format_duration(job.duration_ms),
                formatting.first_line(job.error),
            ),
        )


_PROGRESS = {"pending": 0, "running": 1, "paused": 1}


def _progress(status: str) -> int:
    """Rank a status by how far a job has come; ended jobs rank highest."""
    return _PROGRESS.get(status, 2)


def _sort_key(job: JobSummary) -> tuple[datetime, str]:
    """Key of the server's order, newest first when sorted descending."""
    return (job.created_at or _OLDEST, job.job_id)


class JobStore(QObject):
    """The jobs that match the current query, in the server's order.

    The server orders jobs newest first, ties broken by job id descending,
    and the store keeps that order for pages and for live updates. Each
    ``reset`` starts a new generation; a page from an older generation (a
    response to a filter the user has since changed) is dropped.

    Signals:
        about_to_reset: The rows are about to be cleared.
        reset_done: The rows were cleared for a new query.
        rows_about_to_be_inserted(int, int): First and last new row index.
        rows_inserted(int, int): First and last row index that were inserted.
        row_changed(int): A row now contains a newer state of its job.
        total_changed(int): Number of matching jobs on the server.
        loading_changed(bool): Whether a page request is in flight.
        fetch_more_requested: A view requested the next page.
    """

    about_to_reset = Signal()
    reset_done = Signal()
    rows_about_to_be_inserted = Signal(int, int)
    rows_inserted = Signal(int, int)
    row_changed = Signal(int)
    total_changed = Signal(int)
    loading_changed = Signal(bool)
    fetch_more_requested = Signal()

    def __init__(self, parent: QObject | None = None, *, cursor_paging: bool = True):
        super().__init__(parent)
        self._query = JobQuery()
        self._generation = 0
        self._rows: list[JobRow] = []
        # Row index of each job, kept cheap to update for inserts at the top:
        # a job's index is its stored index plus the top inserts made since.
        self._positions: dict[str, tuple[int, int]] = {}
        self._top_inserts = 0
        self._total = 0
        self._has_more = False
        self._loading = False
        self._next_cursor: str | None = None
        self.cursor_paging = cursor_paging

    # Read access

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[JobRow]:
        return iter(self._rows)

    def row(self, index: int) -> JobRow:
        """Return the row at ``index``."""
        return self._rows[index]

    def index_of(self, job_id: str) -> int | None:
        """Return the row index of ``job_id``, or None when it is not loaded."""
        position = self._positions.get(job_id)
        if position is None:
            return None
        stored_index, top_inserts_then = position
        return stored_index + self._top_inserts - top_inserts_then

    @property
    def query(self) -> JobQuery:
        """Query whose results the store holds."""
        return self._query

    @property
    def generation(self) -> int:
        """Counter that changes on every reset."""
        return self._generation

    @property
    def total(self) -> int:
        """Number of matching jobs on the server, loaded or not."""
        return self._total

    @property
    def has_more(self) -> bool:
        """Whether the server has rows past the last loaded page."""
        return self._has_more

    @property
    def loading(self) -> bool:
        """Whether a page request is in flight."""
        return self._loading

    @property
    def next_cursor(self) -> str | None:
        """Cursor for the next page, when the server pages by cursor."""
        return self._next_cursor

    @property
    def next_offset(self) -> int:
        """Offset for the next page on servers that page by offset.

        Live inserts count too, because the same jobs shift the server's
        offsets by the same amount.
        """
        return len(self._rows)

    # Changes

    def reset(self, query: JobQuery) -> int:
        """Clear the rows for ``query`` and return the new generation."""
        self.about_to_reset.emit()
        self._query = query
        self._generation += 1
        self._rows = []
        self._positions = {}
        self._top_inserts = 0
        self._has_more = True
        self._next_cursor = None
        self._total = 0
        self._set_loading(False)
        self.reset_done.emit()
        self.total_changed.emit(0)
        return self._generation

    def set_loading(self, generation: int, loading: bool) -> None:
        """Mark a page request of ``generation`` as started or finished."""
        if generation == self._generation:
            self._set_loading(loading)

    def stop_paging(self, generation: int) -> None:
        """Stop offering more pages, for example after a failed request."""
        if generation == self._generation:
            self._has_more = False

    def add_page(self, generation: int, page: JobPage) -> bool:
        """Append a page; return False when it is stale and was dropped."""
        if generation != self._generation:
            logger.debug("Dropping a jobs page of generation %d", generation)
            return False

        if self.cursor_paging:
            self._has_more = page.next_cursor is not None
        else:
            self._has_more = (
                bool(page.jobs) and page.offset + len(page.jobs) < page.total
            )
        self._next_cursor = page.next_cursor

        # A job that arrived live before its page is already in the rows.
        fresh = [job for job in page.jobs if job.job_id not in self._positions]
        if fresh:
            self._insert(len(self._rows), [JobRow.from_job(job) for job in fresh])
        self._set_total(max(page.total, len(self._rows)))
        return True

    def upsert(self, job: JobSummary) -> int | None:
        """Apply a live update of ``job``; return its row index, if shown.

        A loaded job is updated in place, even when it no longer matches the
        filter, so rows never vanish under the user's pointer. An update that
        would move a job back (an ended job to running) is ignored. An unloaded job
        that matches is inserted where the server's order puts it, unless that
        place lies past the loaded pages.
        """
        index = self.index_of(job.job_id)
        if index is not None:
            if _progress(job.status) < _progress(self._rows[index].job.status):
                # A REST response sent before the latest event, such as the
                # submit response of a job that finished at once, is stale.
                logger.debug("Ignoring an older state of job %s", job.job_id)
                return index
            self._rows[index] = JobRow.from_job(job)
            self.row_changed.emit(index)
            return index
        if not query_matches(self._query, job):
            return None

        position = self._sorted_position(job)
        if position == len(self._rows) and self._has_more and self._rows:
            return None
        self._insert(position, [JobRow.from_job(job)])
        self._set_total(self._total + 1)
        return position

    def request_more(self) -> None:
        """Ask for the next page when there is one and none is in flight."""
        if self._has_more and not self._loading:
            self.fetch_more_requested.emit()

    # Helpers

    def _sorted_position(self, job: JobSummary) -> int:
        key = _sort_key(job)
        low, high = 0, len(self._rows)
        while low < high:
            middle = (low + high) // 2
            if _sort_key(self._rows[middle].job) > key:
                low = middle + 1
            else:
                high = middle
        return low

    def _insert(self, position: int, rows: list[JobRow]) -> None:
        last = position + len(rows) - 1
        appending = position == len(self._rows)
        self.rows_about_to_be_inserted.emit(position, last)
        self._rows[position:position] = rows

        if position == 0 and not appending:
            self._top_inserts += len(rows)
        if appending or position == 0:
            for offset, row in enumerate(rows):
                self._positions[row.job.job_id] = (position + offset, self._top_inserts)
        else:
            self._top_inserts = 0
            self._positions = {
                row.job.job_id: (index, 0) for index, row in enumerate(self._rows)
            }
        self.rows_inserted.emit(position, last)

    def _set_total(self, total: int) -> None:
        if total != self._total:
            self._total = total
            self.total_changed.emit(total)

    def _set_loading(self, loading: bool) -> None:
        if loading != self._loading:
            self._loading = loading
            self.loading_changed.emit(loading)
