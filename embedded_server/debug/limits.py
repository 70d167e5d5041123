"""Size and cost limits of the expression sandbox, and the checks that apply them.

Every check runs before the costly operation, on numbers that are cheap to
get (lengths and bit lengths), so a refused operation costs nothing.
"""

from __future__ import annotations

import ast
import fractions
import math
from typing import TYPE_CHECKING, Any

from embedded_server.debug import policy
from embedded_server.debug.errors import LimitError

if TYPE_CHECKING:
    from embedded_server.debug.context import EvaluationContext

# Compile-time limits.
MAX_EXPRESSION_LENGTH = 2_000  # characters of source text
MAX_DEPTH = 50  # levels of nesting in the syntax tree
MAX_NODES = 1_000  # syntax tree nodes

# Run-time limits.
MAX_INT_BITS = 100_000  # about 30,100 decimal digits
MAX_INT_STR_DIGITS = 4_300  # CPython's default int/str conversion limit
MAX_ALLOCATION = 64 * 1024 * 1024  # estimated bytes one evaluation may create
MAX_FORMAT_WIDTH = 1_000  # width and precision in a format spec
MAX_TIMEOUT = 60.0  # seconds
ITEM_SIZE = 8  # bytes charged per element of a list or tuple
ENTRY_SIZE = 16  # bytes charged per element of a dict or set
SCAN_CHUNK = 100_000  # elements scanned in C between two deadline checks

_LOG10_2 = math.log10(2)
_TEXT = (str, bytes, bytearray)


def int_digits_estimate(value: int) -> int:
    """Return the number of decimal digits of value, exact or one too many."""
    bits = int.bit_length(value)
    return max(1, math.ceil(bits * _LOG10_2))


def check_int_to_str(value: int) -> None:
    """Reject an int whose decimal conversion would pass CPython's digit limit.

    The check does not depend on ``sys.set_int_max_str_digits()``, which the
    host process may have turned off.
    """
    if int.bit_length(value) > MAX_INT_STR_DIGITS / _LOG10_2 + 4:
        digits = int_digits_estimate(value)
        raise ValueError(
            f"Exceeds the limit ({MAX_INT_STR_DIGITS} digits) for integer string "
            f"conversion: value has about {digits:,} digits"
        )


def check_int_bits(bits: float, description: str) -> None:
    if bits > MAX_INT_BITS:
        raise LimitError(
            f"{description} would have about {bits:,.0f} bits; integers are limited to "
            f"{MAX_INT_BITS:,} bits"
        )


def sized_length(value: Any) -> int | None:
    """Return len(value) for plain sequences and mappings, using the base type's len."""
    base = policy.plain_base(value)
    if base is not None and base not in (type(None), bool, int, float, complex):
        return base.__len__(value)
    if policy.is_a(value, bytearray):
        return bytearray.__len__(value)
    return None


def guard_binary(
    op: type[ast.operator], left: Any, right: Any, ctx: EvaluationContext
) -> None:
    """Reject or charge a binary operation before it runs.

    Raises:
        LimitError: when the result would be too large.
        TypeError: for printf-style ``%`` formatting of strings.
    """
    if op is ast.Pow:
        _guard_power(left, right)
    elif op is ast.LShift:
        _guard_shift(left, right)
    elif op is ast.Mult:
        _guard_multiply(left, right, ctx)
    elif op is ast.Add:
        _guard_add(left, right, ctx)
    elif op is ast.Mod and policy.is_a(left, _TEXT):
        raise TypeError(
            "printf-style '%' formatting is not supported in expressions; "
            "use an f-string"
        )
    elif op in (ast.BitOr, ast.BitAnd, ast.BitXor, ast.Sub):
        _guard_collection_operator(left, right, ctx)


def _both_int(left: Any, right: Any) -> bool:
    return policy.is_a(left, int) and policy.is_a(right, int)


