"""Fixtures for service tests: an asyncio loop driven by Qt through qasync."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
import qasync
import shiboken6

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

T = TypeVar("T")


@pytest.fixture
def qt_loop(qapp) -> Iterator[asyncio.AbstractEventLoop]:
    """Yield a qasync event loop that runs on the test's QApplication."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        leftover = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in leftover:
            task.cancel()
        if leftover:
            loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
        # qasync's close() leaves the Qt timers of pending call_later handles
        # registered. Deleting their QObject here, on the Qt thread, removes
        # them. If a garbage collection on another thread (a server thread in
        # a later test) deleted it instead, Qt could keep a dangling timer and
        # crash when it fires.
        shiboken6.delete(loop._timer)
        assert not leftover, f"tasks left running after the test: {leftover}"


@pytest.fixture
def run(qt_loop) -> Callable[..., Any]:
    """Return a function that runs a coroutine on the Qt loop with a time limit."""

    def run_coroutine(coroutine: Awaitable[T], timeout: float = 20.0) -> T:
        return qt_loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    return run_coroutine
