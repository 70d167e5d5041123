"""Logpoint message templates: text with ``{expression}`` fields evaluated in the sandbox.

``"value is {value} and {len(items)} items"`` renders each field with the
same evaluator as conditions. ``{{`` and ``}}`` stand for literal braces.
A string value appears as it is; any other value appears as its bounded
preview. A field that fails renders as ``<error: NameError: ...>``, so a
log message is always produced.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from embedded_server.debug import checker, preview
from embedded_server.debug.errors import EvaluationError, ExpressionError
from embedded_server.debug.sandbox import (
    DEFAULT_TIMEOUT,
    Expression,
    compile_expression,
)

MAX_TEMPLATE_LENGTH = 10_000  # characters of template text
MAX_FIELD_CHARS = 1_000  # characters shown per field
MAX_MESSAGE_LENGTH = 10_000  # characters of a rendered message
_MIN_FIELD_TIME = 0.001  # seconds; below this a field is not started


@dataclass(frozen=True)
class _Field:
    """One ``{...}`` field: its compiled expression, or why it did not compile."""

    expression: Expression | None
    error: str | None


class Template:
    """A compiled logpoint template.

    Attributes:
        text: the source text.
    """

    def __init__(self, text: str, parts: tuple[str | _Field, ...]) -> None:
        self.text = text
        self._parts = parts

    def __repr__(self) -> str:
        return f"Template({self.text!r})"

    def render(
        self, names: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT
    ) -> str:
        """Render the message; timeout (seconds) bounds all fields together."""
        deadline = time.monotonic() + timeout
        pieces = [
            part
            if isinstance(part, str)
            else _render_field(part, names, deadline, timeout)
            for part in self._parts
        ]
        message = "".join(pieces)
        if len(message) > MAX_MESSAGE_LENGTH:
            message = message[: MAX_MESSAGE_LENGTH - 1] + "…"
        return message


def compile_template(text: str) -> Template:
    """Compile a template, rejecting any problem so that an API can respond with 422.

    Raises:
        ExpressionError: for an unclosed ``{``, a single ``}``, an empty
            field or an invalid expression, with the line and column in
            the template's text.
    """
    return Template(text, tuple(_parse(text, strict=True)))


def render_template(
    text: str, names: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT
) -> str:
    """Compile and render a template; never raises for mistakes in the template.

    An unclosed ``{`` or a single ``}`` is kept as literal text, and a field
    whose expression does not compile renders as ``<error: SyntaxError: ...>``.
    """
    if not isinstance(text, str):
        return f"<error: TypeError: template must be a str, not {type(text).__name__}>"
    return Template(text, tuple(_parse(text, strict=False))).render(
        names, timeout=timeout
    )


def _render_field(
    field: _Field, names: Mapping[str, Any], deadline: float, timeout: float
) -> str:
    if field.expression is None:
        return f"<error: {field.error}>"
    remaining = deadline - time.monotonic()
    if remaining < _MIN_FIELD_TIME:
        return f"<error: TimeoutError: the message took longer than the {timeout:g} s limit>"
    try:
        value = field.expression.evaluate(names, timeout=remaining)
    except EvaluationError as error:
        return f"<error: {error.message}>"
    return preview.display_text(value, MAX_FIELD_CHARS)


def _parse(text: str, strict: bool) -> list[str | _Field]:
    if len(text) > MAX_TEMPLATE_LENGTH:
        if strict:
            raise ExpressionError(
                f"template is too long (the limit is {MAX_TEMPLATE_LENGTH:,} characters)",
                *checker.position_of_offset(text, MAX_TEMPLATE_LENGTH),
            )
        text = text[:MAX_TEMPLATE_LENGTH]
    parts: list[str | _Field] = []
    literal: list[str] = []
    position = 0
    while position < len(text):
        character = text[position]
        doubled = text.startswith(character * 2, position)
        if character in "{}" and doubled:
            literal.append(character)
            position += 2
        elif character == "{":
            end = _field_end(text, position + 1)
            if end is None:
                _reject(
                    strict,
                    text,
                    position,
                    "'{' is never closed; write '{{' for a literal brace",
                )
                literal.append(text[position:])
                break
            parts.append("".join(literal))
            literal = []
            parts.append(_compile_field(text, position + 1, end, strict))
            position = end + 1
        elif character == "}":
            _reject(
                strict,
                text,
                position,
                "single '}' is not allowed; write '}}' for a literal brace",
            )
            literal.append(character)
            position += 1
        else:
            literal.append(character)
            position += 1
    parts.append("".join(literal))
    return [part for part in parts if part != ""]


def _reject(strict: bool, text: str, offset: int, message: str) -> None:
    if strict:
        raise ExpressionError(message, *checker.position_of_offset(text, offset))


def _field_end(text: str, start: int) -> int | None:
    """Return the index of the ``}`` that closes a field, skipping string literals."""
    depth = 1
    position = start
    while position < len(text):
        character = text[position]
        if character in "'\"":
            quote = (
                character * 3 if text.startswith(character * 3, position) else character
            )
            position = _string_end(text, position + len(quote), quote)
            continue
        if character == "{":
            depth += 1
        elif character == "}":
            depth -= 1
            if depth == 0:
                return position
        position += 1
    return None


def _string_end(text: str, position: int, quote: str) -> int:
    while position < len(text):
        if text[position] == "\\":
            position += 2
        elif text.startswith(quote, position):
            return position + len(quote)
        else:
            position += 1
    return len(text)


def _compile_field(text: str, start: int, end: int, strict: bool) -> _Field:
    source = text[start:end]
    try:
        if not source.strip():
            raise ExpressionError("empty expression in braces", 1)
        return _Field(compile_expression(source), None)
    except ExpressionError as error:
        if strict:
            raise _shifted(text, start, source, error) from None
        return _Field(None, f"SyntaxError: {error.message}")


def _shifted(
    text: str, start: int, source: str, error: ExpressionError
) -> ExpressionError:
    """Move an error's position from the field's text to the template's text."""
    lines = source.split("\n")
    offset = sum(len(line) + 1 for line in lines[: error.line - 1]) + error.column - 1
    column, line = checker.position_of_offset(text, start + offset)
    return ExpressionError(error.message, column, line)
