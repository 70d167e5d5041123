"""Bounded repr() and str() of any value, without running the value's own __repr__.

Plain data renders exactly as Python renders it. Values of trusted standard
library classes (datetime, Decimal, UUID, Path, ...) use their own repr.
Every other object renders from its stored public attributes, as
``Record(amount=5, name='x')``, so a user ``__repr__`` that raises, loops or
is slow is never called.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from embedded_server.debug import guard, limits, policy
from embedded_server.debug.errors import LimitError

_SCALARS = (type(None), bool, float, complex)  # str() and repr() agree
_DICT_VIEWS = {
    type({}.keys()): "dict_keys",
    type({}.values()): "dict_values",
    type({}.items()): "dict_items",
}
_NAMED_CODE = {
    types.FunctionType: "function",
    types.BuiltinFunctionType: "built-in function",
}
_OPENERS = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("{", "}")}


class _Full(Exception):
    """Unwinds the renderer once its character budget is spent."""


class Renderer:
    """Render values within a budget of characters, items and depth.

    In strict mode, used for str() and f-strings inside expressions, running
    out of budget raises LimitError instead of truncating, so an expression
    never computes with a silently shortened string.

    Attributes:
        truncated: True once anything was left out.
    """

    def __init__(
        self,
        *,
        max_chars: int,
        max_items: int | None = None,
        max_depth: int = 6,
        strict: bool = False,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self._max_chars = max_chars
        self._max_items = max_items
        self._max_depth = max_depth
        self._strict = strict
        self._tick = tick
        self._parts: list[str] = []
        self._remaining = max_chars
        self._active: set[int] = set()
        self._steps = 0
        self.truncated = False

    def repr(self, value: Any) -> str:
        return self._run(self._emit, value)

    def str(self, value: Any) -> str:
        return self._run(self._emit_str, value)

    def _run(self, emit: Callable[[Any, int], None], value: Any) -> str:
        try:
            emit(value, 0)
        except _Full:
            self.truncated = True
        return "".join(self._parts)

    # -- output ---------------------------------------------------------

    def _write(self, text: str) -> None:
        if len(text) <= self._remaining:
            self._parts.append(text)
            self._remaining -= len(text)
            return
        if self._strict:
            raise LimitError(
                f"the text would be longer than {self._max_chars:,} characters"
            )
        self._parts.append(text[: self._remaining])
        self._remaining = 0
        raise _Full

    def _elide(self, marker: str = "...") -> None:
        self.truncated = True
        self._write(marker)

    def _step(self) -> None:
        self._steps += 1
        if self._tick is not None and self._steps % 64 == 0:
            self._tick()

    # -- dispatch -------------------------------------------------------

    def _emit_str(self, value: Any, depth: int) -> None:
        if policy.is_a(value, str) and policy.method_is_inherited(
            value, str, "__str__"
        ):
            self._emit_text(str.__str__(value), quoted=False)
        elif policy.is_a(value, enum.Enum):
            self._emit_enum(value, depth, as_str=True)
        elif policy.has_trusted_method(value, "__str__"):
            self._emit_trusted(value, str, depth)
        else:
            self._emit(value, depth)

    def _emit(self, value: Any, depth: int) -> None:
        self._step()
        base = policy.plain_base(value)
        if type(value) is base:
            self._emit_plain(value, depth, base)
        elif type(value) in _DICT_VIEWS:
            self._emit_view(value, depth, _DICT_VIEWS[type(value)])
        elif type(value) is bytearray:
            self._write("bytearray(")
            self._emit_bytes(bytes(value[: self._remaining + 1]))
            self._write(")")
        elif type(value) is range:
            self._write(repr(value))
        elif policy.is_a(value, enum.Enum):
            self._emit_enum(value, depth, as_str=False)
        elif policy.has_trusted_method(value, "__repr__"):
            self._emit_trusted(value, repr, depth)
        elif base is None:
            self._emit_object(value, depth)
        elif policy.method_is_inherited(value, base, "__repr__"):
            self._emit_plain(value, depth, base)
        else:
            self._emit_wrapped_plain(value, depth, base)

    def _emit_plain(self, value: Any, depth: int, base: type) -> None:
        """Render value as its plain base type renders, whatever its subclass."""
        if base in _SCALARS:
            self._write(base.__repr__(value))
        elif base is int:
            self._emit_int(value)
        elif base is str:
            self._emit_text(str.__str__(value), quoted=True)
        elif base is bytes:
            self._emit_bytes(value)
        else:
            self._emit_container(value, depth, base)

    # -- scalars --------------------------------------------------------

    def _emit_int(self, value: int) -> None:
        number = int.__int__(value)
        try:
            limits.check_int_to_str(number)
        except ValueError:
            if self._strict:
                raise
            self.truncated = True
            digits = limits.int_digits_estimate(number)
            tail = abs(number) % 10**12
            self._write(f"<int with about {digits:,} digits, ending in ...{tail:012d}>")
            return
        self._write(int.__repr__(number))

    def _emit_text(self, text: str, quoted: bool) -> None:
        head = text[: self._remaining + 1]
        if not quoted:
            self._write(head)
            return
        rendered = repr(head)
        if len(head) < len(text) and not self._strict:
            rendered = rendered[:-1]
        self._write(rendered)

    def _emit_bytes(self, value: bytes) -> None:
        head = bytes.__getitem__(value, slice(0, self._remaining + 1))
        self._write(repr(head))

    # -- containers -----------------------------------------------------

    def _emit_container(self, value: Any, depth: int, base: type) -> None:
        key = id(value)
        if key in self._active:
            self._write(_recursion_marker(base))
            return
        if depth >= self._max_depth:
            self._deep(value, base)
            return
        self._active.add(key)
        try:
            self._emit_items(value, depth, base)
        finally:
            self._active.discard(key)

    def _deep(self, value: Any, base: type) -> None:
        if self._strict:
            raise LimitError(
                f"the value is nested more than {self._max_depth} levels deep"
            )
        opener, closer = _OPENERS.get(base, ("{", "}"))
        self._elide(f"{opener}...{closer}")

    def _emit_items(self, value: Any, depth: int, base: type) -> None:
        length = base.__len__(value)
        if base is dict:
            opener, closer = "{", "}"
            items: Iterable[Any] = dict.items(value)
        else:
            opener, closer = _OPENERS[base]
            items = base.__iter__(value)
        if length == 0:
            self._write(
                {set: "set()", frozenset: "frozenset()"}.get(base, opener + closer)
            )
            return
        if base is frozenset:
            self._write("frozenset(")
        self._write(opener)
        self._emit_sequence(items, depth, base is dict, length)
        if base is tuple and length == 1:
            self._write(",")
        self._write(closer)
        if base is frozenset:
            self._write(")")

    def _emit_sequence(
        self, items: Iterable[Any], depth: int, pairs: bool, length: int
    ) -> None:
        limit = self._max_items if self._max_items is not None else length
        for index, item in enumerate(islice(items, limit)):
            if index:
                self._write(", ")
            if pairs:
                self._emit(item[0], depth + 1)
                self._write(": ")
                self._emit(item[1], depth + 1)
            else:
                self._emit(item, depth + 1)
        if length > limit:
            self._write(", ")
            self._elide()

    def _emit_view(self, view: Any, depth: int, name: str) -> None:
        self._write(f"{name}([")
        items = list(islice(iter(view), self._max_items or len(view)))
        self._emit_sequence(items, depth, False, len(view))
        self._write("])")

    def _emit_wrapped_plain(self, value: Any, depth: int, base: type) -> None:
        """Render a plain-type subclass that overrides __repr__ (namedtuple, ...)."""
        name = policy.type_name(value)
        fields = policy.static_lookup(type(value), "_fields")[1]
        self._write(f"{name}(")
        if (
            base is tuple
            and type(fields) is tuple
            and len(fields) == tuple.__len__(value)
        ):
            for index, (field, item) in enumerate(
                zip(fields, tuple.__iter__(value), strict=True)
            ):
                self._write(f"{', ' if index else ''}{field}=")
                self._emit(item, depth + 1)
        else:
            self._emit_plain(value, depth, base)
        self._write(")")

    # -- other objects --------------------------------------------------

    def _emit_trusted(
        self, value: Any, render: Callable[[Any], str], depth: int
    ) -> None:
        """Call a trusted standard library repr/str under the code guard.

        A subclass can still override a property or helper that the standard
        method uses. The guard stops that code, and the value then renders
        from its stored attributes instead.
        """
        code_guard = guard.CodeGuard()
        code_guard.start()
        try:
            text = render(value)
        except Exception:
            text = None
        finally:
            code_guard.stop()
        if text is None:
            self._emit_object(value, depth)
        else:
            self._write(text)

    def _emit_enum(self, member: enum.Enum, depth: int, as_str: bool) -> None:
        """Render an enum member from its stored name and value.

        str() of IntEnum, StrEnum and IntFlag members is the value's str, as
        in Python 3.11; other members render as ``Class.NAME``.
        """
        namespace = policy.instance_dict(member) or {}
        name = namespace.get("_name_")
        value = namespace.get("_value_")
        if as_str and policy.is_a(member, enum.ReprEnum):
            self._emit_str(value, depth + 1)
        elif as_str:
            self._write(f"{policy.type_name(member)}.{name}")
        else:
            self._write(f"<{policy.type_name(member)}.{name}: ")
            self._emit(value, depth + 1)
            self._write(">")

    def _emit_object(self, value: Any, depth: int) -> None:
        opaque = _opaque_text(value)
        if opaque is not None:
            self._write(opaque)
            return
        if policy.is_a(value, BaseException):
            self._emit_exception(value, depth)
            return
        fields = _public_fields(value)
        name = policy.type_name(value)
        if not fields:
            self._write(f"<{name} object>")
            return
        if id(value) in self._active or depth >= self._max_depth:
            self._elide(f"{name}(...)")
            return
        self._active.add(id(value))
        try:
            self._emit_fields(name, fields, depth)
        finally:
            self._active.discard(id(value))

    def _emit_fields(
        self, name: str, fields: list[tuple[str, Any]], depth: int
    ) -> None:
        self._write(f"{name}(")
        limit = self._max_items if self._max_items is not None else len(fields)
        for index, (field, item) in enumerate(fields[:limit]):
            self._write(f"{', ' if index else ''}{field}=")
            self._emit(item, depth + 1)
        if len(fields) > limit:
            self._write(", ")
            self._elide()
        self._write(")")

    def _emit_exception(self, error: BaseException, depth: int) -> None:
        args = BaseException.__dict__["args"].__get__(error, type(error))
        self._write(f"{policy.type_name(error)}(")
        for index, item in enumerate(args):
            if index:
                self._write(", ")
            self._emit(item, depth + 1)
        self._write(")")


def _recursion_marker(base: type) -> str:
    if base in (set, frozenset):
        return f"{base.__name__}(...)"
    opener, closer = _OPENERS.get(base, ("{", "}"))
    return f"{opener}...{closer}"


def _opaque_text(value: Any) -> str | None:
    """Return the fixed text for code-like objects, or None for data objects."""
    if policy.is_a(value, policy.SandboxObject):
        return value.describe()
    if policy.is_a(value, type):
        return f"<class '{policy.class_module(value)}.{policy.class_name(value)}'>"
    if type(value) in _NAMED_CODE:
        # These C types cannot be subclassed, so __qualname__ runs no user code.
        return f"<{_NAMED_CODE[type(value)]} {value.__qualname__}>"
    if not policy.is_opaque(value):
        return None
    name = policy.type_name(value)
    namespace = policy.instance_dict(value)
    label = namespace.get("__name__") if namespace else None
    if type(label) is str:
        return f"<{name} '{label}'>"
    return f"<{name} object>"


def _public_fields(value: Any) -> list[tuple[str, Any]]:
    """Collect (name, value) of public instance attributes and slots."""
    fields: list[tuple[str, Any]] = []
    namespace = policy.instance_dict(value)
    if namespace:
        for key, item in dict.items(namespace):
            if type(key) is str and not key.startswith("_"):
                fields.append((key, item))
    for name in _slot_names(type(value)):
        raw = policy.static_lookup(type(value), name)[1]
        try:
            fields.append((name, raw.__get__(value, type(value))))
        except AttributeError:
            continue
    return fields


def _slot_names(cls: type) -> list[str]:
    names: list[str] = []
    for klass in policy.mro(cls):
        slots = type.__dict__["__dict__"].__get__(klass).get("__slots__", ())
        if type(slots) is str:
            slots = (slots,)
        if type(slots) not in (tuple, list):
            continue
        names.extend(
            name for name in slots
            if type(name) is str and not name.startswith("_") and name not in names
        )  # fmt: skip
    return names
