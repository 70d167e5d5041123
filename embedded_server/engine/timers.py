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


class TimerQueue:
    """Runs callbacks after a delay without a thread per timer."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(
            target=self._loop, name="job-timers", daemon=True
        )
        self._thread.start()

    def schedule(self, delay: float, callback: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(
                self._heap,
                (time.monotonic() + max(0.0, delay), next(self._counter), callback),
            )
            self._wake.notify()

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
                _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:
                logger.exception("A job timer callback failed")


def call_later(delay: float, routine_id: str) -> None:
    """Run ``routine_id``'s activation policy again after ``delay`` seconds.

    For routines that act on time (debouncing, flushing a partial batch): the
    call must come from inside a job's routine code, and the job is not
    complete while such a timer is pending.
    """
    run = current_run.get()
    if run is None:
        raise RuntimeError(
            "call_later() must be called from a routine running in a job"
        )
    run.schedule_reactivation(delay, routine_id)
