"""Background tasks that stop starting once their owner is closed or the loop is gone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from app.controllers.tasks import TaskSet

logger = logging.getLogger(__name__)


class GuardedTasks:
    """A TaskSet for work started by Qt signals and timers.

    A timer or a late signal can fire after the window closed or after the
    asyncio loop stopped. Such a request is dropped here, and the coroutine
    is never created, so no "coroutine was never awaited" warning follows.
    """

    def __init__(self) -> None:
        self._tasks = TaskSet()
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """Whether new work is refused."""
        return self._stopped

    def spawn(
        self, make: Callable[[], Coroutine[Any, Any, Any]], name: str
    ) -> asyncio.Task[Any] | None:
        """Start ``make()`` as a tracked task, unless stopped or no loop runs."""
        if self._stopped:
            logger.debug("= not starting %s: stopped", name)
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            logger.debug("= not starting %s: no event loop is running", name)
            return None
        return self._tasks.spawn(make(), name)

    def stop(self) -> None:
        """Refuse new work; tasks already running go on until ``close``."""
        self._stopped = True

    async def close(self) -> None:
        """Refuse new work, then cancel the running tasks and wait for them."""
        self._stopped = True
        await self._tasks.close()
