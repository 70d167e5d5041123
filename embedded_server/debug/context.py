"""The state of one evaluation: its deadline, its memory budget and guarded iteration."""

from __future__ import annotations

import ast
import math
import time
from collections.abc import Iterator
from typing import Any

from embedded_server.debug import limits, policy
from embedded_server.debug.errors import EvaluationTimeout, LimitError
from embedded_server.debug.guard import CodeGuard

# Plain types that iterate in C without running code of the value's class.
_ITERABLE_PLAIN = (str, bytes, list, tuple, dict, set, frozenset)
_DICT_VIEWS = (type({}.keys()), type({}.values()), type({}.items()))


class SandboxIterator(policy.SandboxObject):
    """A lazy generator expression; it runs only while its evaluation runs."""

    __slots__ = ("_steps", "_ctx")
    display_type = "generator"

    def __init__(self, steps: Iterator[Any], ctx: EvaluationContext) -> None:
        self._steps = steps
        self._ctx = ctx

    def __iter__(self) -> SandboxIterator:
        return self

    def __next__(self) -> Any:
        if not self._ctx.guard.active:
            raise RuntimeError(
                "a generator from an expression can run only during its evaluation"
            )
        return next(self._steps)


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
        self.guard.check()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def charge(self, size: int, what: str) -> None:
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
                f"{what} would create about {size:,} bytes{already}; one "
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
        if policy.is_a(value, SandboxIterator):
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
        self, value: Any, what: str, entry_size: int = limits.ITEM_SIZE
    ) -> list[Any]:
        """Collect value's items into a list, charging the budget as it grows."""
        items: list[Any] = []
        length = limits.sized_length(value)
        if length is not None:
            self.charge(length * entry_size, what)
            entry_size = 0
        for item in self.iterate(value):
            self.charge(entry_size, what)
            items.append(item)
        return items
