"""Delayed work for jobs, run by one timer thread for the whole server."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

from embedded_server.engine.context import current_run

logger = logging.getLogger(__name__)


class TimerHandle:
    """A scheduled callback that can still be cancelled until it runs."""

    def __init__(
        self, callback: Callable[[], None], on_cancel: Callable[[], None] | None
    ) -> None:
        self.callback = callback
        self.on_cancel = on_cancel
        self.cancelled = False
        self.fired = False
        self._lock = threading.Lock()

    def cancel(self) -> bool:
        """Stop the callback from running; return False if it already ran."""
        with self._lock:
            if self.fired or self.cancelled:
                return False
            self.cancelled = True
        if self.on_cancel is not None:
            self.on_cancel()
        return True

    def _claim(self) -> bool:
        with self._lock:
            if self.cancelled:
                return False
            self.fired = True
            return True


class TimerQueue:
    """Runs callbacks after a delay without a thread per timer."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(
            target=self._loop, name="job-timers", daemon=True
        )
        self._thread.start()

    def schedule(
        self,
        delay: float,
        callback: Callable[[], None],
        on_cancel: Callable[[], None] | None = None,
    ) -> TimerHandle:
        """Run ``callback`` after ``delay`` seconds; ``on_cancel`` runs if it is cancelled."""
        handle = TimerHandle(callback, on_cancel)
        due = time.monotonic() + max(0.0, delay)
        with self._wake:
            heapq.heappush(self._heap, (due, next(self._counter), handle))
            self._wake.notify()
        return handle

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=2)

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (
                    not self._heap or self._heap[0][0] > time.monotonic()
                ):
                    timeout = (
                        self._heap[0][0] - time.monotonic() if self._heap else None
                    )
                    self._wake.wait(timeout)
                if self._closed:
                    return
                _, _, handle = heapq.heappop(self._heap)
            if not handle._claim():
                continue
            try:
                handle.callback()
            except Exception:
                logger.exception("A job timer callback failed")


def call_later(delay: float, routine_id: str) -> TimerHandle:
    """Run ``routine_id``'s activation policy again after ``delay`` seconds.

    For routines that act on time (debouncing, flushing a partial batch): the
    call must come from inside a job's routine code, and the job is not
    complete while such a timer is pending. Cancel the returned handle when
    the timer is no longer needed, so the job can complete without waiting.
    """
    run = current_run.get()
    if run is None:
        raise RuntimeError(
            "call_later() must be called from a routine running in a job"
        )
    return run.schedule_reactivation(delay, routine_id)
