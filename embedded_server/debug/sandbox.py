"""The expression sandbox: compile once, evaluate safely many times.

One evaluator serves breakpoint conditions, logpoint templates, watch
expressions and the debugger's evaluate API. Expressions are Python
expressions, parsed with ``ast`` and interpreted node by node (no ``eval``,
no bytecode), with a time limit that works in any thread.

Typical use::

    condition = compile_expression("amount > 100 and data.get('kind') == 'a'")
    if condition.evaluate_condition(names, timeout=0.5): ...

    result = evaluate("sorted(items)[:3]", names)   # never raises
    result.to_dict()  # {"result": {...preview...}, "type": "list", "error": None}
"""

from __future__ import annotations

import ast
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from embedded_server.debug import checker, policy, preview
from embedded_server.debug.context import EvaluationContext
from embedded_server.debug.errors import EvaluationError, ExpressionError
from embedded_server.debug.interpreter import Interpreter

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 1.0  # seconds


class Expression:
    """A checked expression, ready to evaluate against different names.

    Instances are immutable and may be shared between threads.

    Attributes:
        text: the source text.
    """

    __slots__ = ("text", "_tree", "_lines")

    def __init__(self, text: str, tree: ast.Expression) -> None:
        self.text = text
        self._tree = tree
        self._lines = checker.split_lines(text)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def evaluate(
        self, names: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT
    ) -> Any:
        """Evaluate the expression with names as its variables.

        Args:
            names: variable names and their values. Names not found here
                fall back to the allowed built-ins.
            timeout: time limit in seconds, above 0 and at most 60.

        Raises:
            EvaluationError: for any failure of the expression, with a
                Python-like message (``KeyError: 'a'``).
            EvaluationTimeout: when the time limit passes.
            ValueError: for an invalid timeout.
        """
        ctx = EvaluationContext(timeout)
        return self._run(
            ctx, lambda interpreter: interpreter.evaluate(self._tree.body), names
        )

    def evaluate_condition(
        self, names: Mapping[str, Any], *, timeout: float = DEFAULT_TIMEOUT
    ) -> bool:
        """Evaluate the expression and its truth value within the same time limit."""
        ctx = EvaluationContext(timeout)
        return self._run(
            ctx, lambda interpreter: bool(interpreter.evaluate(self._tree.body)), names
        )

    def _run(self, ctx: EvaluationContext, step: Any, names: Mapping[str, Any]) -> Any:
        # A Mapping class written in Python would be stopped by the code
        # guard, so other mappings are copied into a dict before it starts.
        interpreter = Interpreter(names if type(names) is dict else dict(names), ctx)
        ctx.guard.start()
        try:
            return step(interpreter)
        except EvaluationError as error:
            if error.column is None:
                error.column = self._column_of(ctx.error_node)
            raise
        except Exception as error:
            message = preview.describe_exception(error)
            raise EvaluationError(message, self._column_of(ctx.error_node)) from error
        finally:
            ctx.guard.stop()

    def _column_of(self, node: ast.AST | None) -> int | None:
        if node is None or not hasattr(node, "col_offset"):
            return None
        line = self._lines[node.lineno - 1] if node.lineno <= len(self._lines) else ""
        prefix = line.encode("utf-8")[: node.col_offset].decode(
            "utf-8", errors="ignore"
        )
        return len(prefix) + 1


@dataclass(frozen=True)
class EvalResult:
    """The outcome of evaluate(): a preview of the value, or an error message.

    Attributes:
        result: the bounded preview (see ``preview.preview``), or None on error.
        type: the value's type name, or None on error.
        error: ``"<ErrorType>: <details>"``, or None on success.
    """

    result: dict[str, Any] | None
    type: str | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"result": self.result, "type": self.type, "error": self.error}


@functools.lru_cache(maxsize=1024)
def compile_expression(text: str) -> Expression:
    """Parse and check text; return an Expression.

    Results are cached by text, because watch expressions and breakpoint
    conditions are evaluated again at every pause.

    Raises:
        ExpressionError: for syntax errors and forbidden constructs, with
            the 1-based column of the problem.
    """
    return Expression(text, checker.parse(text))


def compile_condition(text: str | None) -> Expression | None:
    """Compile a breakpoint condition; None or blank text means "always" (None)."""
    if text is None or not text.strip():
        return None
    return compile_expression(text)


def evaluate(
    text: str,
    names: Mapping[str, Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_chars: int = 1000,
    max_items: int = 100,
    max_depth: int = 6,
) -> EvalResult:
    """Compile and evaluate text, returning a preview or the error message.

    Never raises for a mistake in the expression: syntax errors, forbidden
    constructs, runtime errors and timeouts all come back as ``error``.
    The ``max_*`` arguments bound the preview as in ``preview.preview``.
    """
    if not isinstance(text, str):
        return EvalResult(
            None,
            None,
            f"TypeError: expression must be a str, not {type(text).__name__}",
        )
    try:
        value = compile_expression(text).evaluate(names, timeout=timeout)
    except ExpressionError as error:
        return EvalResult(
            None, None, f"SyntaxError: {error.message} (column {error.column})"
        )
    except EvaluationError as error:
        return EvalResult(None, None, error.message)
    value_preview = preview.preview(
        value, max_chars=max_chars, max_items=max_items, max_depth=max_depth
    )
    return EvalResult(value_preview, policy.type_name(value), None)
