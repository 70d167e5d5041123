"""The tree-walking interpreter that evaluates a checked expression.

No Python ``eval`` or compiled bytecode runs user text: every syntax node is
interpreted here, so every attribute read, call and loop passes through
the sandbox's rules and checks the deadline.
"""

from __future__ import annotations

import ast
import operator
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from typing import Any

from embedded_server.debug import (
    context,
    formatting,
    functions,
    limits,
    methods,
    policy,
)
from embedded_server.debug.context import EvaluationContext

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.LShift: operator.lshift, ast.RShift: operator.rshift,
    ast.BitOr: operator.or_, ast.BitXor: operator.xor, ast.BitAnd: operator.and_,
    ast.MatMult: operator.matmul,
}  # fmt: skip
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Is: operator.is_, ast.IsNot: operator.is_not,
}  # fmt: skip
# Operand types whose operators run in C with a cost bounded by the operands,
# except for the operators in _GROWING.
_SCALARS = frozenset({int, float, bool})
_GROWING = frozenset({ast.Pow, ast.LShift, ast.Mult})
_CONSTANT = ast.Constant
_monotonic = time.monotonic
_gettrace = sys.gettrace


class _Scope:
    """Variables bound by a comprehension's ``for`` clauses."""

    __slots__ = ("variables", "parent")

    def __init__(self, variables: dict[str, Any], parent: _Scope | None) -> None:
        self.variables = variables
        self.parent = parent


