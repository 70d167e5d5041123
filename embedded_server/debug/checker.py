"""Static checks of an expression's text and syntax tree, before anything runs.

The checker rejects names and attributes that start with "_" and
interpreter internals. It rejects calls of anything but the allowed
built-ins and methods, however the call is written. It also rejects
imports, lambdas, assignments, ``*``/``**`` unpacking, ``await``/``yield``
and format specs with nested fields. Errors carry the 1-based column of the
offending part.
"""

from __future__ import annotations

import ast
import re

from embedded_server.debug import limits, policy
from embedded_server.debug.errors import ExpressionError

_OPERATORS = (ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.expr_context)
_ALLOWED_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Attribute, ast.Subscript,
    ast.Slice, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.Call, ast.keyword, ast.List, ast.Tuple, ast.Set, ast.Dict,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
    ast.comprehension, ast.JoinedStr, ast.FormattedValue, *_OPERATORS,
)  # fmt: skip
_FORBIDDEN_MESSAGES = {
    ast.Lambda: "lambda expressions are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Starred: "unpacking with * is not allowed",
}
_CALL_TARGETS = {
    ast.Subscript: "a subscript",
    ast.IfExp: "a conditional expression",
    ast.BoolOp: "a boolean operation",
    ast.Call: "the result of another call",
    ast.ListComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.Constant: "a literal",
    ast.Lambda: "a lambda",
}


def parse(text: str) -> ast.Expression:
    """Parse and check an expression; return its syntax tree.

    Raises:
        ExpressionError: for empty or too long text, syntax errors,
            forbidden constructs and trees that are too deep or too large.
    """
    if not isinstance(text, str):
        raise TypeError(f"expression must be a str, not {type(text).__name__}")
    if not text.strip():
        raise ExpressionError("expression is empty", 1)
    if len(text) > limits.MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is too long: {len(text):,} characters, the limit is "
            f"{limits.MAX_EXPRESSION_LENGTH:,}",
            *position_of_offset(text, limits.MAX_EXPRESSION_LENGTH),
        )
    tree = _parse_syntax(text)
    _Checker(text).check(tree)
    return tree


def _parse_syntax(text: str) -> ast.Expression:
    """Parse text in eval mode, allowing leading white space.

    ``ast.parse`` rejects leading spaces as an unexpected indent, so the
    text is parsed without them and positions are shifted back afterwards.
    """
    body = text.lstrip(" \t\f\r\n")
    prefix_lines = split_lines(text[: len(text) - len(body)])
    line_shift, column_shift = len(prefix_lines) - 1, len(prefix_lines[-1])
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as error:
        if error.lineno is not None:
            if error.lineno == 1 and error.offset:
                error.offset += column_shift
            error.lineno += line_shift
        raise _syntax_error(text, error) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(
            f"expression is nested too deeply (the limit is {limits.MAX_DEPTH} levels)",
            1,
        ) from None
    except ValueError as error:
        raise ExpressionError(f"invalid syntax: {error}", 1) from None
    if line_shift or column_shift:
        _shift_positions(tree, line_shift, column_shift)
    return tree


def _shift_positions(tree: ast.AST, lines: int, columns: int) -> None:
    for node in ast.walk(tree):
        if not hasattr(node, "lineno"):
            continue
        if node.lineno == 1:
            node.col_offset += columns
        if node.end_lineno == 1 and node.end_col_offset is not None:
            node.end_col_offset += columns
        node.lineno += lines
        if node.end_lineno is not None:
            node.end_lineno += lines


def _syntax_error(text: str, error: SyntaxError) -> ExpressionError:
    message = error.msg or "invalid syntax"
    if "\x00" in text and error.lineno is None:
        return ExpressionError(
            "invalid syntax: the text contains a null character",
            *position_of_offset(text, text.index("\x00")),
        )
    lines = split_lines(text)
    line = error.lineno if error.lineno and error.lineno <= len(lines) else len(lines)
    column = (
        error.offset if error.offset and error.offset > 0 else len(lines[line - 1]) + 1
    )
    prefix = "" if message.startswith("invalid syntax") else "invalid syntax: "
    return ExpressionError(f"{prefix}{message}", column, line)


def split_lines(text: str) -> list[str]:
    """Split text at the line ends that Python's tokenizer recognizes."""
    return re.split(r"\r\n|\r|\n", text)


def position_of_offset(text: str, offset: int) -> tuple[int, int]:
    """Return (column, line), both 1-based, of a character offset in text."""
    lines = split_lines(text[:offset])
    return len(lines[-1]) + 1, len(lines)


