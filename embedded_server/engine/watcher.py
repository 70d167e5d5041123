"""Reloading flow files when they change on disk.

watchdog's observer thread only notes which flow files changed. A reload
thread waits until a file has had no new event for ``settle`` seconds,
because editors often write a file in several steps (truncate, write,
rename), and then loads it again with ``loader.reload_flow_file``. A file
that no longer parses keeps its flow running on the last good version.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from embedded_server.engine import loader
from embedded_server.engine.catalog import FlowCatalog

logger = logging.getLogger(__name__)

# Event types that can change a file's content or existence; watchdog also
# reports opens and closes without writes, which change nothing.
_CHANGE_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed"})


class WatcherState(enum.Enum):
    """Lifecycle of a FlowWatcher."""

    NEW = "new"
    WATCHING = "watching"
    UNAVAILABLE = "unavailable"
    STOPPED = "stopped"


class _Handler(FileSystemEventHandler):
    def __init__(self, folder: Path, notice: Callable[[Path], None]) -> None:
        self._folder = folder
        self._notice = notice

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type not in _CHANGE_EVENTS:
            return
        paths = [event.src_path]
        if event.event_type == "moved":
            paths.append(event.dest_path)
        for raw in paths:
            name = Path(raw if isinstance(raw, str) else raw.decode()).name
            # Build the path from the folder as the loader saw it, so it
            # matches the ``source`` of the flow loaded from it.
            path = self._folder / name
            if loader.is_flow_file(path):
                self._notice(path)


class FlowWatcher:
    """Watches the catalog's flow folders and reloads files that change.

    Args:
        catalog: the catalog to update; its ``flow_folders`` are watched.
        settle: seconds a file must stay quiet before it is reloaded.

    ``generation`` counts finished reload rounds; ``wait_for`` blocks until
    a condition holds after a round, so callers never poll.
    """

    def __init__(self, catalog: FlowCatalog, *, settle: float = 0.1) -> None:
        self.catalog = catalog
        self.settle = settle
        self.state = WatcherState.NEW
        self.generation = 0
        self.last_results: dict[str, str] = {}
        self._pending: dict[Path, float] = {}
        self._condition = threading.Condition()
        self._stopping = False
        self._observer: Observer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FlowWatcher:
        """Start watching; a platform without file events only logs a warning."""
        folders = list(dict.fromkeys(self.catalog.flow_folders))
        if not folders:
            self.state = WatcherState.UNAVAILABLE
            return self
        observer = Observer()
        try:
            for folder in folders:
                observer.schedule(_Handler(folder, self.notice), str(folder))
            observer.start()
        except OSError as exc:
            logger.warning(
                "Not watching the flows folders, so edited flows reload only "
                "after a restart: %s",
                exc,
            )
            self.state = WatcherState.UNAVAILABLE
            return self
        self._observer = observer
        self._thread = threading.Thread(
            target=self._run, name="flow-reload", daemon=True
        )
        self._thread.start()
        self.state = WatcherState.WATCHING
        logger.info("Watching %d flows folder(s) for changes", len(folders))
        return self

    def stop(self) -> None:
        """Stop watching and wait for a reload in progress to finish."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.state = WatcherState.STOPPED

    def notice(self, path: Path) -> None:
        """Schedule ``path`` for a reload once it has been quiet for ``settle`` s."""
        with self._condition:
            self._pending[path] = time.monotonic() + self.settle
            self._condition.notify_all()

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate`` holds, checking after each reload round.

        Returns the predicate's last value, False when ``timeout`` seconds
        passed first.
        """
        with self._condition:
            return self._condition.wait_for(predicate, timeout)

    def _run(self) -> None:
        while True:
            due = self._next_due()
            if due is None:
                return
            results = {}
            for path in due:
                try:
                    results[str(path)] = loader.reload_flow_file(path, self.catalog)
                except Exception:
                    logger.exception("Reloading %s failed", path)
                    results[str(path)] = "error"
            with self._condition:
                self.last_results = results
                self.generation += 1
                self._condition.notify_all()

    def _next_due(self) -> list[Path] | None:
        """Wait until some pending files are due; None once stopping."""
        with self._condition:
            while not self._stopping:
                now = time.monotonic()
                due = [path for path, at in self._pending.items() if at <= now]
                if due:
                    for path in due:
                        del self._pending[path]
                    return due
                if self._pending:
                    self._condition.wait(min(self._pending.values()) - now)
                else:
                    self._condition.wait()
            return None
