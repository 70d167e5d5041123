"""Working RetryHandler that waits between attempts with engine timers instead of sleeping."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from routilux.builtin_routines import reliability as upstream

from embedded_server.engine.builtins import _support as support

logger = logging.getLogger(__name__)

_ERROR_CODE_ATTRIBUTES = ("code", "status_code", "errno")


@dataclass
class _Attempts:
    """One item's retry state between activations."""

    item: Any
    operation: Any
    argument: Any
    attempt: int = 0
    errors: list[str] = field(default_factory=list)
    due: float = 0.0


class RetryHandler(upstream.RetryHandler):
    """Run each input item's operation, retrying failures with backoff.

    Slot ``input``. An item ``{"operation": callable, "data": x}`` (see
    ``wrap_operation``) runs ``operation(x)``, or ``operation(item)`` without
    ``data``; a non-callable operation is its own result. Any other item
    passes through as ``success(data=item, attempts=1)``.

    Events: ``success(data, attempts)`` with the operation's result;
    ``retry(data, attempt, error, delay)`` before each wait; ``exhausted(data,
    attempts, errors)`` after the last failed attempt; ``error(error, data)``
    for a failure that may not be retried.

    Config:
        max_attempts: attempts in total, the first included (default 3).
        backoff: ``fixed``, ``linear``, ``exponential`` (default) or
            ``exponential_jitter``, from ``base_delay`` (default 1.0 s) capped
            at ``max_delay`` (default 60 s). A delay of 0 retries at once
            without a timer.
        retryable_exceptions: exception classes or class names (matched
            against the exception's class and its bases); None retries all.
        retryable_error_codes: when set, only exceptions whose ``code``,
            ``status_code`` or ``errno`` is in this list are retried.
        on_retry(attempt, error, delay) / on_exhausted(attempts, errors,
            item): callbacks; one that raises is logged and ignored.
        max_items: items taken per activation, the rest dropped with a
            warning (default 100; 0 is unlimited).
        max_errors_kept: error messages kept per item (default 10).
    """

    def __init__(self) -> None:
        super().__init__()
        # WORKAROUND: see InputSlotAdapter for the missing policy and the
        # keyword-only logic in routilux 1.1.0. Its logic also sleeps
        # between attempts, which would block a worker thread for the whole
        # backoff. Here waiting items are stored and resumed by a timer.
        self._recheck = support.Recheck()
        self._waiting: list[_Attempts] = []
        self.set_activation_policy(self._check_input_and_retries)
        self.set_logic(self._process)

    def _check_input_and_retries(
        self, slots: dict[str, Any], worker_state: Any
    ) -> support.PolicyResult:
        data_slice = support.consume_new(slots, ["input"])
        if data_slice:
            return True, data_slice, "slot_activated"
        with self._lock:
            due = any(waiting.due <= support.now() for waiting in self._waiting)
        if due:
            return True, {}, "retry_due"
        return False, {}, "waiting"

    def _process(
        self,
        *slot_lists: list[Any],
        policy_message: str | None = None,
        worker_state: Any = None,
    ) -> None:
        items = support.by_slot_name(self, slot_lists).get("input", [])
        max_items = self.get_config("max_items", 100) or 0
        if max_items > 0 and len(items) > max_items:
            logger.warning(
                "RetryHandler received %d items, more than max_items=%d; "
                "dropping the last %d",
                len(items),
                max_items,
                len(items) - max_items,
            )
            items = items[:max_items]

        for item in items:
            self._start(item)
        for attempts in self._take_due():
            self._run_attempts(attempts)
        self._schedule_next()

    def _start(self, item: Any) -> None:
        if not (isinstance(item, dict) and "operation" in item):
            self.emit("success", data=item, attempts=1)
            return
        self._run_attempts(_Attempts(item, item["operation"], item.get("data", item)))

    def _run_attempts(self, attempts: _Attempts) -> None:
        """Attempt until success, a final failure, or a wait that needs a timer."""
        max_attempts = self.get_config("max_attempts", 3)
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(
                f"RetryHandler max_attempts must be a positive integer, got {max_attempts!r}"
            )

        while True:
            attempts.attempt += 1
            operation = attempts.operation
            try:
                result = (
                    operation(attempts.argument) if callable(operation) else operation
                )
            except Exception as error:  # any failure of the operation may be retried
                delay = self._after_failure(attempts, error, max_attempts)
            else:
                self.emit("success", data=result, attempts=attempts.attempt)
                return

            if delay is None:
                return
            if delay > 0:
                attempts.due = support.now() + delay
                with self._lock:
                    self._waiting.append(attempts)
                return

    def _after_failure(
        self, attempts: _Attempts, error: Exception, max_attempts: int
    ) -> float | None:
        """Report a failed attempt; return the delay before the next one, or None when done."""
        max_kept = max(self.get_config("max_errors_kept", 10) or 1, 1)
        attempts.errors = (attempts.errors + [str(error)])[-max_kept:]

        if not self._may_retry(error):
            self.emit("error", error=str(error), data=attempts.item)
            return None
        if attempts.attempt >= max_attempts:
            self._call_back(
                "on_exhausted", attempts.attempt, attempts.errors, attempts.item
            )
            self.emit(
                "exhausted",
                data=attempts.item,
                attempts=attempts.attempt,
                errors=attempts.errors,
            )
            return None

        delay = self._calculate_delay(
            attempts.attempt,
            self.get_config("backoff", "exponential"),
            self.get_config("base_delay", 1.0),
            self.get_config("max_delay", 60.0),
        )
        self.emit(
            "retry",
            data=attempts.item,
            attempt=attempts.attempt,
            error=str(error),
            delay=delay,
        )
        self._call_back("on_retry", attempts.attempt, error, delay)
        return delay

    def _may_retry(self, error: Exception) -> bool:
        # WORKAROUND: routilux 1.1.0 passes retryable_exceptions straight to
        # isinstance(), so class names from a DSL file raise TypeError, and it
        # never reads retryable_error_codes.
        kinds = self.get_config("retryable_exceptions")
        if kinds is not None:
            names = {cls.__name__ for cls in type(error).__mro__}
            if not any(
                kind in names if isinstance(kind, str) else isinstance(error, kind)
                for kind in kinds
            ):
                return False

        codes = self.get_config("retryable_error_codes")
        if codes is None:
            return True
        return any(
            getattr(error, attribute, None) in codes
            for attribute in _ERROR_CODE_ATTRIBUTES
        )

    def _call_back(self, key: str, *args: Any) -> None:
        callback = self.get_config(key)
        if not callable(callback):
            return
        try:
            callback(*args)
        except Exception as error:  # a broken callback must not stop the retries
            logger.warning("RetryHandler %s callback failed: %s", key, error)

    def _take_due(self) -> list[_Attempts]:
        current = support.now()
        with self._lock:
            due = [waiting for waiting in self._waiting if waiting.due <= current]
            self._waiting = [
                waiting for waiting in self._waiting if waiting.due > current
            ]
        return due

    def _schedule_next(self) -> None:
        with self._lock:
            next_due = min((waiting.due for waiting in self._waiting), default=None)
        if next_due is None:
            self._recheck.cancel()
        else:
            self._recheck.schedule(next_due)
