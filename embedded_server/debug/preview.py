"""Bounded previews of values, and the str()/repr() the sandbox uses inside expressions.

A preview describes any value in a few hundred characters, however large
or strange it is: a 50-million-item list, ``10**5000``, a self-referencing
dict, or an object whose ``__repr__`` raises. Rendering never calls a user
class's ``__repr__``, ``__str__``, ``__len__`` or ``__iter__``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from embedded_server.debug import limits, policy
from embedded_server.debug.render import Renderer

logger = logging.getLogger(__name__)

MAX_EXCEPTION_MESSAGE = 500  # characters of an error's details
_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))


def preview(
    value: Any, *, max_chars: int = 1000, max_items: int = 100, max_depth: int = 6
) -> dict[str, Any]:
    """Describe value for a client, within the given bounds.

    Args:
        value: anything.
        max_chars: maximum length of ``repr``.
        max_items: maximum elements shown per container.
        max_depth: maximum nesting shown; deeper containers show as ``[...]``.

    Returns:
        ``{"repr": str, "type": str, "length": int | None, "truncated": bool}``.
        ``length`` is the number of elements or characters of plain
        containers, strings and bytes, and None for other values (so no
        user ``__len__`` runs). ``truncated`` is True when ``repr`` leaves
        something out.
    """
    renderer = Renderer(max_chars=max_chars, max_items=max_items, max_depth=max_depth)
    try:
        text = renderer.repr(value)
        truncated = renderer.truncated
    except Exception:
        # Only a bug in the renderer gets here, and a preview must still be
        # returned.
        logger.exception("Preview of a %s value failed", policy.type_name(value))
        text, truncated = f"<{policy.type_name(value)} object>", True
    return {
        "repr": text,
        "type": policy.type_name(value),
        "length": length_of(value),
        "truncated": truncated,
    }


def length_of(value: Any) -> int | None:
    """Return the length of plain containers, strings and dict views, else None."""
    length = limits.sized_length(value)
    if length is None and type(value) in _DICT_VIEWS:
        length = len(value)
    return length


def safe_str(
    value: Any, *, max_chars: int, tick: Callable[[], None] | None = None
) -> str:
    """Return str(value) as Python would, for plain data and trusted types.

    Other objects render as their preview text. Raises LimitError instead
    of returning more than max_chars characters.
    """
    return Renderer(max_chars=max_chars, max_depth=100, strict=True, tick=tick).str(
        value
    )


def safe_repr(
    value: Any, *, max_chars: int, tick: Callable[[], None] | None = None
) -> str:
    """Return repr(value) under the same rules as safe_str()."""
    return Renderer(max_chars=max_chars, max_depth=100, strict=True, tick=tick).repr(
        value
    )


def display_text(value: Any, max_chars: int = 1000) -> str:
    """Return text for a log message: strings as they are, other values as previews."""
    if policy.is_a(value, str) and policy.method_is_inherited(value, str, "__str__"):
        text = str.__str__(value)
        return text if len(text) <= max_chars else text[: max_chars - 1] + "…"
    rendered = Renderer(max_chars=max_chars, max_items=100, max_depth=6)
    text = rendered.str(value)
    return text + "…" if rendered.truncated else text


def describe_exception(error: BaseException) -> str:
    """Return ``"<Type>: <details>"`` for an error, without running user code.

    ``KeyError`` shows its key's repr, as Python does; other errors show a
    string argument as it is and any other arguments as previews.
    """
    name = policy.type_name(error)
    args = BaseException.__dict__["args"].__get__(error, type(error))
    if policy.is_a(error, KeyError) and len(args) == 1:
        details = _bounded_repr(args[0])
    elif len(args) == 1 and type(args[0]) is str:
        details = args[0]
    elif policy.class_module(type(error)) == "builtins" and all(map(_is_scalar, args)):
        # Built-in exception classes format their scalar arguments in C.
        details = str(error)
    else:
        details = ", ".join(_bounded_repr(item) for item in args)
    if len(details) > MAX_EXCEPTION_MESSAGE:
        details = details[: MAX_EXCEPTION_MESSAGE - 1] + "…"
    return f"{name}: {details}" if details else name


def _bounded_repr(value: Any) -> str:
    renderer = Renderer(max_chars=MAX_EXCEPTION_MESSAGE, max_items=20, max_depth=3)
    return renderer.repr(value)


def _is_scalar(value: Any) -> bool:
    return type(value) in (type(None), bool, int, float, str, bytes) and not (
        type(value) is int and int.bit_length(value) > 64
    )
