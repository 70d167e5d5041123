"""Shared pieces that adapt routilux 1.1.0's built-in routines to the standard calling convention.

The engine activates a routine as routilux's own runtime does: it calls
``routine._activation_policy(routine.slots, worker_state)`` and, when that
returns ``(True, data_slice, message)``, it calls the logic with one list per
slot, in slot order: ``logic(*lists, policy_message=message,
worker_state=worker_state)``.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from routilux.core.context import get_current_execution_context

logger = logging.getLogger(__name__)

TIMERS_MODULE = "embedded_server.engine.timers"

# Timers are padded by this many seconds, and a timer that should have fired
# by then counts as fired. Without the margin, a timer that the engine fires a
# hair early would see "not due yet" and leave the job waiting forever.
TIMER_SLACK = 0.005

PolicyResult = tuple[bool, dict[str, list[Any]], str]


def now() -> float:
    """Return the monotonic clock in seconds.

    Every time-based built-in reads the clock through this function, so tests
    can move time forward without sleeping.
    """
    return time.monotonic()


def consume_new(slots: dict[str, Any], names: Iterable[str]) -> dict[str, list[Any]]:
    """Consume the unconsumed items of the named slots.

    Returns:
        The consumed items by slot name, only for slots that had any.
    """
    data_slice = {}
    for name in names:
        slot = slots.get(name)
        if slot is not None and slot.get_unconsumed_count() > 0:
            data_slice[name] = slot.consume_all_new()
    return data_slice


def by_slot_name(routine: Any, slot_lists: Sequence[list[Any]]) -> dict[str, list[Any]]:
    """Map the positional per-slot lists of a logic call back to slot names."""
    return dict(zip(routine.slots, slot_lists, strict=False))


class InputSlotAdapter:
    """Mixin for built-ins whose logic is ``_run_logic(**kwargs)`` on one ``input`` slot.

    WORKAROUND: routilux 1.1.0's built-ins call
    ``self.set_activation_policy(self._activation_policy)`` in ``__init__``,
    after ``Routine.__init__`` has set the instance attribute
    ``_activation_policy`` to None, so the policy stays None and the routine
    never runs. Their own policy reads ``slot.new_data``, which ``Slot`` does
    not have, and their ``_run_logic(**kwargs)`` expects ``input=[...]`` as a
    keyword while the runtime passes one positional list per slot. This mixin
    installs a consume-all policy under a name the base class does not shadow
    and a logic that passes the slot lists by name.
    """

    def adopt_standard_calling(self) -> None:
        """Install the working policy and logic; call at the end of ``__init__``."""
        self.set_activation_policy(self._consume_input)
        self.set_logic(self._run_with_slot_lists)

    def _consume_input(self, slots: dict[str, Any], worker_state: Any) -> PolicyResult:
        data_slice = consume_new(slots, ["input"])
        if data_slice:
            return True, data_slice, "slot_activated"
        return False, {}, "no_new_data"

    def _run_with_slot_lists(
        self,
        *slot_lists: list[Any],
        policy_message: str | None = None,
        worker_state: Any = None,
    ) -> None:
        self._run_logic(**by_slot_name(self, slot_lists))


class HandlerInputAdapter(InputSlotAdapter):
    """Mixin for built-ins whose logic is ``_handle_input(data=None, **kwargs)``.

    WORKAROUND: routilux 1.1.0's ConditionalRouter and ResultExtractor keep a
    policy, but it calls ``len()`` on a Slot, which has no ``__len__``, and
    their logic takes one payload rather than the slot's list of items. This
    mixin installs the consume-all policy and calls the handler once per
    item. A slot item is the keyword arguments of the emit that produced it,
    so a dict item is spread into keyword arguments, as routilux's older
    slot handlers received them. The handler then takes as payload the
    ``data`` key, else the only value, else the whole dict.
    """

    def adopt_standard_calling(self) -> None:
        """Install the working policy and logic; call at the end of ``__init__``."""
        self.set_activation_policy(self._consume_input)
        self.set_logic(self._handle_each_item)

    def _handle_each_item(
        self,
        *slot_lists: list[Any],
        policy_message: str | None = None,
        worker_state: Any = None,
    ) -> None:
        for item in by_slot_name(self, slot_lists).get("input", []):
            if isinstance(item, dict) and all(isinstance(key, str) for key in item):
                self._handle_input(**item)
            else:
                self._handle_input(item)


class Recheck:
    """A pending re-run of one routine's activation policy, through the engine's timers.

    The engine module ``embedded_server.engine.timers`` provides
    ``call_later(delay_seconds, routine_id)``, which re-runs the policy of that
    routine in the same job after the delay and keeps the job open until then.
    It is imported only when a delay is needed, so routines configured
    without delays never depend on it.
    """

    def __init__(self) -> None:
        self._fires_at: float | None = None
        self._handles: list[Any] = []

    def schedule(self, deadline: float) -> None:
        """Make sure the policy runs again no later than ``deadline`` (a :func:`now` value).

        Raises:
            RuntimeError: if no routine id is in the execution context, or the
                engine's timers module is missing.
        """
        current = now()
        pending = self._fires_at is not None and current < self._fires_at - TIMER_SLACK
        if pending and self._fires_at <= deadline + 2 * TIMER_SLACK:
            return

        delay = max(deadline - current, 0.0) + TIMER_SLACK
        self._handles.append(_timers().call_later(delay, _current_routine_id()))
        self._fires_at = current + delay

    def cancel(self) -> None:
        """Cancel the scheduled timers whose engine handles support it.

        NOTE: ``call_later`` promises no return value. Without a handle that
        has ``cancel()``, a timer still fires, the policy finds nothing due
        and returns False, and the job completes only after that.
        """
        for handle in self._handles:
            cancel = getattr(handle, "cancel", None)
            if callable(cancel):
                cancel()
        self._handles.clear()
        self._fires_at = None


def _timers() -> Any:
    try:
        return importlib.import_module(TIMERS_MODULE)
    except ModuleNotFoundError as error:
        raise RuntimeError(
            f"This routine needs a timer, but {TIMERS_MODULE} is not available; "
            "configure it without a delay or run it in the embedded server's engine"
        ) from error


def _current_routine_id() -> str:
    context = get_current_execution_context()
    if context is None or not context.routine_id:
        raise RuntimeError(
            "Scheduling a timer needs the routine id from the execution context, "
            "and none is set"
        )
    return context.routine_id
