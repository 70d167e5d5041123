"""The state of one evaluation: its deadline, its memory budget and guarded iteration."""

from __future__ import annotations

import ast
import math
import sys
import time
import types
from collections.abc import Iterator
from typing import Any

from embedded_server.debug import limits, policy
from embedded_server.debug.errors import EvaluationTimeout, LimitError, SandboxViolation
from embedded_server.debug.guard import CodeGuard

# Plain types that iterate in C without running code of the value's class.
_ITERABLE_PLAIN = (str, bytes, list, tuple, dict, set, frozenset)
_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))


# Code objects of the interpreter's generator expressions; their generators
# are the only self-iterators that expressions may iterate.
_generator_codes: set[types.CodeType] = set()


def register_generator_code(code: types.CodeType) -> None:
    _generator_codes.add(code)


def is_sandbox_generator(value: Any) -> bool:
    """Return True for a generator created by an expression's generator expression."""
    return type(value) is types.GeneratorType and value.gi_code in _generator_codes


class EvaluationContext:
    """Deadline and allocation budget shared by every step of one evaluation.

    The deadline is cooperative: the evaluator calls tick() at every syntax
    node and every loop iteration, so it works in any thread and for
    sub-second limits. A single C-level operation still runs to its end;
    the size limits keep such operations short.

    Attributes:
        timeout: the time limit in seconds.
        allocated: estimated bytes created so far.
        error_node: the innermost syntax node that raised, once one has.
        guard: the code guard, active while the expression runs.
    """

    __slots__ = ("timeout", "deadline", "allocated", "error_node", "guard")

    def __init__(self, timeout: float) -> None:
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout)):
            raise ValueError(
                f"timeout must be a finite number of seconds, not {timeout!r}"
            )
        if not 0 < timeout <= limits.MAX_TIMEOUT:
            raise ValueError(
                f"timeout must be above 0 and at most {limits.MAX_TIMEOUT:g} s, "
                f"not {timeout!r}"
            )
        self.timeout = float(timeout)
        self.deadline = time.monotonic() + self.timeout
        self.allocated = 0
        self.error_node: ast.AST | None = None
        self.guard = CodeGuard()

    def tick(self) -> None:
        """Raise EvaluationTimeout once the deadline has passed.

        Also raises SandboxViolation if the code guard is no longer installed.
        """
        if time.monotonic() > self.deadline:
            raise EvaluationTimeout(self.timeout)
        guard = self.guard
        if guard.active and sys.gettrace() is not guard.trace_function:
            raise SandboxViolation(
                "the code guard was removed during the evaluation, so the "
                "evaluation was stopped"
            )

    def charge(self, size: int, description: str) -> None:
        """Count size estimated bytes against the evaluation's budget.

        Raises:
            LimitError: when the total would pass the budget.
        """
        if size <= 0:
            return
        if self.allocated + size > limits.MAX_ALLOCATION:
            already = (
                f" after {self.allocated:,} already created" if self.allocated else ""
            )
            raise LimitError(
                f"{description} would create about {size:,} bytes{already}; one "
                f"evaluation may create at most {limits.MAX_ALLOCATION:,} bytes"
            )
        self.allocated += size

    def iterate(self, value: Any) -> Iterator[Any]:
        """Iterate value, checking the deadline at every item.

        Plain containers iterate through their base type, so overridden
        ``__iter__`` methods of subclasses do not run. Other iterables are
        asked for an iterator, but a value that is its own iterator (a
        generator, a file) is rejected because iterating it would consume
        data that belongs to the paused job.

        Raises:
            TypeError: for values that are not iterable or are one-shot iterators.
        """
        iterator = self.iterator(value)
        tick = self.tick
        for item in iterator:
            tick()
            yield item

    def iterator(self, value: Any) -> Iterator[Any]:
        """Return an iterator over value under the rules of iterate(), without ticks."""
        if is_sandbox_generator(value):
            return value
        base = policy.plain_base(value)
        if base in _ITERABLE_PLAIN:
            return base.__iter__(value)
        if type(value) in _DICT_VIEWS:
            return iter(value)
        if policy.is_a(value, policy.SandboxObject):
            raise TypeError(f"'{policy.type_name(value)}' object is not iterable")
        iterator = iter(value)
        if iterator is value:
            raise TypeError(
                f"iterating a '{policy.type_name(value)}' would consume it; "
                "expressions iterate only collections"
            )
        return iterator

    def materialize(
        self, value: Any, description: str, entry_size: int = limits.ITEM_SIZE
    ) -> list[Any]:
        """Collect value's items into a list, charging the budget as it grows."""
        items: list[Any] = []
        length = limits.sized_length(value)
        if length is not None:
            self.charge(length * entry_size, description)
            entry_size = 0
        for item in self.iterate(value):
            self.charge(entry_size, description)
            items.append(item)
        return items
