"""Live updates for the jobs list on servers that send events per subscribed job.

The stock Routilux 1.1.0 server sends a job's events only to a client that
subscribed to that job, and its job events carry a status but not the job
summary that this project's server puts in ``data.job``. This controller
subscribes the event stream to the unfinished jobs the list has loaded and
applies the stock job events to the rows.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, QTimer, Slot

from app.models.job_store import JobStore
from app.models.records import TERMINAL_STATUSES, parse_timestamp
from app.services.stock_events import STATUS_BY_EVENT
from app.services.stream import EventStream

logger = logging.getLogger(__name__)

# The stock server runs one task per subscription, so only the newest
# unfinished jobs of the list are followed.
MAX_SUBSCRIPTIONS = 200


class JobSubscriptions(QObject):
    """Keeps the stream subscribed to the unfinished jobs a JobStore shows.

    It does nothing while the stream reports ``per_job_subscriptions`` off,
    which is the case for this project's server, whose stream carries every
    job's events.
    """

    def __init__(
        self,
        stream: EventStream,
        store: JobStore,
        parent: QObject | None = None,
        *,
        limit: int = MAX_SUBSCRIPTIONS,
    ) -> None:
        super().__init__(parent)
        self._stream = stream
        self._store = store
        self._limit = limit
        # Row signals come in bursts (a page, a run of events), so the
        # subscription set is recomputed once per burst.
        self._update_timer = QTimer(self)
        self._update_timer.setSingleShot(True)
        self._update_timer.setInterval(0)
        self._update_timer.timeout.connect(self.update_subscriptions)

        store.reset_done.connect(self._on_store_changed)
        store.rows_inserted.connect(self._on_store_changed)
        store.row_changed.connect(self._on_store_changed)
        stream.event_received.connect(self.handle_event)

    def wanted_jobs(self) -> list[str]:
        """Return the ids of the unfinished loaded jobs, newest first, up to the limit."""
        wanted: list[str] = []
        for row in self._store:
            if row.job.status not in TERMINAL_STATUSES:
                wanted.append(row.job.job_id)
                if len(wanted) >= self._limit:
                    break
        return wanted

    @Slot()
    def update_subscriptions(self) -> None:
        """Subscribe the stream to the jobs of ``wanted_jobs`` and no others."""
        self._update_timer.stop()
        if self._stream.per_job_subscriptions:
            self._stream.set_job_subscriptions(self.wanted_jobs())

    @Slot(dict)
    def handle_event(self, event: Mapping[str, Any]) -> None:
        """Apply a stock job event to the job's row.

        Events that carry the job summary in ``data.job`` are left to the
        jobs list controller, and so are jobs the list has not loaded.
        """
        status = STATUS_BY_EVENT.get(str(event.get("type")))
        data = event.get("data")
        if status is None or not isinstance(data, Mapping) or "job" in data:
            return
        job_id = event.get("job_id")
        index = self._store.index_of(job_id) if isinstance(job_id, str) else None
        if index is None:
            return

        job = self._store.row(index).job
        status = str(data.get("status") or status)
        changes: dict[str, Any] = {"status": status}
        if data.get("error") is not None:
            changes["error"] = str(data["error"])
        if status in TERMINAL_STATUSES and job.completed_at is None:
            changes["completed_at"] = parse_timestamp(event.get("timestamp"))
        self._store.upsert(dataclasses.replace(job, **changes))
        logger.debug("= job %s is %s after a %s event", job_id, status, event["type"])

    def _on_store_changed(self, *_args: object) -> None:
        if self._stream.per_job_subscriptions and not self._update_timer.isActive():
            self._update_timer.start()
