"""Working Splitter, ConditionalRouter and Aggregator for the standard calling convention."""

from __future__ import annotations

import ast
import functools
import logging
from typing import Any

from routilux.builtin_routines import control_flow as upstream

from embedded_server.engine.builtins import _support as support

logger = logging.getLogger(__name__)

# Names, attributes and syntax that a route expression may not use, because
# they lead out of the restricted eval() scope (object internals, frames,
# str.format field traversal) or define code.
_FORBIDDEN_ATTRIBUTES = frozenset({"format", "format_map", "mro"})
_FORBIDDEN_ATTRIBUTE_PREFIXES = ("_", "gi_", "cr_", "ag_", "f_", "tb_", "co_")
_FORBIDDEN_NODES = (
    ast.Lambda,
    ast.NamedExpr,
    ast.GeneratorExp,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
)


class Splitter(support.InputSlotAdapter, upstream.Splitter):
    """Emit the parts of each input item one by one.

    Slot ``input``. Events: ``item(item[, index][, count])`` per part,
    ``empty()`` when the item or its field is None or has no parts, and
    ``error(error, data)``.

    Config:
        field: split this field of a dict item instead of the item itself.
        split_strings: split strings into characters (default False emits
            the string whole).
        dict_mode: for dicts, ``values`` (default), ``keys``, ``items``
            (``(key, value)`` tuples) or ``entries`` (``{key, value}`` dicts).
        include_index / include_count: add ``index`` and ``count``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.adopt_standard_calling()


class ConditionalRouter(support.HandlerInputAdapter, upstream.ConditionalRouter):
    """Send each input item to the event of the route whose condition it meets.

    Slot ``input``. Each item's payload is its ``data`` key, else its only
    value, else the whole item. Events: one per route and for
    ``default_route``, each ``(data, route)``; ``output(data,
    route="unmatched")`` when nothing matches and no default route is set.

    Config:
        routes: list of ``[route_name, condition]``. A condition is a Python
            expression over ``data`` and ``config`` (for example
            ``"data.get('priority') == 'high'"``), a dict of field values
            (callable values act as tests), or a callable. A condition that
            raises counts as not matched.
        default_route: event for items no route matches.
        route_priority: ``first_match`` (default) or ``all_matches``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.adopt_standard_calling()
        self._events_follow_config = True
        self._add_route_events()

    def set_config(self, **kwargs: Any) -> None:
        """Extend ``set_config`` to check the routes and create their events.

        WORKAROUND: routilux 1.1.0 creates route events only in
        ``add_route()``, so routes set through config (as the DSL does) had no
        events to connect.

        Raises:
            ValueError: if a route is not a ``[name, condition]`` pair or its
                expression uses a forbidden construct.
        """
        super().set_config(**kwargs)
        if getattr(self, "_events_follow_config", False):
            self._add_route_events()

    def _add_route_events(self) -> None:
        for entry in self.get_config("routes") or []:
            if (
                not isinstance(entry, (list, tuple))
                or len(entry) != 2
                or not isinstance(entry[0], str)
            ):
                raise ValueError(
                    f"ConditionalRouter route {entry!r} is invalid: expected [route_name, condition]"
                )
            name, condition = entry
            if isinstance(condition, str):
                check_route_expression(condition)
            self._ensure_event(name)

        default_route = self.get_config("default_route")
        if default_route:
            self._ensure_event(default_route)

    def _ensure_event(self, name: str) -> None:
        if self.get_event(name) is None:
            self.add_event(name, ["data", "route"])


@functools.lru_cache(maxsize=256)
def check_route_expression(expression: str) -> None:
    """Reject a route expression that could leave the restricted eval() scope.

    routilux evaluates route expressions with eval() and a short list of
    built-ins. That alone does not stop ``().__class__.__base__`` style
    escapes, and flows can arrive over the API, so expressions may not name
    anything private, frame or generator internals, ``format``, lambdas or
    comprehensions.

    TODO: expression cost (big powers, long repetitions) is not bounded here;
    evaluate through the server's sandboxed expression evaluator once it
    exists.

    Raises:
        ValueError: naming the expression and the construct that is not allowed.
    """
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as error:
        raise ValueError(
            f"Route expression {expression!r} is invalid: {error.msg}"
        ) from error

    for node in ast.walk(tree):
        problem = _forbidden_construct(node)
        if problem:
            raise ValueError(
                f"Route expression {expression!r} is not allowed: it uses {problem}"
            )


def _forbidden_construct(node: ast.AST) -> str | None:
    if isinstance(node, _FORBIDDEN_NODES):
        return type(node).__name__
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return f"the name {node.id!r}"
    if isinstance(node, ast.Attribute) and (
        node.attr in _FORBIDDEN_ATTRIBUTES
        or node.attr.startswith(_FORBIDDEN_ATTRIBUTE_PREFIXES)
    ):
        return f"the attribute {node.attr!r}"
    return None


