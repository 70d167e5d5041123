"""Reading the server's value previews: split a container's repr into its items.

The server shows a value as a bounded repr (see docs/debugging.md). Plain
data renders as Python renders it, with ``...`` where items were left out
and ``{...}`` or ``[...]`` where nesting went too deep. The text is also
cut at a character budget. This module splits such text into items without
evaluating it, so the variables tree can expand a value one level at a time
and knows where the server has to be asked for more.
"""

from __future__ import annotations

import ast
import json
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

DICT, LIST, TUPLE, SET, OBJECT = "dict", "list", "tuple", "set", "object"
INDEXABLE = frozenset({DICT, LIST, TUPLE})
ELLIPSIS = "..."

_OPENERS = {"(": ")", "[": "]", "{": "}", "<": ">"}
_CLOSERS = frozenset(_OPENERS.values())
# A class name followed by "(": a namedtuple, an object's fields, frozenset(...).
_CALL_RE = re.compile(r"^([A-Za-z_][\w.]*)\(")
_EMPTY_TEXTS = frozenset({"{}", "[]", "()", "set()", "frozenset()"})
_ELIDED_TEXTS = frozenset({"{...}", "[...]", "(...)"})


@dataclass(frozen=True)
class Item:
    """One item of a container's repr.

    Attributes:
        key: The dict key's repr, the object's field name, or None for
            sequence and set items.
        text: The value's repr, possibly cut short.
        cut: Whether the text ends where the server's budget ran out.
    """

    key: str | None
    text: str
    cut: bool = False


@dataclass(frozen=True)
class Container:
    """The items read from one container's repr.

    Attributes:
        kind: DICT, LIST, TUPLE, SET or OBJECT.
        more: Whether items were left out (an ``...`` item or a cut text).
    """

    kind: str
    items: tuple[Item, ...]
    more: bool


def container_kind(text: str, type_name: str = "") -> str | None:
    """Return the kind of container ``text`` shows, or None for a scalar."""
    text = text.strip()
    if not text or text in _EMPTY_TEXTS:
        return None
    if text.startswith("["):
        return LIST
    if text.startswith("("):
        return TUPLE
    if text.startswith("{"):
        if type_name in ("set", "frozenset"):
            return SET
        if type_name == "dict" or text in _ELIDED_TEXTS:
            return DICT
        return _brace_kind(text)
    if text.startswith("frozenset(") or text.startswith("set("):
        return SET
    match = _CALL_RE.match(text)
    if match and "=" in text:
        return OBJECT
    return None


def is_elided(text: str) -> bool:
    """Return whether ``text`` is a container whose items were not rendered."""
    text = text.strip()
    return text in _ELIDED_TEXTS or text.endswith("(...)")


def split(text: str, type_name: str = "") -> Container | None:
    """Split a container's repr into items, or return None for a scalar."""
    kind = container_kind(text, type_name)
    if kind is None or is_elided(text):
        return None
    body_start = _body_start(text.strip(), kind)
    if body_start is None:
        return None
    raw_items, closed = _scan(text.strip(), body_start)
    return _build(kind, raw_items, closed)


def infer_type(text: str) -> str:
    """Guess a type name from a repr, for items the server did not describe."""
    text = text.strip()
    if not text:
        return ""
    head = text[0]
    if head in "'\"":
        return "str"
    if text[:2] in ("b'", 'b"'):
        return "bytes"
    if text in ("None", "True", "False"):
        return "NoneType" if text == "None" else "bool"
    if text in ("nan", "inf", "-inf"):
        return "float"
    if re.fullmatch(r"-?\d+", text):
        return "int"
    if re.fullmatch(r"-?[\d.]+(e[-+]?\d+)?j?", text):
        return "complex" if text.endswith("j") else "float"
    kind = container_kind(text)
    if kind in (DICT, LIST, TUPLE, SET):
        return "frozenset" if text.startswith("frozenset(") else kind
    match = _CALL_RE.match(text)
    if match:
        return match.group(1)
    if text.startswith("<"):
        return text[1:].split(" ", 1)[0].split(".", 1)[0].rstrip(">:")
    return ""


