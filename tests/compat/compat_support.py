"""Helpers for the compatibility tests: a recorder of EventStream signals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from app.services.stream import ConnectionState, ConnectionStatus, EventStream


class StreamWatch:
    """Records what an EventStream emits and lets a coroutine wait for a condition."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.statuses: list[tuple[float, ConnectionStatus]] = []
        self.events: list[dict] = []
        self.resyncs: list[str] = []
        self._changed = asyncio.Event()
        stream.status_changed.connect(self._on_status)
        stream.event_received.connect(self._on_event)
        stream.resync_needed.connect(self._on_resync)

    def _on_status(self, status: ConnectionStatus) -> None:
        self.statuses.append((time.monotonic(), status))
        self._changed.set()

    def _on_event(self, event: dict) -> None:
        self.events.append(event)
        self._changed.set()

    def _on_resync(self, reason: str) -> None:
        self.resyncs.append(reason)
        self._changed.set()

    @property
    def state(self) -> ConnectionState | None:
        return self.statuses[-1][1].state if self.statuses else None

    def states(self) -> list[ConnectionState]:
        return [status.state for _, status in self.statuses]

    def first_time(self, state: ConnectionState, after: float = 0.0) -> float | None:
        """Return when the stream first reported ``state`` at or after ``after``."""
        for moment, status in self.statuses:
            if moment >= after and status.state is state:
                return moment
        return None

    def events_of(self, job_id: str) -> list[dict]:
        return [event for event in self.events if event.get("job_id") == job_id]

    def seqs(self) -> list[int]:
        return [event["seq"] for event in self.events if "seq" in event]

    async def wait_until(
        self,
        predicate: Callable[[], object],
        timeout: float = 20.0,  # noqa: ASYNC109
        what: str = "the condition",
    ) -> None:
        """Wait until ``predicate()`` is true; raise TimeoutError after ``timeout`` s."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(
                f"timed out after {timeout:g} s waiting for {what}; "
                f"states {[state.value for state in self.states()]}, "
                f"{len(self.events)} events"
            ) from None
