"""Breakpoint hit conditions in the style of VS Code: ``>= 3``, ``% 10 == 0``, ``5``.

Grammar (spaces allowed between the parts)::

    hit_condition := [operator] count | "%" count [("==" | "=" | "!=") remainder]
    operator      := ">=" | ">" | "<=" | "<" | "==" | "=" | "!="

A bare count means "equal to", as in VS Code's JavaScript debugger
(vscode-js-debug's ``HitCondition`` treats ``5`` like ``== 5``), so ``5``
pauses on the fifth hit only. ``% N`` pauses on every N-th hit, and
``% N == R`` on hits whose count leaves remainder R.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from embedded_server.debug.errors import ExpressionError

MAX_COUNT_DIGITS = 12
MAX_TEXT_LENGTH = 100
_OPERATORS = (">=", "<=", "==", "!=", ">", "<", "=", "%")
_COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
}  # fmt: skip


@dataclass(frozen=True)
class HitCondition:
    """A parsed hit condition.

    Attributes:
        text: the source text.
        operator: one of ``>= > <= < == != %`` (``=`` and a bare count
            become ``==``).
        count: the number after the operator (the modulus for ``%``).
        remainder: for ``%``, the remainder that matches (0 unless given).
        negate: for ``%``, True when written with ``!=``.
    """

    text: str
    operator: str
    count: int
    remainder: int = 0
    negate: bool = False

    def matches(self, hit_count: int) -> bool:
        """Return True if a breakpoint hit for the hit_count-th time should stop."""
        if self.operator == "%":
            return (hit_count % self.count == self.remainder) != self.negate
        return _COMPARISONS[self.operator](hit_count, self.count)


def parse_hit_condition(text: str | None) -> HitCondition | None:
    """Parse a hit condition; None or blank text means no hit condition (None).

    Raises:
        ExpressionError: with the 1-based column of the first invalid character.
    """
    if text is None or not text.strip():
        return None
    if len(text) > MAX_TEXT_LENGTH:
        raise ExpressionError(
            f"hit condition is too long (the limit is {MAX_TEXT_LENGTH} characters)",
            MAX_TEXT_LENGTH + 1,
        )
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self._text = text
        self._position = 0
        self._operator_start = 0
        self._count_start = 0

    def parse(self) -> HitCondition:
        self._skip_spaces()
        symbol = self._read_operator()
        if symbol is None:
            symbol = "=="
        count = self._read_count()
        if symbol == "%":
            return self._parse_modulo(count)
        self._expect_end()
        return HitCondition(self._text, "==" if symbol == "=" else symbol, count)

    def _parse_modulo(self, modulus: int) -> HitCondition:
        if modulus == 0:
            self._fail_at(self._count_start, "the modulus after '%' must be at least 1")
        symbol = self._read_operator()
        if symbol is None:
            self._expect_end()
            return HitCondition(self._text, "%", modulus)
        if symbol not in ("==", "=", "!="):
            self._fail_at(
                self._operator_start, "after '% N' only '== R' or '!= R' may follow"
            )
        remainder = self._read_count()
        if remainder >= modulus:
            self._fail_at(
                self._count_start, f"the remainder must be smaller than {modulus}"
            )
        self._expect_end()
        return HitCondition(self._text, "%", modulus, remainder, negate=symbol == "!=")

    def _read_operator(self) -> str | None:
        self._operator_start = self._position
        for symbol in _OPERATORS:
            if self._text.startswith(symbol, self._position):
                self._position += len(symbol)
                self._skip_spaces()
                return symbol
        return None

    def _read_count(self) -> int:
        start = self._count_start = self._position
        while (
            self._position < len(self._text)
            and self._text[self._position] in "0123456789"
        ):
            self._position += 1
        digits = self._text[start : self._position]
        if not digits:
            self._fail_at(start, "expected a whole number such as 3")
        if len(digits) > MAX_COUNT_DIGITS:
            self._fail_at(start, f"the number has more than {MAX_COUNT_DIGITS} digits")
        self._skip_spaces()
        return int(digits)

    def _skip_spaces(self) -> None:
        while self._position < len(self._text) and self._text[self._position] in " \t":
            self._position += 1

    def _expect_end(self) -> None:
        if self._position < len(self._text):
            character = self._text[self._position]
            self._fail_at(self._position, f"unexpected {character!r}")

    def _fail_at(self, position: int, message: str) -> None:
        detail = (
            " (hit conditions look like '>= 3', '== 5', '5' or '% 10 == 0')"
            if "expected" in message or "unexpected" in message
            else ""
        )
        raise ExpressionError(f"invalid hit condition: {message}{detail}", position + 1)