# int.__int__ returns an exact int for any int subclass without calling the
# subclass's own methods, so the checks below compare plain numbers.
_as_int = int.__int__


_FRACTION_PARTS = (
    vars(fractions.Fraction)["_numerator"],
    vars(fractions.Fraction)["_denominator"],
)


def _guard_power(base: Any, exponent: Any) -> None:
    power = _integer_value(exponent)
    if power is None or power <= 0:
        return
    if policy.is_a(base, fractions.Fraction):
        # Fraction ** int raises numerator and denominator to the power.
        parts = [int.__int__(part.__get__(base)) for part in _FRACTION_PARTS]
    elif policy.is_a(base, int):
        parts = [_as_int(base)]
    else:
        return
    magnitude = max(abs(part) for part in parts)
    if magnitude <= 1:
        return
    bits = power * math.log2(magnitude)
    check_int_bits(bits, f"the result of the power with exponent {_short(power)}")


def _integer_value(number: Any) -> int | None:
    """Return number as an int if it is an int or a whole Fraction, else None."""
    if policy.is_a(number, int):
        return _as_int(number)
    if policy.is_a(number, fractions.Fraction):
        numerator, denominator = (part.__get__(number) for part in _FRACTION_PARTS)
        if denominator == 1:
            return int.__int__(numerator)
    return None


def _guard_shift(value: Any, count: Any) -> None:
    if _both_int(value, count) and _as_int(count) > 0 and _as_int(value) != 0:
        bits = int.bit_length(value) + _as_int(count)
        check_int_bits(bits, f"the result of {_short(value)} << {_short(count)}")


def _guard_multiply(left: Any, right: Any, ctx: EvaluationContext) -> None:
    if _both_int(left, right):
        bits = int.bit_length(left) + int.bit_length(right)
        check_int_bits(bits, "the product")
        ctx.charge(bits // 8, "the product")
        return
    for sequence, count in ((left, right), (right, left)):
        if not policy.is_a(count, int) or policy.is_a(sequence, (int, float, complex)):
            continue
        length = _length_for_repetition(sequence)
        if length is not None:
            length *= max(_as_int(count), 0)
            _charge_sequence(sequence, length, ctx, "repeating the sequence")


def _length_for_repetition(value: Any) -> int | None:
    """Return the length of a value that ``value * n`` might repeat.

    Besides plain sequences this covers C types such as array.array and
    collections.deque. Their len() is C code; a Python ``__len__`` of a
    user class is stopped by the code guard.
    """
    length = sized_length(value)
    if length is not None or policy.is_a(value, policy.SandboxObject):
        return length
    if policy.is_missing(policy.static_lookup(type(value), "__len__")[1]):
        return None
    return len(value)


def _guard_add(left: Any, right: Any, ctx: EvaluationContext) -> None:
    if _both_int(left, right):
        ctx.charge(max(int.bit_length(left), int.bit_length(right)) // 8, "the sum")
        return
    for kinds in ((str,), (bytes, bytearray), (list,), (tuple,)):
        if policy.is_a(left, kinds) and policy.is_a(right, kinds):
            length = sized_length(left) + sized_length(right)
            _charge_sequence(left, length, ctx, "concatenating")
            return


def _guard_collection_operator(left: Any, right: Any, ctx: EvaluationContext) -> None:
    collections = (set, frozenset, dict)
    if policy.is_a(left, collections) and policy.is_a(right, collections):
        length = sized_length(left) + sized_length(right)
        ctx.charge(length * ENTRY_SIZE, "combining the collections")


def _charge_sequence(
    sequence: Any, length: int, ctx: EvaluationContext, description: str
) -> None:
    per_item = 1 if policy.is_a(sequence, _TEXT) else ITEM_SIZE
    ctx.charge(length * per_item, description)


def _short(number: int) -> str:
    """Render an operand for a message without converting a huge int."""
    if int.bit_length(number) <= 64:
        return str(_as_int(number))
    return f"<int with about {int_digits_estimate(number):,} digits>"
