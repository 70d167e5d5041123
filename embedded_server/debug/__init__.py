"""The debugger's expression sandbox: conditions, hit conditions, logpoints and evaluate.

Public interface::

    compile_expression(text) -> Expression      # raises ExpressionError(message, column)
    compile_condition(text) -> Expression | None  # blank text means "always"
    Expression.evaluate(names, timeout=1.0)      # raises EvaluationError / EvaluationTimeout
    Expression.evaluate_condition(names, timeout=1.0) -> bool
    evaluate(text, names, timeout=1.0) -> EvalResult   # never raises for user mistakes
    preview.preview(value, max_chars=1000, max_items=100, max_depth=6) -> dict
    parse_hit_condition(text) -> HitCondition | None
    compile_template(text) -> Template; render_template(text, names) -> str
"""

from embedded_server.debug.errors import (
    EvaluationError,
    EvaluationTimeout,
    ExpressionError,
    LimitError,
)
from embedded_server.debug.hit_conditions import HitCondition, parse_hit_condition
from embedded_server.debug.sandbox import (
    EvalResult,
    Expression,
    compile_condition,
    compile_expression,
    evaluate,
)
from embedded_server.debug.templates import Template, compile_template, render_template

__all__ = [
    "EvalResult",
    "EvaluationError",
    "EvaluationTimeout",
    "Expression",
    "ExpressionError",
    "HitCondition",
    "LimitError",
    "Template",
    "compile_condition",
    "compile_expression",
    "compile_template",
    "evaluate",
    "parse_hit_condition",
    "render_template",
]
