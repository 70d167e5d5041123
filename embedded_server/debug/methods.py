"""Calls of the allowed methods of plain data, each with its cost checked first.

``"a,b".split(",")`` or ``d.get("k", 0)`` in an expression evaluates to a
BoundMethod, and calling it runs the plain base type's own method (never a
subclass override) after checking how much the result could allocate.
"""

from __future__ import annotations

import operator
from itertools import islice
from typing import Any

from embedded_server.debug import limits, policy
from embedded_server.debug.context import EvaluationContext
from embedded_server.debug.render import Renderer

# Worst-case growth of the result, as a multiple of the receiver's length.
_GROWTH = {
    "capitalize": 3, "casefold": 3, "lower": 3, "upper": 3, "swapcase": 3,
    "title": 3, "encode": 4, "decode": 4, "hex": 3,
    "strip": 1, "lstrip": 1, "rstrip": 1, "removeprefix": 1, "removesuffix": 1,
    "partition": 1, "rpartition": 1,
}  # fmt: skip
_PADDING = ("center", "ljust", "rjust", "zfill")
_SPLITTING = ("split", "rsplit", "splitlines")
_PIECE_SIZE = limits.ITEM_SIZE + 50  # list slot plus a small string object
_SMALL_TEXT = 100_000  # below this, the receiver's length bounds the pieces

_WHITESPACE = {
    str: " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000",
    bytes: b" \t\n\r\x0b\x0c",
}
_LINE_BREAKS = {str: "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", bytes: b"\n\r"}


# The unbound method objects of the plain types, by (type, name).
_METHODS = {
    (base, name): policy.static_lookup(base, name)[1]
    for base, names in policy.ALLOWED_METHODS.items()
    for name in names
}


class BoundMethod(policy.SandboxObject):
    """An allowed method of a plain value, ready to be called by an expression."""

    __slots__ = ("receiver", "base", "name")
    display_type = "builtin_function_or_method"

    def __init__(self, receiver: Any, base: type, name: str) -> None:
        self.receiver = receiver
        self.base = base
        self.name = name

    def describe(self) -> str:
        return (
            f"<built-in method {self.name} of {policy.type_name(self.receiver)} object>"
        )

    def call(self, ctx: EvaluationContext, args: tuple, kwargs: dict[str, Any]) -> Any:
        receiver, base, name = self.receiver, self.base, self.name
        method = _METHODS[base, name]
        if base is dict and name == "get":
            return method(receiver, *args, **kwargs)  # the common case, cost O(1)
        if base in (str, bytes):
            return _call_text_method(ctx, method, receiver, base, name, args, kwargs)
        if base in (list, tuple) and name in ("count", "index"):
            return _scan_sequence(ctx, method, receiver, base, name, args, kwargs)
        if name == "copy":
            ctx.charge(base.__len__(receiver) * limits.ENTRY_SIZE, f"{name}()")
        elif base in (set, frozenset):
            _charge_set_arguments(ctx, receiver, base, name, args)
        return method(receiver, *args, **kwargs)


# Error messages name the Python type, as for the methods these stand for.
BoundMethod.__name__ = "builtin_function_or_method"


def _call_text_method(
    ctx: EvaluationContext, method: Any, receiver: Any, base: type, name: str,
    args: tuple, kwargs: dict[str, Any],
) -> Any:  # fmt: skip
    if name == "join" and len(args) == 1 and not kwargs:
        return _join(ctx, method, receiver, base, args[0])
    size = _text_result_size(receiver, base, name, args, kwargs)
    ctx.charge(size, f"{name}()")
    return method(receiver, *args, **kwargs)


def _join(
    ctx: EvaluationContext, method: Any, separator: Any, base: type, iterable: Any
) -> Any:
    items = ctx.materialize(iterable, "join()")
    parts = (base.__len__(item) for item in items if policy.is_a(item, base))
    total = sum(parts) + base.__len__(separator) * max(len(items) - 1, 0)
    ctx.charge(total, "join()")
    return method(separator, items)