class Aggregator(upstream.Aggregator):
    """Combine what arrives on several slots into one emission.

    Slots: the names in config ``slots``, created when configured. Events:
    ``aggregated(data, sources)``; ``timeout(partial_data, missing_slots)``
    when ``timeout`` seconds pass after the first item of a round without the
    round becoming ready; ``error(error, slot)`` when the merge raises.

    Config:
        slots: slot names to aggregate.
        mode: ``all`` (default; every slot has data), ``any`` (any slot has
            data) or ``n_of_m`` (``threshold`` slots have data).
        threshold: slots needed in ``n_of_m`` mode (default: all).
        timeout: seconds before a partial round is emitted as ``timeout``
            (default 30); None waits without limit.
        merge_strategy: ``dict`` (default; by slot name, one item unwrapped),
            ``list`` (all items), ``flatten`` (lists flattened) or a callable
            receiving ``{slot: [items]}``.
        max_pending_items: items kept per slot, the newest win (default 1000;
            0 is unlimited).

    A round's items reach the logic as its slot lists, so a debugger pausing
    before the logic shows exactly what will be merged.
    """

    def __init__(self) -> None:
        super().__init__()
        # WORKAROUND: see InputSlotAdapter for the missing policy and the
        # keyword-only logic in routilux 1.1.0. Its Aggregator also never
        # creates the configured slots when built through the factory.
        self._recheck = support.Recheck()
        self.set_activation_policy(self._collect_round)
        self.set_logic(self._emit_round)
        self._slots_follow_config = True
        self._add_configured_slots()

    def set_config(self, **kwargs: Any) -> None:
        """Extend ``set_config`` to create the slots named in ``slots``."""
        super().set_config(**kwargs)
        if getattr(self, "_slots_follow_config", False):
            self._add_configured_slots()

    def _add_configured_slots(self) -> None:
        for name in self.get_config("slots") or []:
            if name not in self.slots:
                self.add_slot(name)

    def _collect_round(
        self, slots: dict[str, Any], worker_state: Any
    ) -> support.PolicyResult:
        slot_names = self.get_config("slots") or []
        timeout = self.get_config("timeout")
        with self._lock:
            self._store_new_items(support.consume_new(slots, slot_names))
            if not self._pending_data:
                return False, {}, "waiting"

            message = self._readiness(slot_names)
            deadline = None if timeout is None else self._first_data_time + timeout
            if message is None and deadline is not None and support.now() >= deadline:
                message = "timeout"
            if message is not None:
                data_slice, self._pending_data, self._first_data_time = (
                    self._pending_data,
                    {},
                    None,
                )

        # The timer is scheduled or cancelled outside the lock, in case the
        # engine runs a due policy check synchronously.
        if message is None:
            if deadline is not None:
                self._recheck.schedule(deadline)
            return False, {}, "waiting"
        self._recheck.cancel()
        return True, data_slice, message

    def _store_new_items(self, new_items: dict[str, list[Any]]) -> None:
        max_pending = self.get_config("max_pending_items", 1000) or 0
        for name, items in new_items.items():
            pending = self._pending_data.setdefault(name, [])
            pending.extend(items)
            if max_pending > 0 and len(pending) > max_pending:
                logger.warning(
                    "Aggregator slot %r holds more than %d items; dropping the oldest %d",
                    name,
                    max_pending,
                    len(pending) - max_pending,
                )
                del pending[:-max_pending]
        if new_items and self._first_data_time is None:
            self._first_data_time = support.now()

    def _readiness(self, slot_names: list[str]) -> str | None:
        ready = [name for name in slot_names if self._pending_data.get(name)]
        mode = self.get_config("mode", "all")
        if mode == "all" and len(ready) == len(slot_names):
            return "all_ready"
        if mode == "any" and ready:
            return "any_ready"
        if mode == "n_of_m" and len(ready) >= (
            self.get_config("threshold") or len(slot_names)
        ):
            return "threshold_reached"
        return None

    def _emit_round(
        self,
        *slot_lists: list[Any],
        policy_message: str | None = None,
        worker_state: Any = None,
    ) -> None:
        received = {
            name: items
            for name, items in support.by_slot_name(self, slot_lists).items()
            if items
        }
        if policy_message == "timeout":
            missing = [
                name for name in self.get_config("slots") or [] if name not in received
            ]
            self.emit("timeout", partial_data=received, missing_slots=missing)
            return

        try:
            merged = self._merge_data(
                received, self.get_config("merge_strategy", "dict")
            )
        except Exception as error:  # documented: a failing merge emits ``error``
            logger.warning("Aggregator merge failed: %s", error)
            self.emit("error", error=str(error), slot="aggregator")
            return
        self.emit("aggregated", data=merged, sources=list(received))
