"""Exceptions of the expression sandbox: compile errors, evaluation errors and limits."""

from __future__ import annotations


class ExpressionError(ValueError):
    """An expression, hit condition or logpoint template that cannot be accepted.

    Raised at compile time for syntax errors and forbidden constructs, so an
    API can reject the text with 422 and point at the offending position.

    Attributes:
        message: what is wrong, without the position.
        column: 1-based character column in ``line``.
        line: 1-based line number (expressions are usually one line).
    """

    def __init__(self, message: str, column: int, line: int = 1) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.column = column
        self.line = line


class EvaluationError(Exception):
    """An expression failed while it was evaluated.

    ``message`` reads like Python's own report, for example
    ``NameError: name 'x' is not defined`` or ``KeyError: 'a'``. The
    original exception, when there is one, is the ``__cause__``.

    Attributes:
        message: ``"<ErrorType>: <details>"``.
        error_type: the ``<ErrorType>`` part, such as ``"NameError"``.
        column: 1-based column of the innermost failing part of the
            expression, or None when it is not known.
    """

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = message.partition(":")[0]
        self.column = column


class EvaluationTimeout(EvaluationError, TimeoutError):
    """An evaluation ran past its time limit and was stopped."""

    def __init__(self, timeout: float, column: int | None = None) -> None:
        super().__init__(
            f"TimeoutError: evaluation took longer than the {timeout:g} s limit",
            column,
        )
        self.timeout = timeout


class LimitError(Exception):
    """An operation would exceed one of the sandbox's size limits.

    Raised inside the evaluator before the costly work starts; the
    evaluation reports it as ``LimitError: ...``.
    """


class SandboxViolation(Exception):
    """An evaluation tried to run Python code that the sandbox does not allow.

    Raised by the code guard when an operator or built-in would call a
    special method (``__eq__``, ``__len__``, ...) defined in Python by a
    user class.
    """
