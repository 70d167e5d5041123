"""Replacement fields of f-strings: conversions and format specs with bounded output.

Format specs are constant text (checked at compile time). They apply to
numbers, strings, Decimal and date/time values only, with width and
precision capped, so ``f"{x:>1000000000}"`` cannot allocate a gigabyte.
"""

from __future__ import annotations

import datetime
import decimal
import re
from typing import Any

from embedded_server.debug import limits, policy, preview
from embedded_server.debug.context import EvaluationContext
from embedded_server.debug.errors import LimitError

# Python's standard format-spec mini-language.
_STANDARD_SPEC = re.compile(
    r"(?:(?P<fill>.)?(?P<align>[<>=^]))?(?P<sign>[-+ ])?z?#?0?"
    r"(?P<width>\d+)?[,_]?(?:\.(?P<precision>\d+))?(?P<type>[bcdeEfFgGnosxX%])?",
    re.DOTALL,
)
_DECIMAL_INT_TYPES = (None, "d", "n")
_MAX_DECIMAL_EXPONENT = 1_000
_DATE_TYPES = (datetime.date, datetime.time)


def text_budget(ctx: EvaluationContext) -> int:
    """Return how many characters a new string may still have."""
    return max(limits.MAX_ALLOCATION - ctx.allocated, 0)


def convert(ctx: EvaluationContext, value: Any, conversion: int) -> Any:
    """Apply an f-string conversion (``!s``, ``!r``, ``!a``); -1 means none."""
    if conversion == -1:
        return value
    budget = text_budget(ctx)
    if conversion == ord("s"):
        return preview.safe_str(value, max_chars=budget, tick=ctx.tick)
    text = preview.safe_repr(value, max_chars=budget, tick=ctx.tick)
    if conversion == ord("a"):
        text = text.encode("ascii", "backslashreplace").decode("ascii")
    return text


def format_field(ctx: EvaluationContext, value: Any, conversion: int, spec: str) -> str:
    """Return the text of one f-string replacement field, charged to the budget."""
    value = convert(ctx, value, conversion)
    if spec:
        text = _format_with_spec(value, spec)
    elif type(value) is str:
        text = value
    else:
        text = preview.safe_str(value, max_chars=text_budget(ctx), tick=ctx.tick)
    ctx.charge(len(text), "the f-string")
    return text


def _format_with_spec(value: Any, spec: str) -> str:
    if policy.is_a(value, _DATE_TYPES) and policy.has_trusted_method(
        value, "__format__"
    ):
        # strftime output grows with the spec only, and the spec is part of
        # the expression's text, which is bounded.
        return format(value, spec)

    match = _STANDARD_SPEC.fullmatch(spec)
    if match is None:
        raise ValueError(
            f"Invalid format specifier '{spec}' for object of type '{policy.type_name(value)}'"
        )
    for part in ("width", "precision"):
        number = match.group(part)
        if number is not None and (
            len(number) > 6 or int(number) > limits.MAX_FORMAT_WIDTH
        ):
            raise LimitError(
                f"format {part} {number} is over the limit of {limits.MAX_FORMAT_WIDTH:,}"
            )

    base = policy.plain_base(value)
    if base in (int, bool):
        if match.group("type") in _DECIMAL_INT_TYPES:
            limits.check_int_to_str(int.__int__(value))
        return int.__format__(value, spec)
    if base in (float, complex, str):
        return base.__format__(value, spec)
    if type(value) is decimal.Decimal:
        if abs(value.adjusted()) > _MAX_DECIMAL_EXPONENT:
            raise LimitError(
                f"formatting a Decimal with exponent {value.adjusted():,} is not supported"
            )
        return format(value, spec)
    raise TypeError(
        f"format spec '{spec}' is not supported for '{policy.type_name(value)}' values; "
        "it applies to numbers, strings, Decimal and date/time values"
    )
