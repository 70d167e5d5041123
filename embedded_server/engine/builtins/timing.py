"""Working Batcher and Debouncer: built-ins whose output depends on time.

Both keep their state on the routine instance, which the engine creates
fresh for every job, and re-check themselves through the engine's timers
only when a delay is configured. Their policies hand the exact items to emit
to the logic as the ``input`` list, so a debugger pausing before the logic
shows what will be emitted.
"""

from __future__ import annotations

import logging
from typing import Any

from routilux.builtin_routines import control_flow as upstream

from embedded_server.engine.builtins import _support as support

logger = logging.getLogger(__name__)


class Batcher(upstream.Batcher):
    """Collect input items into batches.

    Slot ``input``. Events: ``batch(items, count, batch_number)`` for each
    full batch; ``timeout(items, count)`` for the items still waiting
    ``batch_timeout`` seconds after the first of them arrived.

    Config:
        batch_size: items per batch (default 100). When many items arrive at
            once, they are emitted as several batches of this size.
        batch_timeout: seconds before a partial batch is emitted as
            ``timeout`` (default 5.0); 0 emits it at once; None keeps it
            waiting for more items, so a partial batch left at the end of a
            job is never emitted.
        max_batch_size: hard cap on the batch size (default 10000; 0 is no
            cap).

    ``flush_on_shutdown``, ``max_batches`` and ``emit_empty`` have no effect:
    each job has its own instance, its last partial batch goes out through
    the timeout, and a timeout is only pending while items are waiting.
    """

    def __init__(self) -> None:
        super().__init__()
        # WORKAROUND: see InputSlotAdapter for the missing policy and the
        # keyword-only logic in routilux 1.1.0.
        self._recheck = support.Recheck()
        self.set_activation_policy(self._collect_batch)
        self.set_logic(self._emit_batches)

    def _collect_batch(
        self, slots: dict[str, Any], worker_state: Any
    ) -> support.PolicyResult:
        size = self._batch_limit()
        timeout = self.get_config("batch_timeout")
        ready: list[Any] = []
        with self._lock:
            new_items = support.consume_new(slots, ["input"]).get("input", [])
            if new_items and self._first_item_time is None:
                self._first_item_time = support.now()
            self._batch.extend(new_items)

            if len(self._batch) >= size:
                # Whole batches go now; a remainder starts a new wait.
                cut = len(self._batch) // size * size
                ready, self._batch = self._batch[:cut], self._batch[cut:]
                self._first_item_time = support.now() if self._batch else None
            if self._batch and timeout is not None:
                if support.now() >= self._first_item_time + timeout:
                    ready, self._batch, self._first_item_time = (
                        ready + self._batch,
                        [],
                        None,
                    )

            deadline = None
            if self._batch and timeout is not None:
                deadline = self._first_item_time + timeout

        if deadline is None:
            self._recheck.cancel()
        else:
            self._recheck.schedule(deadline)
        if not ready:
            return False, {}, "collecting"
        return True, {"input": ready}, "batch_full" if len(ready) >= size else "timeout"

    def _emit_batches(
        self,
        *slot_lists: list[Any],
        policy_message: str | None = None,
        worker_state: Any = None,
    ) -> None:
        # Full chunks are batches; a shorter last chunk can only be items
        # whose timeout expired.
        items = support.by_slot_name(self, slot_lists).get("input", [])
        size = self._batch_limit()
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            self._batch_number += 1
            if len(chunk) == size:
                self.emit(
                    "batch", items=chunk, count=size, batch_number=self._batch_number
                )
            else:
                self.emit("timeout", items=chunk, count=len(chunk))

    def _batch_limit(self) -> int:
        size = self.get_config("batch_size", 100)
        if not isinstance(size, int) or size < 1:
            raise ValueError(
                f"Batcher batch_size must be a positive integer, got {size!r}"
            )
        hard_cap = self.get_config("max_batch_size", 10000) or 0
        return min(size, hard_cap) if hard_cap > 0 else size


class Debouncer(upstream.Debouncer):
    """Emit input only after it has been quiet for a while.

    Slot ``input``. Events: ``leading(data)`` for the first item after a quiet
    period, when ``leading`` is on. ``debounced(data)`` with the latest item,
    once no item arrived for ``wait`` seconds or ``max_wait`` seconds passed
    since the first item that is still waiting.

    Config:
        wait: quiet period in seconds (default 0.3); 0 emits every item.
        leading: emit the first item of a burst at once (default False).
        trailing: emit the latest item after the quiet period (default True).
            With ``leading`` on, a burst of one item emits only ``leading``.
        max_wait: longest time in seconds an item may wait (default None).
    """

    def __init__(self) -> None:
        super().__init__()
        # WORKAROUND: see InputSlotAdapter for the missing policy and the
        # keyword-only logic in routilux 1.1.0. Its Debouncer also ignores
        # the documented ``trailing`` option.
        self._recheck = support.Recheck()
        self.set_activation_policy(self._watch_input)
        self.set_logic(self._emit_edge)

    def _watch_input(
        self, slots: dict[str, Any], worker_state: Any
    ) -> support.PolicyResult:
        wait = self.get_config("wait", 0.3) or 0.0
        max_wait = self.get_config("max_wait")
        current = support.now()
        message = emitted = None
        with self._lock:
            new_items = support.consume_new(slots, ["input"]).get("input", [])
            leading_item = self._take_new_items(new_items, current, wait)
            if leading_item is not None:
                message, emitted = "leading_edge", leading_item
            elif self._pending:
                message, emitted = self._take_due_item(current, wait, max_wait)
            deadline = self._deadline(wait, max_wait) if self._pending else None

        if deadline is None:
            self._recheck.cancel()
        else:
            self._recheck.schedule(deadline)
        if message is None:
            return False, {}, "waiting"
        return True, {"input": [emitted]}, message

    def _take_new_items(self, new_items: list[Any], current: float, wait: float) -> Any:
        """Record new items; return the item to emit on the leading edge, if any."""
        if not new_items:
            return None
        quiet = self._last_input_time is None or current - self._last_input_time >= wait
        self._last_input_time = current

        leading_item = None
        if quiet and self.get_config("leading", False):
            leading_item, new_items = new_items[0], new_items[1:]
        if new_items and self.get_config("trailing", True):
            if not self._pending:
                self._first_input_time = current
            self._pending = True
            self._last_data = new_items[-1]
        return leading_item

    def _take_due_item(
        self, current: float, wait: float, max_wait: float | None
    ) -> tuple[str | None, Any]:
        """Return ``(message, item)`` and clear the waiting item when it is due."""
        if max_wait is not None and current >= self._first_input_time + max_wait:
            message = "max_wait_reached"
        elif current >= self._last_input_time + wait:
            message = "trailing_edge"
        else:
            return None, None

        item = self._last_data
        self._pending, self._last_data, self._first_input_time = False, None, None
        return message, item

    def _deadline(self, wait: float, max_wait: float | None) -> float:
        quiet_at = self._last_input_time + wait
        if max_wait is None:
            return quiet_at
        return min(quiet_at, self._first_input_time + max_wait)

    def _emit_edge(
        self,
        *slot_lists: list[Any],
        policy_message: str | None = None,
        worker_state: Any = None,
    ) -> None:
        event = "leading" if policy_message == "leading_edge" else "debounced"
        for item in support.by_slot_name(self, slot_lists).get("input", []):
            self.emit(event, data=item)
