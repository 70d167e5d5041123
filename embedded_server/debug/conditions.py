"""The debugger's use of the sandbox: conditions, hit conditions, logpoints, evaluate."""

from __future__ import annotations

import logging
import threading
from typing import Any

from embedded_server.debug.errors import EvaluationError, ExpressionError

logger = logging.getLogger(__name__)

__all__ = [
    "ConditionError",
    "ExpressionError",
    "check",
    "evaluate",
    "hit_matches",
    "preview",
    "render",
    "validate_condition",
    "validate_hit_condition",
    "validate_template",
]

# Compiled conditions and hit conditions by their text; breakpoints are few
# and their texts change rarely, so the cache stays small.
_MAX_CACHED = 1000
_cache: dict[tuple[str, str], Any] = {}
_cache_lock = threading.Lock()


class ConditionError(Exception):
    """A condition failed while it was evaluated; the message reads like Python's."""


def _sandbox() -> Any:
    # Imported on first use: the sandbox package imports this package's
    # neighbours, and the server must start even before any breakpoint exists.
    import embedded_server.debug as sandbox

    return sandbox


def _compiled(kind: str, text: str) -> Any:
    key = (kind, text)
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    compiled = (
        _sandbox().compile_expression(text)
        if kind == "condition"
        else _sandbox().parse_hit_condition(text)
    )
    with _cache_lock:
        if len(_cache) >= _MAX_CACHED:
            _cache.clear()
        _cache[key] = compiled
    return compiled


def validate_condition(text: str) -> None:
    """Raise ExpressionError, with a column, when ``text`` is not a valid condition."""
    _compiled("condition", text)


def validate_hit_condition(text: str) -> None:
    _compiled("hit", text)


def validate_template(text: str) -> None:
    _sandbox().compile_template(text)


def check(text: str, names: dict[str, Any], *, timeout: float) -> bool:
    """Return whether the condition holds; raise ConditionError when it fails."""
    try:
        # The truth value is taken inside the sandbox's guard, so a payload
        # object's own __bool__ never runs.
        return _compiled("condition", text).evaluate_condition(names, timeout=timeout)
    except EvaluationError as exc:
        raise ConditionError(exc.message) from exc


def hit_matches(text: str, hit_count: int) -> bool:
    hit = _compiled("hit", text)
    return hit is None or hit.matches(hit_count)


def render(template: str, names: dict[str, Any]) -> str:
    return _sandbox().render_template(template, names)


def preview(value: Any) -> dict[str, Any]:
    from embedded_server.debug.preview import preview as bounded_preview

    return bounded_preview(value)


def evaluate(expression: str, names: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Evaluate for the evaluate API: ``{"result", "type", "error"}``, never raising."""
    result = _sandbox().evaluate(expression, names, timeout=timeout)
    return {"result": result.result, "type": result.type, "error": result.error}
