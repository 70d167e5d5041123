"""Per-job capture of what routines print."""

from __future__ import annotations

import io
import sys
import threading
from typing import TextIO

from embedded_server.engine.context import current_run


class JobOutputRouter(io.TextIOBase):
    """A stand-in for ``sys.stdout`` or ``sys.stderr`` that files writes by job.

    Text written while a job's routine runs goes to that job's output; any
    other text goes to the stream that was there before.
    """

    def __init__(self, fallback: TextIO) -> None:
        super().__init__()
        self.fallback = fallback
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        run = current_run.get()
        if run is None:
            with self._lock:
                return self.fallback.write(text)
        run.append_output(text)
        return len(text)

    def flush(self) -> None:
        self.fallback.flush()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:
        return getattr(self.fallback, "encoding", "utf-8")


def install() -> None:
    """Route ``sys.stdout`` and ``sys.stderr`` through job capture, once."""
    if not isinstance(sys.stdout, JobOutputRouter):
        sys.stdout = JobOutputRouter(sys.stdout)
    if not isinstance(sys.stderr, JobOutputRouter):
        sys.stderr = JobOutputRouter(sys.stderr)