class Interpreter:
    """Evaluate one checked syntax tree against a mapping of names."""

    def __init__(self, names: Mapping[str, Any], ctx: EvaluationContext) -> None:
        self._names = names
        self._ctx = ctx
        self._scope: _Scope | None = None

    def evaluate(self, node: ast.AST) -> Any:
        """Evaluate node; record it as the error position if it raises first."""
        ctx = self._ctx
        # The same checks as ctx.tick(), inlined because this runs per node.
        if _monotonic() > ctx.deadline or _gettrace() is not ctx.guard.trace_function:
            ctx.tick()
        try:
            return _HANDLERS[type(node)](self, node)
        except Exception:
            if ctx.error_node is None:
                ctx.error_node = node
            raise

    # -- leaves ---------------------------------------------------------

    def _constant(self, node: ast.Constant) -> Any:
        return node.value

    def _name(self, node: ast.Name) -> Any:
        name = node.id
        scope = self._scope
        while scope is not None:
            if name in scope.variables:
                return scope.variables[name]
            scope = scope.parent
        if name in self._names:
            return self._names[name]
        builtin = functions.BUILTINS.get(name)
        if builtin is None:
            raise NameError(f"name '{name}' is not defined")
        return builtin

    # -- access ---------------------------------------------------------

    def _attribute(self, node: ast.Attribute) -> Any:
        value = self.evaluate(node.value)
        return policy.read_attribute(value, node.attr, methods.BoundMethod)

    def _subscript(self, node: ast.Subscript) -> Any:
        container = self.evaluate(node.value)
        key = self.evaluate(node.slice)
        if policy.is_a(container, policy.SandboxObject):
            raise TypeError(
                f"'{policy.type_name(container)}' object is not subscriptable"
            )
        base = policy.plain_base(container)
        if type(key) is slice and base in (str, bytes, list, tuple):
            count = len(range(*key.indices(base.__len__(container))))
            size = count if base in (str, bytes) else count * limits.ITEM_SIZE
            self._ctx.charge(size, "the slice")
        return container[key]

    def _slice(self, node: ast.Slice) -> slice:
        parts = (node.lower, node.upper, node.step)
        return slice(*(None if part is None else self.evaluate(part) for part in parts))

    def _call(self, node: ast.Call) -> Any:
        function = self.evaluate(node.func)
        args = tuple(self.evaluate(argument) for argument in node.args)
        kwargs = {
            keyword.arg: self.evaluate(keyword.value) for keyword in node.keywords
        }
        if not policy.is_a(function, (functions.BuiltinFunction, methods.BoundMethod)):
            raise TypeError(
                f"'{policy.type_name(function)}' object is not callable in expressions"
            )
        return function.call(self._ctx, args, kwargs)

    # -- operators ------------------------------------------------------

    def _binary(self, node: ast.BinOp) -> Any:
        # Literal operands are read directly: this runs once per loop step.
        left = (
            node.left.value
            if type(node.left) is _CONSTANT
            else self.evaluate(node.left)
        )
        right = (
            node.right.value
            if type(node.right) is _CONSTANT
            else self.evaluate(node.right)
        )
        operation = type(node.op)
        if not (
            type(left) in _SCALARS
            and type(right) in _SCALARS
            and operation not in _GROWING
        ):
            limits.guard_binary(operation, left, right, self._ctx)
        return _BINARY[operation](left, right)

    def _unary(self, node: ast.UnaryOp) -> Any:
        operand = self.evaluate(node.operand)
        if type(node.op) is ast.Not:
            return not operand
        return _UNARY[type(node.op)](operand)

    def _boolean(self, node: ast.BoolOp) -> Any:
        stop_when = type(node.op) is ast.Or
        value = None
        for operand in node.values:
            value = self.evaluate(operand)
            if bool(value) is stop_when:
                return value
        return value

    def _compare(self, node: ast.Compare) -> Any:
        left = self.evaluate(node.left)
        result: Any = True
        for operation, comparator in zip(node.ops, node.comparators, strict=True):
            right = (
                comparator.value
                if type(comparator) is _CONSTANT
                else self.evaluate(comparator)
            )
            compare = _COMPARE.get(type(operation))
            if compare is None:
                result = self._compare_pair(type(operation), left, right)
            else:
                result = compare(left, right)
            if not result:
                return result
            left = right
        return result

    def _compare_pair(self, operation: type[ast.cmpop], left: Any, right: Any) -> Any:
        if operation is ast.In:
            return functions.contains(self._ctx, right, left)
        if operation is ast.NotIn:
            return not functions.contains(self._ctx, right, left)
        return _COMPARE[operation](left, right)

    def _if_expression(self, node: ast.IfExp) -> Any:
        if self.evaluate(node.test):
            return self.evaluate(node.body)
        return self.evaluate(node.orelse)

    # -- displays and comprehensions ------------------------------------

    def _list(self, node: ast.List) -> list:
        self._ctx.charge(len(node.elts) * limits.ITEM_SIZE, "the list")
        return [self.evaluate(element) for element in node.elts]

    def _tuple(self, node: ast.Tuple) -> tuple:
        self._ctx.charge(len(node.elts) * limits.ITEM_SIZE, "the tuple")
        return tuple(self.evaluate(element) for element in node.elts)

    def _set(self, node: ast.Set) -> set:
        self._ctx.charge(len(node.elts) * limits.ENTRY_SIZE, "the set")
        return {self.evaluate(element) for element in node.elts}

    def _dict(self, node: ast.Dict) -> dict:
        self._ctx.charge(len(node.keys) * limits.ENTRY_SIZE, "the dict")
        return {
            self.evaluate(key): self.evaluate(value)
            for key, value in zip(node.keys, node.values, strict=True)
        }

    def _list_comprehension(self, node: ast.ListComp) -> list:
        result: list[Any] = []
        charge, append, element = self._ctx.charge, result.append, node.elt

        def visit() -> None:
            charge(limits.ITEM_SIZE, "the list comprehension")
            append(self.evaluate(element))

        self._comprehend(node.generators, visit)
        return result

    def _set_comprehension(self, node: ast.SetComp) -> set:
        result: set[Any] = set()
        charge, add, element = self._ctx.charge, result.add, node.elt

        def visit() -> None:
            charge(limits.ENTRY_SIZE, "the set comprehension")
            add(self.evaluate(element))

        self._comprehend(node.generators, visit)
        return result

    def _dict_comprehension(self, node: ast.DictComp) -> dict:
        result: dict[Any, Any] = {}
        charge = self._ctx.charge

        def visit() -> None:
            charge(limits.ENTRY_SIZE, "the dict comprehension")
            key = self.evaluate(node.key)
            result[key] = self.evaluate(node.value)

        self._comprehend(node.generators, visit)
        return result

    def _comprehend(
        self, generators: list[ast.comprehension], visit: Callable[[], None]
    ) -> None:
        """Call visit() once per combination of the for clauses, in the comprehension's scope.

        All clauses bind into one scope that is updated in place, as Python
        does: a lazy inner generator reads the latest value of a loop variable.
        """
        first = self.evaluate(generators[0].iter)
        saved, self._scope = self._scope, _Scope({}, self._scope)
        try:
            self._run_clause(generators, 0, first, visit)
        finally:
            self._scope = saved

    def _run_clause(
        self,
        generators: list[ast.comprehension],
        index: int,
        iterable: Any,
        visit: Callable[[], None],
    ) -> None:
        clause = generators[index]
        last = index + 1 == len(generators)
        variables = self._scope.variables
        ctx = self._ctx
        for item in ctx.iterator(iterable):
            if (
                _monotonic() > ctx.deadline
                or _gettrace() is not ctx.guard.trace_function
            ):
                ctx.tick()
            self._assign(clause.target, item, variables)
            if clause.ifs and not self._passes(clause.ifs):
                continue
            if last:
                visit()
            else:
                inner = self.evaluate(generators[index + 1].iter)
                self._run_clause(generators, index + 1, inner, visit)

    def _generator(self, node: ast.GeneratorExp) -> Iterator[Any]:
        # Python evaluates the first iterable when the generator is created.
        first = self.evaluate(node.generators[0].iter)
        if len(node.generators) == 1:
            return self._generate(node, self._scope, first)
        # Nested for clauses: collect the values up front; the lazy form is
        # kept for the common single-clause case, where any() can stop early.
        values: list[Any] = []
        charge = self._ctx.charge

        def visit() -> None:
            charge(limits.ITEM_SIZE, "the generator expression")
            values.append(self.evaluate(node.elt))

        saved, self._scope = self._scope, _Scope({}, self._scope)
        try:
            self._run_clause(node.generators, 0, first, visit)
        finally:
            self._scope = saved
        return self._generate_from(values)

    def _generate(
        self, node: ast.GeneratorExp, outer: _Scope | None, iterable: Any
    ) -> Iterator[Any]:
        ctx = self._ctx
        clause = node.generators[0]
        scope = _Scope({}, outer)
        for item in ctx.iterator(iterable):
            if not ctx.guard.active:
                raise RuntimeError(
                    "a generator from an expression can run only during its evaluation"
                )
            if (
                _monotonic() > ctx.deadline
                or _gettrace() is not ctx.guard.trace_function
            ):
                ctx.tick()
            self._assign(clause.target, item, scope.variables)
            saved, self._scope = self._scope, scope
            try:
                if clause.ifs and not self._passes(clause.ifs):
                    continue
                value = self.evaluate(node.elt)
            finally:
                self._scope = saved
            yield value

    def _generate_from(self, values: list[Any]) -> Iterator[Any]:
        ctx = self._ctx
        for value in values:
            if not ctx.guard.active:
                raise RuntimeError(
                    "a generator from an expression can run only during its evaluation"
                )
            yield value

    def _passes(self, tests: list[ast.expr]) -> bool:
        for test in tests:
            if not self.evaluate(test):
                return False
        return True

    def _assign(self, target: ast.expr, item: Any, variables: dict[str, Any]) -> None:
        if type(target) is ast.Name:
            variables[target.id] = item
        else:
            variables.update(self._bind(target, item))

    def _bind(self, target: ast.expr, item: Any) -> dict[str, Any]:
        if type(target) is ast.Name:
            return {target.id: item}
        expected = len(target.elts)
        values = list(islice(self._ctx.iterate(item), expected + 1))
        if len(values) > expected:
            raise ValueError(f"too many values to unpack (expected {expected})")
        if len(values) < expected:
            raise ValueError(
                f"not enough values to unpack (expected {expected}, got {len(values)})"
            )
        variables: dict[str, Any] = {}
        for element, value in zip(target.elts, values, strict=True):
            variables.update(self._bind(element, value))
        return variables

    # -- f-strings ------------------------------------------------------

    def _joined_string(self, node: ast.JoinedStr) -> str:
        parts = [
            part.value if type(part) is ast.Constant else self.evaluate(part)
            for part in node.values
        ]
        return "".join(parts)

    def _formatted_value(self, node: ast.FormattedValue) -> str:
        value = self.evaluate(node.value)
        spec = ""
        if node.format_spec is not None:
            spec = "".join(part.value for part in node.format_spec.values)
        return formatting.format_field(self._ctx, value, node.conversion, spec)


_HANDLERS = {
    ast.Constant: Interpreter._constant,
    ast.Name: Interpreter._name,
    ast.Attribute: Interpreter._attribute,
    ast.Subscript: Interpreter._subscript,
    ast.Slice: Interpreter._slice,
    ast.Call: Interpreter._call,
    ast.BinOp: Interpreter._binary,
    ast.UnaryOp: Interpreter._unary,
    ast.BoolOp: Interpreter._boolean,
    ast.Compare: Interpreter._compare,
    ast.IfExp: Interpreter._if_expression,
    ast.List: Interpreter._list,
    ast.Tuple: Interpreter._tuple,
    ast.Set: Interpreter._set,
    ast.Dict: Interpreter._dict,
    ast.ListComp: Interpreter._list_comprehension,
    ast.SetComp: Interpreter._set_comprehension,
    ast.DictComp: Interpreter._dict_comprehension,
    ast.GeneratorExp: Interpreter._generator,
    ast.JoinedStr: Interpreter._joined_string,
    ast.FormattedValue: Interpreter._formatted_value,
}

context.register_generator_code(Interpreter._generate.__code__)
context.register_generator_code(Interpreter._generate_from.__code__)
