"""Helpers to run asyncio code on a qasync loop inside pytest-qt tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import qasync
import shiboken6


@contextlib.contextmanager
def install_qasync_loop(qapp: Any, qtbot: Any) -> Iterator[qasync.QEventLoop]:
    """Mark a qasync loop as running, so Qt event processing also runs asyncio.

    qtbot's waits process Qt events, which is when qasync runs asyncio
    callbacks. On exit, tasks still pending are cancelled and awaited.
    """
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            qtbot.waitUntil(lambda: all(task.done() for task in pending), timeout=5000)
        # loop.stop() would call QApplication.exit() with no exec() running,
        # which makes every later nested Qt event loop (qtbot's waits) return
        # at once. Mark the loop stopped directly instead.
        loop._QEventLoop__is_running = False
        asyncio.events._set_running_loop(None)
        loop.close()
        asyncio.set_event_loop(None)
        # qasync's close() leaves the Qt timers of pending call_later handles
        # registered; deleting their QObject here, on the Qt thread, removes
        # them before a garbage collection on another thread could.
        shiboken6.delete(loop._timer)


def run_until_done(qtbot: Any, task: asyncio.Future[Any], timeout: int = 5000) -> Any:
    """Process Qt events until ``task`` is done, then return its result."""
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()
