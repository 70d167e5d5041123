"""The built-in functions that expressions may call, rewritten with bounded cost.

Each function iterates through the evaluation context, so long inputs are
stopped by the deadline, and charges what it creates to the memory budget.
Conversions (str, int, float) do not call ``__str__``, ``__int__`` or
``__float__`` of user classes.
"""

from __future__ import annotations

import ast
import inspect
import operator
import types
from collections.abc import Callable
from itertools import islice
from typing import Any

from embedded_server.debug import context, formatting, limits, methods, policy, preview
from embedded_server.debug.context import EvaluationContext

_MISSING = object()
_MAX_TEXT_NUMBER = 5_000  # characters accepted by int() and float() from text
_MAX_CLASSINFO_DEPTH = 10
_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))
_NUMBERS = frozenset({int, float, bool})  # adding two of these is cheap


class BuiltinFunction(policy.SandboxObject):
    """One of the allowed built-in functions, as a value an expression can call.

    Attributes:
        name: the Python name (``len``, ``sorted``, ...).
        as_type: the type it stands for in isinstance(), for ``int``,
            ``str``, ``list`` and the other type constructors.
    """

    __slots__ = ("name", "_implementation", "_signature", "as_type")

    def __init__(
        self, name: str, implementation: Callable[..., Any], as_type: type | None
    ) -> None:
        self.name = name
        self._implementation = implementation
        self._signature = inspect.signature(implementation)
        self.as_type = as_type

    @property
    def display_type(self) -> str:
        return "builtin_function_or_method" if self.as_type is None else "type"

    def describe(self) -> str:
        if self.as_type is not None:
            return f"<class '{self.name}'>"
        return f"<built-in function {self.name}>"

    def call(self, ctx: EvaluationContext, args: tuple, kwargs: dict[str, Any]) -> Any:
        try:
            self._signature.bind(ctx, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{self.name}(): {error}") from None
        return self._implementation(ctx, *args, **kwargs)

    def __or__(self, other: Any) -> Any:
        """Build a union type such as ``int | None`` for isinstance()."""
        if self.as_type is None:
            return NotImplemented
        return self.as_type | _as_type(other)

    def __ror__(self, other: Any) -> Any:
        if self.as_type is None:
            return NotImplemented
        return _as_type(other) | self.as_type


# Error messages name the Python type, as for the built-ins these stand for.
BuiltinFunction.__name__ = "builtin_function_or_method"


def _as_type(value: Any) -> Any:
    if policy.is_a(value, BuiltinFunction) and value.as_type is not None:
        return value.as_type
    return value


def call_key(ctx: EvaluationContext, key: Any) -> Callable[[Any], Any] | None:
    """Turn a ``key=`` argument into a function that C code (sort) can call."""
    if key is None:
        return None
    if not policy.is_a(key, (BuiltinFunction, methods.BoundMethod)):
        raise TypeError(f"'{policy.type_name(key)}' object is not callable")
    return lambda item: key.call(ctx, (item,), {})


def contains(ctx: EvaluationContext, container: Any, item: Any) -> bool:
    """Evaluate ``item in container`` with the deadline checked on long scans."""
    base = policy.plain_base(container)
    if type(container) is base and base in (list, tuple):
        if base.__len__(container) <= limits.SCAN_CHUNK:
            return item in container
        return methods.find_in_sequence(ctx, container, base, item) is not None
    if context.is_sandbox_generator(container):
        return any(
            element is item or element == item for element in ctx.iterate(container)
        )
    if policy.is_a(container, policy.SandboxObject):
        raise TypeError(
            f"argument of type '{policy.type_name(container)}' is not iterable"
        )
    if base is not None or type(container) in _DICT_VIEWS:
        return item in container
    if not policy.is_missing(policy.static_lookup(type(container), "__contains__")[1]):
        return item in container
    return any(element is item or element == item for element in ctx.iterate(container))


# -- the functions ---------------------------------------------------------


def _len(ctx: EvaluationContext, obj: Any, /) -> int:
    length = limits.sized_length(obj)
    if length is not None:
        return length
    if policy.is_a(obj, policy.SandboxObject):
        raise TypeError(f"object of type '{policy.type_name(obj)}' has no len()")
    return len(obj)


def _abs(ctx: EvaluationContext, number: Any, /) -> Any:
    return abs(number)


def _min(
    ctx: EvaluationContext, *args: Any, key: Any = None, default: Any = _MISSING
) -> Any:
    return _extreme(ctx, "min", args, key, default, operator.lt)


def _max(
    ctx: EvaluationContext, *args: Any, key: Any = None, default: Any = _MISSING
) -> Any:
    return _extreme(ctx, "max", args, key, default, operator.gt)


def _extreme(
    ctx: EvaluationContext, name: str, args: tuple, key: Any, default: Any,
    better: Callable[[Any, Any], Any],
) -> Any:  # fmt: skip
    if not args:
        raise TypeError(f"{name} expected at least 1 argument, got 0")
    if len(args) > 1 and default is not _MISSING:
        raise TypeError(
            f"Cannot specify a default for {name}() with multiple positional arguments"
        )
    items = ctx.iterator(args[0] if len(args) == 1 else args)
    key_function = call_key(ctx, key)
    best = best_key = _MISSING
    tick = ctx.tick
    for item in items:
        tick()
        item_key = key_function(item) if key_function else item
        if best is _MISSING or better(item_key, best_key):
            best, best_key = item, item_key
    if best is not _MISSING:
        return best
    if default is not _MISSING:
        return default
    raise ValueError(f"{name}() arg is an empty sequence")


def _sum(ctx: EvaluationContext, iterable: Any, /, start: Any = 0) -> Any:
    if policy.is_a(start, str):
        raise TypeError("sum() can't sum strings [use ''.join(seq) instead]")
    if policy.is_a(start, (bytes, bytearray)):
        raise TypeError("sum() can't sum bytes [use b''.join(seq) instead]")
    total = start
    tick = ctx.tick
    for item in ctx.iterator(iterable):
        tick()
        if not (type(total) in _NUMBERS and type(item) in _NUMBERS):
            limits.guard_binary(ast.Add, total, item, ctx)
        total = total + item
    return total


def _round(ctx: EvaluationContext, number: Any, /, ndigits: Any = None) -> Any:
    if ndigits is None:
        return round(number)
    if type(number) in (int, bool) and policy.is_a(ndigits, int):
        # round(5, -10**9) would compute 10**(10**9), and the result is 0.
        places = int.__int__(ndigits)
        if places < 0 and -places > limits.int_digits_estimate(number) + 1:
            return 0
    return round(number, ndigits)


def _sorted(
    ctx: EvaluationContext, iterable: Any, /, *, key: Any = None, reverse: Any = False
) -> list:
    items = ctx.materialize(iterable, "sorted()")
    items.sort(key=call_key(ctx, key), reverse=reverse)
    return items


def _any(ctx: EvaluationContext, iterable: Any, /) -> bool:
    return any(bool(item) for item in ctx.iterate(iterable))


def _all(ctx: EvaluationContext, iterable: Any, /) -> bool:
    return all(bool(item) for item in ctx.iterate(iterable))


def _str(
    ctx: EvaluationContext,
    obj: Any = "",
    /,
    encoding: Any = _MISSING,
    errors: Any = _MISSING,
) -> str:
    if encoding is not _MISSING or errors is not _MISSING:
        return _decode(ctx, obj, encoding, errors)
    if type(obj) is str:
        return obj
    text = preview.safe_str(obj, max_chars=formatting.text_budget(ctx), tick=ctx.tick)
    ctx.charge(len(text), "str()")
    return text


def _decode(ctx: EvaluationContext, obj: Any, encoding: Any, errors: Any) -> str:
    if not policy.is_a(obj, (bytes, bytearray)):
        raise TypeError(
            f"decoding to str: need a bytes-like object, {policy.type_name(obj)} found"
        )
    ctx.charge(limits.sized_length(obj) * 4, "str()")
    encoding = "utf-8" if encoding is _MISSING else encoding
    errors = "strict" if errors is _MISSING else errors
    return str(bytes(obj), encoding, errors)


def _int(ctx: EvaluationContext, value: Any = 0, /, base: Any = _MISSING) -> int:
    text_like = policy.is_a(value, (str, bytes, bytearray))
    if base is not _MISSING:
        if not text_like:
            raise TypeError("int() can't convert non-string with explicit base")
        _check_number_text(value)
        return int(value, base)
    if text_like:
        _check_number_text(value)
        return int(value)
    if policy.is_a(value, int):
        return int.__int__(value)
    if policy.is_a(value, float):
        return float.__int__(value)
    if type(value) in policy.TRUSTED_CLASSES:
        return int(value)
    raise TypeError(
        "int() argument must be a string, a bytes-like object or a real number, "
        f"not '{policy.type_name(value)}'"
    )


def _float(ctx: EvaluationContext, value: Any = 0.0, /) -> float:
    if policy.is_a(value, (str, bytes, bytearray)):
        _check_number_text(value)
        return float(value)
    if policy.is_a(value, int):
        return int.__float__(value)
    if policy.is_a(value, float):
        return float.__float__(value)
    if type(value) in policy.TRUSTED_CLASSES:
        return float(value)
    raise TypeError(
        f"float() argument must be a string or a real number, not '{policy.type_name(value)}'"
    )


def _check_number_text(value: Any) -> None:
    length = limits.sized_length(value)
    if length > _MAX_TEXT_NUMBER:
        raise ValueError(
            f"the number text is {length:,} characters long; the limit is "
            f"{_MAX_TEXT_NUMBER:,}"
        )


def _bool(ctx: EvaluationContext, value: Any = False, /) -> bool:
    return bool(value)


def _list(ctx: EvaluationContext, iterable: Any = (), /) -> list:
    return ctx.materialize(iterable, "list()")


def _tuple(ctx: EvaluationContext, iterable: Any = (), /) -> tuple:
    return tuple(ctx.materialize(iterable, "tuple()"))


def _set(ctx: EvaluationContext, iterable: Any = (), /) -> set:
    return set(ctx.materialize(iterable, "set()", limits.ENTRY_SIZE))


def _dict(ctx: EvaluationContext, source: Any = _MISSING, /, **kwargs: Any) -> dict:
    result: dict[Any, Any] = {}
    if policy.is_a(source, dict):
        ctx.charge(dict.__len__(source) * limits.ENTRY_SIZE, "dict()")
        result.update(dict.items(source))
    elif source is not _MISSING:
        for index, pair in enumerate(ctx.iterate(source)):
            key, value = _unpack_pair(ctx, pair, index)
            ctx.charge(limits.ENTRY_SIZE, "dict()")
            result[key] = value
    ctx.charge(len(kwargs) * limits.ENTRY_SIZE, "dict()")
    result.update(kwargs)
    return result


def _unpack_pair(ctx: EvaluationContext, pair: Any, index: int) -> tuple[Any, Any]:
    items = list(islice(ctx.iterate(pair), 3))
    if len(items) != 2:
        raise ValueError(
            f"dictionary update sequence element #{index} has length {len(items)}; "
            "2 is required"
        )
    return items[0], items[1]


def _isinstance(ctx: EvaluationContext, obj: Any, classinfo: Any, /) -> bool:
    return issubclass(type(obj), _resolve_classinfo(classinfo, 0))


def _resolve_classinfo(classinfo: Any, depth: int) -> type | tuple:
    if policy.is_a(classinfo, BuiltinFunction) and classinfo.as_type is not None:
        return classinfo.as_type
    if policy.is_a(classinfo, (type, types.UnionType)):
        return classinfo
    if type(classinfo) is tuple and depth < _MAX_CLASSINFO_DEPTH:
        return tuple(_resolve_classinfo(item, depth + 1) for item in classinfo[:100])
    raise TypeError("isinstance() arg 2 must be a type, a tuple of types, or a union")


_IMPLEMENTATIONS: dict[str, tuple[Callable[..., Any], type | None]] = {
    "len": (_len, None),
    "abs": (_abs, None),
    "min": (_min, None),
    "max": (_max, None),
    "sum": (_sum, None),
    "round": (_round, None),
    "sorted": (_sorted, None),
    "any": (_any, None),
    "all": (_all, None),
    "str": (_str, str),
    "int": (_int, int),
    "float": (_float, float),
    "bool": (_bool, bool),
    "list": (_list, list),
    "dict": (_dict, dict),
    "set": (_set, set),
    "tuple": (_tuple, tuple),
    "isinstance": (_isinstance, None),
}

BUILTINS: dict[str, BuiltinFunction] = {
    name: BuiltinFunction(name, implementation, as_type)
    for name, (implementation, as_type) in _IMPLEMENTATIONS.items()
}