class _Checker:
    """Walk a syntax tree once, checking every node against the rules."""

    def __init__(self, text: str) -> None:
        self._lines = split_lines(text)
        self._nodes = 0

    def check(self, tree: ast.Expression) -> None:
        """Raise ExpressionError for the problem that comes first in the text."""
        problems: list[ExpressionError] = []
        # Iterative walk, so a deep tree cannot exhaust the Python stack here.
        stack: list[tuple[ast.AST, int]] = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            self._count(node, depth)
            try:
                self._check_node(node)
            except ExpressionError as problem:
                problems.append(problem)
            if not isinstance(node, _ALLOWED_NODES):
                continue  # reported already; its parts may lack positions
            for child in ast.iter_child_nodes(node):
                stack.append((child, depth + (not isinstance(child, _OPERATORS))))
        if problems:
            raise min(problems, key=lambda problem: (problem.line, problem.column))

    def _count(self, node: ast.AST, depth: int) -> None:
        self._nodes += 1
        if depth > limits.MAX_DEPTH:
            self._fail(
                node,
                f"expression is nested too deeply (the limit is {limits.MAX_DEPTH} levels)",
            )
        if self._nodes > limits.MAX_NODES:
            self._fail(
                node,
                f"expression is too complex (the limit is {limits.MAX_NODES:,} parts)",
            )

    def _check_node(self, node: ast.AST) -> None:
        node_type = type(node)
        if node_type in _FORBIDDEN_MESSAGES:
            self._fail(node, _FORBIDDEN_MESSAGES[node_type])
        if not isinstance(node, _ALLOWED_NODES):
            self._fail(node, f"{node_type.__name__} is not allowed in expressions")
        checker = _NODE_CHECKS.get(node_type)
        if checker is not None:
            checker(self, node)

    def _check_name(self, node: ast.Name) -> None:
        # A lone "_" is the usual throwaway loop variable and reaches nothing.
        if node.id.startswith("_") and node.id != "_":
            self._fail(node, f"names that start with '_' are not allowed: '{node.id}'")

    def _check_attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            self._fail_attribute(
                node, f"attributes that start with '_' are not allowed: '{node.attr}'"
            )
        if node.attr in policy.FORBIDDEN_ATTRIBUTES:
            self._fail_attribute(node, f"the attribute '{node.attr}' is not allowed")

    def _check_call(self, node: ast.Call) -> None:
        target = node.func
        if type(target) is ast.Name:
            if target.id not in policy.ALLOWED_BUILTIN_NAMES:
                allowed = ", ".join(policy.ALLOWED_BUILTIN_NAMES)
                self._fail(
                    target,
                    f"calling '{target.id}' is not allowed; the functions expressions may call are {allowed}",
                )
        elif type(target) is ast.Attribute:
            if (
                target.attr not in policy.ALLOWED_METHOD_NAMES
                and not target.attr.startswith("_")
            ):
                self._fail_attribute(
                    target, f"calling the method '{target.attr}' is not allowed"
                )
        else:
            target_kind = _CALL_TARGETS.get(type(target), "an expression")
            self._fail(
                target,
                f"only built-in functions and methods of plain data can be called, not {target_kind}",
            )
        for keyword in node.keywords:
            if keyword.arg is None:
                self._fail(keyword.value, "unpacking with ** is not allowed")

    def _check_dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                self._fail(value, "unpacking with ** is not allowed")

    def _check_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            self._fail(node.target, "async comprehensions are not allowed")
        self._check_target(node.target)

    def _check_target(self, target: ast.expr) -> None:
        if type(target) in (ast.Tuple, ast.List):
            for element in target.elts:
                self._check_target(element)
        elif type(target) is not ast.Name:
            self._fail(target, "a comprehension's for clause may bind names only")

    def _check_formatted_value(self, node: ast.FormattedValue) -> None:
        spec = node.format_spec
        if spec is None:
            return
        for part in spec.values:
            if type(part) is not ast.Constant:
                self._fail(part, "nested fields in a format spec are not allowed")

    # -- errors ---------------------------------------------------------

    def _fail_attribute(self, node: ast.Attribute, message: str) -> None:
        """Fail at the attribute name, just after the dot."""
        end_line = node.end_lineno or node.lineno
        end_offset = (
            node.end_col_offset if node.end_col_offset is not None else node.col_offset
        )
        column = self._column(end_line, end_offset) - len(node.attr)
        raise ExpressionError(message, max(column, 1), end_line)

    def _fail(self, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", 1) or 1
        offset = getattr(node, "col_offset", 0) or 0
        raise ExpressionError(message, self._column(line, offset), line)

    def _column(self, line: int, byte_offset: int) -> int:
        """Convert the parser's UTF-8 byte offset into a 1-based character column."""
        text = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        prefix = text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore")
        return len(prefix) + 1


_NODE_CHECKS = {
    ast.Name: _Checker._check_name,
    ast.Attribute: _Checker._check_attribute,
    ast.Call: _Checker._check_call,
    ast.Dict: _Checker._check_dict,
    ast.comprehension: _Checker._check_comprehension,
    ast.FormattedValue: _Checker._check_formatted_value,
}