def literal(text: str) -> tuple[bool, Any]:
    """Read ``text`` as a Python literal; return ``(ok, value)``."""
    try:
        return True, ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def is_json_data(value: Any, depth: int = 0) -> bool:
    """Return whether ``value`` survives a JSON round trip unchanged."""
    if depth > 100:
        return False
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(is_json_data(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and is_json_data(item, depth + 1)
            for key, item in value.items()
        )
    return False


def to_json_text(value: Any) -> str:
    """Return ``value`` as compact JSON for an editor."""
    return json.dumps(value, ensure_ascii=False)


def parse_json_value(text: str) -> Any:
    """Parse an edited value as JSON.

    Raises:
        ValueError: with a message that names the line and column, or that
            rejects NaN and Infinity, which the server does not accept.
    """

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not allowed; use a finite number")

    try:
        return json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc


def key_label(key_text: str) -> str:
    """Return a dict key for display: strings without quotes, others as shown."""
    ok, value = literal(key_text)
    if ok and isinstance(value, str) and value and value.isprintable():
        return value
    return key_text


def child_expression(parent: str, kind: str, item: Item, index: int) -> str | None:
    """Return an expression for a child value, or None when it cannot be indexed."""
    if kind in (LIST, TUPLE):
        return f"{parent}[{index}]"
    if kind == DICT and item.key is not None and not item.key.endswith("..."):
        ok, _value = literal(item.key)
        return f"{parent}[{item.key}]" if ok else None
    if kind == OBJECT and item.key is not None and item.key.isidentifier():
        return f"{parent}.{item.key}"
    return None


def page_expression(parent: str, kind: str, start: int, count: int) -> str | None:
    """Return an expression for items ``start``..``start + count`` of a container."""
    end = start + count
    if kind in (LIST, TUPLE):
        return f"{parent}[{start}:{end}]"
    if kind == DICT:
        return f"dict(list({parent}.items())[{start}:{end}])"
    return None


# -- scanning ---------------------------------------------------------------


def _brace_kind(text: str) -> str:
    """Tell a dict from a set by a ``:`` at the top level of the braces."""
    raw_items, _closed = _scan(text, 1)
    for _key, _value, has_colon, _cut in raw_items:
        if has_colon:
            return DICT
    return SET


def _body_start(text: str, kind: str) -> int | None:
    """Return the index just past the container's opening bracket."""
    if kind == SET and text.startswith(("frozenset(", "set(")):
        brace = text.find("{")
        return brace + 1 if brace >= 0 else None
    if kind == OBJECT:
        return text.index("(") + 1
    return 1


def _scan(text: str, start: int) -> tuple[list[tuple[str, str, bool, bool]], bool]:
    """Split the body that starts at ``start`` at its top-level commas.

    Returns ``([(key, value, has_separator, cut), ...], closed)``, where the
    separator is ``:`` for dicts and ``=`` for object fields, and ``closed``
    is False when the text ends before the container's closing bracket.
    """
    items: list[tuple[str, str, bool, bool]] = []
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    item_start = start
    separator_at: int | None = None
    index = start
    while index < len(text):
        char = text[index]
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in _OPENERS and (
            char != "<" or _opens_marker(text, index, item_start)
        ):
            stack.append(_OPENERS[char])
        elif char in _CLOSERS and stack and char == stack[-1]:
            stack.pop()
        elif char in _CLOSERS and not stack and char != ">":
            items.append(_item(text, item_start, index, separator_at, cut=False))
            return [item for item in items if item[1] or item[0]], True
        elif not stack and char == ",":
            items.append(_item(text, item_start, index, separator_at, cut=False))
            item_start, separator_at = index + 1, None
        elif not stack and separator_at is None and char in ":=":
            separator_at = index
        index += 1
    items.append(_item(text, item_start, len(text), separator_at, cut=True))
    return [item for item in items if item[1] or item[0]], False


def _opens_marker(text: str, index: int, item_start: int) -> bool:
    """Return whether a ``<`` starts an opaque marker such as ``<function f>``."""
    before = text[item_start:index].strip()
    return before == "" or before.endswith((":", "="))


def _item(
    text: str, start: int, end: int, separator_at: int | None, *, cut: bool
) -> tuple[str, str, bool, bool]:
    if separator_at is None:
        return "", text[start:end].strip(), False, cut
    key = text[start:separator_at].strip()
    return key, text[separator_at + 1 : end].strip(), True, cut


def _build(
    kind: str, raw_items: list[tuple[str, str, bool, bool]], closed: bool
) -> Container:
    items: list[Item] = []
    more = not closed
    keyed = kind in (DICT, OBJECT)
    for key, value, has_separator, cut in raw_items:
        if value == ELLIPSIS and not key:
            more = True
            continue
        if keyed and not has_separator:
            # A dict cut inside a key, or an object's positional text.
            more = True
            continue
        if kind == TUPLE and not value and not cut:
            continue
        items.append(Item(key if keyed else None, value, cut))
    return Container(kind, tuple(items), more)
