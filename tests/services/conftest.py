"""Fixtures for service tests: an asyncio loop driven by Qt through qasync."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
import qasync

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
        del loop
        # Collect the loop's QObjects now, on the Qt thread. Left to a later
        # garbage collection, they may be deleted on another thread (a server
        # thread in the next test), which leaves a dangling Qt timer behind
        # and crashes the Qt event loop.
        gc.collect()
        assert not leftover, f"tasks left running after the test: {leftover}"


@pytest.fixture
def run(qt_loop) -> Callable[..., Any]:
    """Return a function that runs a coroutine on the Qt loop with a time limit."""

    def run_coroutine(coroutine: Awaitable[T], timeout: float = 20.0) -> T:
        return qt_loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    return run_coroutine