def _text_result_size(
    receiver: Any, base: type, name: str, args: tuple, kwargs: dict[str, Any]
) -> int:
    """Estimate the characters (or bytes) a text method's result may need."""
    length = base.__len__(receiver)
    if name in _GROWTH:
        return length * _GROWTH[name]
    if name in _PADDING:
        width = _argument(args, kwargs, 0, "width", 0)
        return max(length, int.__int__(width)) if policy.is_a(width, int) else 0
    if name == "expandtabs":
        tabsize = _argument(args, kwargs, 0, "tabsize", 8)
        if not policy.is_a(tabsize, int):
            return 0
        tab = "\t" if base is str else b"\t"
        return length + base.count(receiver, tab) * max(int.__int__(tabsize), 0)
    if name == "replace":
        return _replace_size(receiver, base, length, args)
    if name in _SPLITTING:
        return _split_size(receiver, base, length, name, args, kwargs)
    return 0


def _argument(
    args: tuple, kwargs: dict[str, Any], index: int, name: str, default: Any
) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _replace_size(receiver: Any, base: type, length: int, args: tuple) -> int:
    if len(args) < 2 or not (policy.is_a(args[0], base) and policy.is_a(args[1], base)):
        return 0
    old, new = args[0], args[1]
    old_length, new_length = base.__len__(old), base.__len__(new)
    occurrences = length + 1 if old_length == 0 else base.count(receiver, old)
    if len(args) > 2 and policy.is_a(args[2], int) and int.__int__(args[2]) >= 0:
        occurrences = min(occurrences, int.__int__(args[2]))
    return length + occurrences * max(new_length - old_length, 0)


def _split_size(
    receiver: Any,
    base: type,
    length: int,
    name: str,
    args: tuple,
    kwargs: dict[str, Any],
) -> int:
    if name == "splitlines":
        pieces = _count_any(receiver, base, length, _LINE_BREAKS[base]) + 1
    else:
        separator = _argument(args, kwargs, 0, "sep", None)
        if separator is None:
            pieces = _count_any(receiver, base, length, _WHITESPACE[base]) + 1
        elif policy.is_a(separator, base) and base.__len__(separator) > 0:
            pieces = base.count(receiver, separator) + 1
        else:
            pieces = 1
        maxsplit = _argument(args, kwargs, 1, "maxsplit", -1)
        if policy.is_a(maxsplit, int) and int.__int__(maxsplit) >= 0:
            pieces = min(pieces, int.__int__(maxsplit) + 1)
    return pieces * _PIECE_SIZE + length


def _count_any(receiver: Any, base: type, length: int, characters: Any) -> int:
    """Count occurrences of any of the characters; an upper bound for small texts."""
    if length <= _SMALL_TEXT:
        return length
    if base is bytes:
        return sum(bytes.count(receiver, bytes((code,))) for code in characters)
    return sum(str.count(receiver, character) for character in characters)


def _scan_sequence(
    ctx: EvaluationContext, method: Any, receiver: Any, base: type, name: str,
    args: tuple, kwargs: dict[str, Any],
) -> Any:  # fmt: skip
    """Run list/tuple count() and index() in chunks, checking the deadline between them."""
    length = base.__len__(receiver)
    if length <= limits.SCAN_CHUNK or kwargs or len(args) != 1:
        return method(receiver, *args, **kwargs)
    target = args[0]
    if name == "count":
        iterator = base.__iter__(receiver)
        total = 0
        for _ in range(0, length, limits.SCAN_CHUNK):
            ctx.tick()
            total += operator.countOf(islice(iterator, limits.SCAN_CHUNK), target)
        return total
    position = find_in_sequence(ctx, receiver, base, target)
    if position is None:
        target_text = Renderer(max_chars=200, max_items=10, max_depth=2).repr(target)
        raise ValueError(f"{target_text} is not in {base.__name__}")
    return position


def find_in_sequence(
    ctx: EvaluationContext, sequence: Any, base: type, target: Any
) -> int | None:
    """Return the first index of target in a list or tuple, scanning in chunks."""
    length = base.__len__(sequence)
    for start in range(0, length, limits.SCAN_CHUNK):
        ctx.tick()
        try:
            return base.index(sequence, target, start, start + limits.SCAN_CHUNK)
        except ValueError:
            continue
    return None


def _charge_set_arguments(
    ctx: EvaluationContext, receiver: Any, base: type, name: str, args: tuple
) -> None:
    total = base.__len__(receiver)
    for other in args:
        length = limits.sized_length(other)
        if length is None:
            raise TypeError(
                f"{name}() in expressions takes sets, lists, tuples, dicts or "
                f"strings, not '{policy.type_name(other)}'"
            )
        total += length
    ctx.charge(total * limits.ENTRY_SIZE, f"{name}()")
