"""Breakpoints of flows and jobs: validation, storage and matching."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from embedded_server.debug.frames import EVENT, KINDS, ROUTINE, SLOT, Frame
from embedded_server.store.database import Database
from embedded_server.store.records import iso

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS breakpoints (
    breakpoint_id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
"""


@dataclass
class Breakpoint:
    """A place to stop or log, on every job of a flow or on one job.

    Attributes:
        kind: ``slot``, ``routine`` or ``event`` (see ``frames``).
        port: the slot or event name; None matches every slot or event of
            the routine.
        hit_count: times the place was reached with the condition true.
        last_error: the latest condition error, cleared by an edit.
    """

    breakpoint_id: str
    flow_id: str
    job_id: str | None
    routine_id: str
    kind: str
    port: str | None = None
    condition: str | None = None
    hit_condition: str | None = None
    log_message: str | None = None
    enabled: bool = True
    hit_count: int = 0
    error_count: int = 0
    last_error: str | None = None
    error_reported: bool = False
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    def matches(self, frame: Frame, flow_id: str, job_id: str) -> bool:
        if (
            not self.enabled
            or self.kind != frame.kind
            or self.routine_id != frame.routine_id
        ):
            return False
        if self.flow_id != flow_id or (
            self.job_id is not None and self.job_id != job_id
        ):
            return False
        return self.port is None or self.port == frame.port

    def to_json(self) -> dict[str, Any]:
        return {
            "breakpoint_id": self.breakpoint_id,
            "flow_id": self.flow_id,
            "job_id": self.job_id,
            "scope": "job" if self.job_id else "flow",
            "routine_id": self.routine_id,
            "kind": self.kind,
            "slot_name": self.port if self.kind == SLOT else None,
            "event_name": self.port if self.kind == EVENT else None,
            "condition": self.condition,
            "hit_condition": self.hit_condition,
            "log_message": self.log_message,
            "enabled": self.enabled,
            "hit_count": self.hit_count,
            "error_count": self.error_count,
            "last_error": self.last_error,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }

    def stored(self) -> str:
        body = {k: v for k, v in self.__dict__.items() if k != "error_reported"}
        return json.dumps(body, ensure_ascii=False)


class BreakpointStore:
    """All breakpoints, kept in memory for the scheduler and in SQLite for restarts."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._lock = threading.Lock()
        self._items: dict[str, Breakpoint] = {}
        database.write(lambda c: c.executescript(_SCHEMA))
        for (body,) in database.reader().execute("SELECT body FROM breakpoints"):
            item = Breakpoint(**json.loads(body))
            self._items[item.breakpoint_id] = item

    def add(self, item: Breakpoint) -> Breakpoint:
        item.breakpoint_id = item.breakpoint_id or str(uuid.uuid4())
        with self._lock:
            self._items[item.breakpoint_id] = item
        self.save(item)
        return item

    def save(self, item: Breakpoint) -> None:
        self._db.write(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO breakpoints VALUES (?, ?)",
                (item.breakpoint_id, item.stored()),
            )
        )

    def remove(self, breakpoint_id: str) -> Breakpoint | None:
        with self._lock:
            item = self._items.pop(breakpoint_id, None)
        if item is not None:
            self._db.write(
                lambda c: c.execute(
                    "DELETE FROM breakpoints WHERE breakpoint_id = ?", (breakpoint_id,)
                )
            )
        return item

    def get(self, breakpoint_id: str) -> Breakpoint | None:
        return self._items.get(breakpoint_id)

    def list(
        self,
        *,
        flow_id: str | None = None,
        job_id: str | None = None,
        scope: str | None = None,
    ) -> list[Breakpoint]:
        with self._lock:
            items = list(self._items.values())
        if flow_id is not None:
            items = [b for b in items if b.flow_id == flow_id]
        if scope == "flow":
            items = [b for b in items if b.job_id is None]
        if job_id is not None:
            items = [b for b in items if b.job_id == job_id]
        return sorted(items, key=lambda b: b.created_at)

    def matching(self, frame: Frame, flow_id: str, job_id: str) -> list[Breakpoint]:
        with self._lock:
            items = list(self._items.values())
        return [b for b in items if b.matches(frame, flow_id, job_id)]

    def has_any(self, flow_id: str) -> bool:
        return any(b.flow_id == flow_id and b.enabled for b in self._items.values())


def kind_for(kind: str | None, slot_name: str | None, event_name: str | None) -> str:
    """Pick a breakpoint's kind: explicit, else from the port it names (stock bodies)."""
    if kind:
        return kind
    if event_name:
        return EVENT
    return SLOT if slot_name else ROUTINE


__all__ = ["Breakpoint", "BreakpointStore", "KINDS", "kind_for"]
