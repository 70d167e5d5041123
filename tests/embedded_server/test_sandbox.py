"""Tests for the expression sandbox: hostile expressions fail cleanly, valid ones work.

Every hostile expression must come back as an error that names what went
wrong, without side effects (no marker file), and within its time limit.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import sys
import threading
import time
import types
import uuid

import pytest

from embedded_server.debug import (
    EvalResult,
    EvaluationError,
    EvaluationTimeout,
    ExpressionError,
    compile_condition,
    compile_expression,
    evaluate,
)
from embedded_server.debug.limits import MAX_EXPRESSION_LENGTH

TIME_MARGIN = 0.3  # seconds allowed past a time limit on a loaded machine


@dataclasses.dataclass
class Record:
    amount: int
    name: str
    tags: list[str] = dataclasses.field(default_factory=list)

    @property
    def total(self) -> int:
        raise AssertionError("a property was run")

    def compute(self) -> int:
        raise AssertionError("a method was run")


class Color(enum.Enum):
    RED = 1


class Slotted:
    __slots__ = ("x", "_hidden")

    def __init__(self) -> None:
        self.x = 7
        self._hidden = 8


def make_touching_class(marker):
    """Return a class whose special methods all create the marker file."""

    def touch(*args, **kwargs):
        marker.write_text("escaped")
        return 1

    namespace = {
        name: touch
        for name in (
            "__eq__ __ne__ __lt__ __gt__ __le__ __ge__ __hash__ __len__ __bool__ "
            "__getitem__ __contains__ __add__ __mul__ __neg__ __index__ __int__ "
            "__float__ __str__ __repr__ __format__ __getattr__ __iter__ __next__"
        ).split()
    }
    namespace["__init__"] = lambda self: setattr(self, "x", 1)
    namespace["prop"] = property(touch)
    namespace["cached"] = functools.cached_property(touch)
    namespace["method"] = touch
    return type("Touchy", (), namespace)


class TouchyStr(str):
    marker = None

    def startswith(self, *args):
        type(self).marker.write_text("escaped")
        return True


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "escaped"
    yield path
    assert not path.exists(), "a hostile expression had a side effect"


@pytest.fixture(scope="module")
def big_list():
    return [0] * 5_000_000


@pytest.fixture
def names(marker, big_list):
    touchy_class = make_touching_class(marker)
    TouchyStr.marker = marker

    def generator():
        marker.write_text("escaped")
        yield 1

    return {
        "value": 50,
        "mode": "ok",
        "data": {"value": 50, "kind": "a", "items": [1, 2, 3]},
        "items": [3, 1, 2],
        "record": Record(5, "x", ["red"]),
        "ns": types.SimpleNamespace(a=1, b="two"),
        "slotted": Slotted(),
        "color": Color.RED,
        "big": big_list,
        "path": str(marker),
        "touchy": touchy_class(),
        "touchy_list": [touchy_class()],
        "touchy_str": TouchyStr("abc"),
        "gen": generator(),
        "module": sys,
        "function": print,
        "cls": Record,
        "frame": sys._getframe(),
    }


def run(text, names, timeout=1.0) -> EvalResult:
    return evaluate(text, names, timeout=timeout)


def expect_error(text, names, prefix, timeout=1.0) -> str:
    started = time.monotonic()
    result = run(text, names, timeout=timeout)
    elapsed = time.monotonic() - started
    assert result.result is None, f"{text!r} returned {result.result}"
    assert result.error is not None
    assert result.error.startswith(prefix), result.error
    assert elapsed < timeout + TIME_MARGIN, f"{text!r} took {elapsed:.2f} s"
    return result.error


# -- hostile expressions -------------------------------------------------

# (expression, error prefix). "{path}" is replaced by the marker file's path.
HOSTILE = [
    # Dunder names and attributes; the subclasses walk.
    (
        "().__class__.__base__.__subclasses__()",
        "SyntaxError: attributes that start with '_'",
    ),
    (
        "[().__class__.__base__.__subclasses__][0]()",
        "SyntaxError: only built-in functions",
    ),
    (
        "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "
        "'_wrap_close'][0].__init__.__globals__['system']('touch {path}')",
        "SyntaxError:",
    ),
    ("value.__class__", "SyntaxError: attributes that start with '_'"),
    ("data.__class__.__mro__[1]", "SyntaxError: attributes that start with '_'"),
    ("__builtins__", "SyntaxError: names that start with '_'"),
    ("__import__('os').system('touch {path}')", "SyntaxError:"),
    ("_private", "SyntaxError: names that start with '_'"),
    ("slotted._hidden", "SyntaxError: attributes that start with '_'"),
    # Built-ins outside the allowed list, getattr and type chains.
    ("getattr(value, 'real')", "SyntaxError: calling 'getattr' is not allowed"),
    ("getattr(getattr(type(mode), 'mro')()[1], 'x')", "SyntaxError: calling 'getattr'"),
    ("type(value)", "SyntaxError: calling 'type' is not allowed"),
    ("open('{path}', 'w')", "SyntaxError: calling 'open' is not allowed"),
    ("eval('1')", "SyntaxError: calling 'eval' is not allowed"),
    ("exec('x = 1')", "SyntaxError: calling 'exec' is not allowed"),
    ("compile('1', 's', 'eval')", "SyntaxError: calling 'compile' is not allowed"),
    ("vars()", "SyntaxError: calling 'vars' is not allowed"),
    ("globals()", "SyntaxError: calling 'globals' is not allowed"),
    ("breakpoint()", "SyntaxError: calling 'breakpoint' is not allowed"),
    ("sum(range(10**12))", "SyntaxError: calling 'range' is not allowed"),
    # Format-string traversal.
    ("'{0.__class__}'.format(value)", "SyntaxError: calling the method 'format'"),
    (
        "'{x.__class__}'.format_map(data)",
        "SyntaxError: calling the method 'format_map'",
    ),
    ("str.format('{0}', 1)", "SyntaxError: calling the method 'format'"),
    ("f'{value.__class__}'", "SyntaxError: attributes that start with '_'"),
    ("f'{value:{mode}}'", "SyntaxError: nested fields in a format spec"),
    ("'%s' % value", "TypeError: printf-style '%' formatting"),
    # Calls written through subscripts, conditionals, bool operations, comprehensions.
    ("[len, abs][0](items)", "SyntaxError: only built-in functions"),
    ("(len if value else abs)(items)", "SyntaxError: only built-in functions"),
    ("(value and len)(items)", "SyntaxError: only built-in functions"),
    ("(None or len)(items)", "SyntaxError: only built-in functions"),
    ("[f for f in [len]][0](items)", "SyntaxError: only built-in functions"),
    ("(f for f in [len]).send(None)", "SyntaxError: calling the method 'send'"),
    ("len(items)(1)", "SyntaxError: only built-in functions"),
    ("function('x')", "SyntaxError: calling 'function' is not allowed"),
    ("record.compute()", "SyntaxError: calling the method 'compute'"),
    ("ns.get('a')", "AttributeError:"),
    # Frame, code, generator, traceback and function internals.
    (
        "(x for x in []).gi_frame",
        "SyntaxError: the attribute 'gi_frame' is not allowed",
    ),
    ("gen.gi_frame.f_globals", "SyntaxError: the attribute 'gi_frame' is not allowed"),
    ("frame.f_back", "SyntaxError: the attribute 'f_back' is not allowed"),
    ("frame.f_globals", "SyntaxError: the attribute 'f_globals' is not allowed"),
    ("gen.gi_code.co_code", "SyntaxError: the attribute 'gi_code' is not allowed"),
    ("value.tb_frame", "SyntaxError: the attribute 'tb_frame' is not allowed"),
    (
        "function.func_globals",
        "SyntaxError: the attribute 'func_globals' is not allowed",
    ),
    ("cls.mro", "SyntaxError: the attribute 'mro' is not allowed"),
    ("module.modules", "AttributeError: attributes of 'module' objects cannot be read"),
    ("cls.compute", "AttributeError: attributes of 'type' objects cannot be read"),
    ("frame.clear", "AttributeError: attributes of 'frame' objects cannot be read"),
    # Lambdas, assignments, unpacking, await and yield.
    ("(lambda: 0)()", "SyntaxError: only built-in functions"),
    ("lambda: 0", "SyntaxError: lambda expressions are not allowed"),
    ("(y := 5)", "SyntaxError: assignment expressions (:=) are not allowed"),
    ("[y := 1, y]", "SyntaxError: assignment expressions (:=) are not allowed"),
    ("[*items]", "SyntaxError: unpacking with * is not allowed"),
    ("{**data}", "SyntaxError: unpacking with ** is not allowed"),
    ("dict(**data)", "SyntaxError: unpacking with ** is not allowed"),
    ("len(*items)", "SyntaxError: unpacking with * is not allowed"),
    (
        "[0 for data['x'] in items]",
        "SyntaxError: a comprehension's for clause may bind names only",
    ),
    ("await value", "SyntaxError: await is not allowed"),
    ("(yield)", "SyntaxError: yield is not allowed"),
    ("import os", "SyntaxError: invalid syntax"),
    ("value = 1", "SyntaxError: invalid syntax"),
    # Methods that change data in flight.
    ("items.append(1)", "SyntaxError: calling the method 'append'"),
    ("data.pop('value')", "SyntaxError: calling the method 'pop'"),
    ("data.update(a=1)", "SyntaxError: calling the method 'update'"),
    ("items.sort()", "SyntaxError: calling the method 'sort'"),
    ("data.pop", "AttributeError: 'dict.pop' is not available in expressions"),
    # Properties, descriptors and special methods of user classes.
    ("record.total", "AttributeError: 'Record.total' is a property"),
    ("touchy.prop", "AttributeError: 'Touchy.prop' is a property"),
    ("touchy.cached", "AttributeError: 'Touchy.cached' is a method"),
    ("touchy.missing", "AttributeError: 'Touchy' object has no attribute 'missing'"),
    ("touchy == 1", "SandboxViolation:"),
    ("1 < touchy", "SandboxViolation:"),
    ("touchy in items", "SandboxViolation:"),
    ("1 in touchy", "SandboxViolation:"),
    ("{touchy}", "SandboxViolation:"),
    ("len(touchy)", "SandboxViolation:"),
    ("touchy[0]", "SandboxViolation:"),
    ("not touchy", "SandboxViolation:"),
    ("-touchy", "SandboxViolation:"),
    ("touchy * 3", "SandboxViolation:"),
    ("sorted(touchy_list + touchy_list)", "SandboxViolation:"),
    ("1 in touchy_list", "SandboxViolation:"),
    ("int(touchy)", "TypeError: int() argument must be"),
    (
        "touchy_str.startswith('a')",
        "AttributeError: 'TouchyStr.startswith' is defined by a user class",
    ),
    ("list(gen)", "TypeError: iterating a 'generator' would consume it"),
    # Sizes: powers, shifts, repetition, conversions.
    ("10**10**10", "LimitError:"),
    ("7**(10**7) % 3 >= 0", "LimitError:"),
    ("1 << 10**9", "LimitError:"),
    ("'a' * 10**10", "LimitError:"),
    ("[0] * 10**9", "LimitError:"),
    ("(0,) * 10**9", "LimitError:"),
    ("b'x' * 10**10", "LimitError:"),
    ("[[0] * 10**6 for x in items * 100]", "LimitError:"),
    ("str(10**5000)", "ValueError: Exceeds the limit (4300 digits)"),
    ("int('9' * 10000)", "ValueError: the number text is 10,000 characters long"),
    ("mode.ljust(10**9)", "LimitError:"),
    ("mode.center(10**10)", "LimitError:"),
    ("'\\t'.expandtabs(10**9)", "LimitError:"),
    ("(mode * 100000).replace('', 'x' * 1000)", "LimitError:"),
    ("f'{value:>1000000000}'", "LimitError: format width"),
    ("set(big)", "LimitError:"),
    ("[big[:], big[:]]", "LimitError:"),
    ("big + big", "LimitError:"),
    ("str(data) * 10**8", "LimitError:"),
    # Expression length and depth.
    ("(" * 10_000 + "1" + ")" * 10_000, "SyntaxError: expression is too long"),
    ("1 + " * 25_000 + "1", "SyntaxError: expression is too long"),
    ("-" * 1500 + "1", "SyntaxError: expression is nested too deeply"),
    ("[" * 300 + "]" * 300, "SyntaxError:"),
]


@pytest.mark.parametrize(("text", "prefix"), HOSTILE)
def test_hostile_expression_fails_cleanly(text, prefix, names, marker):
    expect_error(text.replace("{path}", str(marker)), names, prefix)
    assert not marker.exists()


def test_hostile_corpus_is_large():
    assert len(HOSTILE) >= 40


def test_subclasses_walk_is_rejected_at_compile_time():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("[().__class__.__base__.__subclasses__][0]()")
    assert caught.value.column == 1
    assert "subscript" in caught.value.message


def test_forbidden_attribute_column_points_at_name():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("value + data.__class__")
    assert caught.value.column == 14
    assert caught.value.line == 1


def test_column_counts_characters_not_bytes():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("'éé' + x.__class__")
    assert caught.value.column == 10


def test_syntax_error_has_column():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("value > ")
    assert caught.value.column >= 7
    assert caught.value.message.startswith("invalid syntax")


def test_leading_spaces_are_allowed_and_columns_kept():
    assert compile_expression("   value").evaluate({"value": 3}) == 3
    with pytest.raises(ExpressionError) as caught:
        compile_expression("  x.__class__")
    assert caught.value.column == 5


def test_empty_expression_is_rejected():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("   ")
    assert caught.value.message == "expression is empty"


def test_long_expression_error_points_past_limit():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("1" * (MAX_EXPRESSION_LENGTH + 1))
    assert caught.value.column == MAX_EXPRESSION_LENGTH + 1


def test_null_character_is_rejected():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("value\x00")
    assert caught.value.column == 6


def test_blank_condition_means_always():
    assert compile_condition("") is None
    assert compile_condition("  \t") is None
    assert compile_condition(None) is None
    assert compile_condition("value > 1") is not None


def test_evaluate_never_raises_for_bad_text(names):
    for text in ["", ")", "x +", None, 5, "\x00"]:
        result = run(text, names)
        assert result.result is None
        assert result.error


def test_runtime_errors_read_like_python(names):
    assert run("undefined", names).error == "NameError: name 'undefined' is not defined"
    assert run("data['a']", names).error == "KeyError: 'a'"
    assert run("value / 0", names).error == "ZeroDivisionError: division by zero"
    assert run("items[10]", names).error == "IndexError: list index out of range"
    assert run("value + 'a'", names).error.startswith("TypeError: unsupported operand")
    assert run("int('x')", names).error.startswith(
        "ValueError: invalid literal for int()"
    )


def test_evaluation_error_has_column(names):
    with pytest.raises(EvaluationError) as caught:
        compile_expression("value + data['missing']").evaluate(names)
    assert caught.value.message == "KeyError: 'missing'"
    assert caught.value.column == 9
    assert caught.value.error_type == "KeyError"


# -- time limits -----------------------------------------------------------


def evaluate_in_thread(text, names, timeout):
    """Evaluate in a worker thread; return (EvalResult, seconds it took)."""
    outcome = {}

    def work():
        started = time.monotonic()
        outcome["result"] = run(text, names, timeout=timeout)
        outcome["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(timeout + 10)
    assert not worker.is_alive(), "the evaluation did not stop"
    return outcome["result"], outcome["elapsed"]


@pytest.mark.parametrize(
    "text",
    [
        "max(big)",
        "sum(big)",
        "sum(x * 2 for x in big)",
        "[x for x in big if x > 1]",
        "any(x > 0 for x in big)",
        "str(big)",
        "sorted(big)",
        "len([1 for a in big for b in big])",
        "', '.join(str(x) for x in big)",
        "[big.count(x) for x in items]",
        "[5 in big for x in items]",
    ],
)
def test_sub_second_timeout_in_worker_thread(text, names):
    result, elapsed = evaluate_in_thread(text, names, timeout=0.05)
    assert result.error is not None
    assert result.error.startswith(
        "TimeoutError: evaluation took longer than the 0.05 s"
    )
    assert elapsed < 0.05 + TIME_MARGIN


def test_timeout_raises_evaluation_timeout(names):
    with pytest.raises(EvaluationTimeout) as caught:
        compile_expression("max(big)").evaluate(names, timeout=0.05)
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.timeout == 0.05


def test_refused_operations_return_at_once(names):
    for text in ["10**10**10", "1 << 10**9", "'a' * 10**10", "[0] * 10**9"]:
        started = time.monotonic()
        assert run(text, names).error.startswith("LimitError:")
        assert time.monotonic() - started < 0.1


def test_other_threads_stay_responsive(names):
    """A long evaluation in one thread does not stall a short one in another."""
    started = threading.Event()
    outcome = {}

    def long_work():
        started.set()
        outcome["long"] = run("sum(x for x in big)", names, timeout=2.0)

    worker = threading.Thread(target=long_work)
    worker.start()
    assert started.wait(5)
    began = time.monotonic()
    assert run("value + 1", names).result["repr"] == "51"
    short_elapsed = time.monotonic() - began
    worker.join(10)
    assert short_elapsed < 0.5
    assert outcome["long"].error.startswith("TimeoutError")


def test_invalid_timeout_is_rejected(names):
    expression = compile_expression("value")
    for timeout in (0, -1, float("nan"), float("inf"), 1000):
        with pytest.raises(ValueError):
            expression.evaluate(names, timeout=timeout)


# -- the code guard ---------------------------------------------------------


def test_trace_function_is_restored(names):
    def tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        run("value + 1", names)
        assert sys.gettrace() is tracer
        run("touchy == 1", names)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)


def test_generator_cannot_run_after_evaluation(names):
    generator = compile_expression("(x for x in items)").evaluate(names)
    with pytest.raises(RuntimeError, match="only during its evaluation"):
        next(generator)


def test_stdlib_values_work_under_guard():
    values = {
        "when": datetime.datetime(2025, 1, 15, 10, 30),
        "price": decimal.Decimal("12.50"),
        "share": fractions.Fraction(1, 3),
        "ident": uuid.UUID(int=5),
        "color": Color.RED,
    }
    assert compile_expression("when.year == 2025 and str(when)[:4] == '2025'").evaluate(
        values
    )
    assert compile_expression("f'{when:%Y-%m}'").evaluate(values) == "2025-01"
    assert compile_expression("price * 2 > 20 and f'{price:.1f}' == '12.5'").evaluate(
        values
    )
    assert compile_expression("share.numerator == 1 and share * 3 == 1").evaluate(
        values
    )
    assert compile_expression("str(ident).endswith('5')").evaluate(values)
    assert compile_expression("color.name == 'RED' and color.value == 1").evaluate(
        values
    )
    assert compile_expression("str(color)").evaluate(values) == "Color.RED"


def test_fraction_power_is_bounded():
    share = {"share": fractions.Fraction(2, 3)}
    with pytest.raises(EvaluationError, match="LimitError"):
        compile_expression("share ** 10**9").evaluate(share)


# -- valid expressions --------------------------------------------------------

POSITIVE = [
    # Literals and names.
    ("value", 50),
    ("None", None),
    ("[1, 'a', (2,), {3}, {'k': 4}]", [1, "a", (2,), {3}, {"k": 4}]),
    # Arithmetic.
    ("value + 1", 51),
    ("value - 1", 49),
    ("value * 2", 100),
    ("value / 4", 12.5),
    ("value // 7", 7),
    ("value % 7", 1),
    ("value ** 2", 2500),
    ("-value", -50),
    ("+value", 50),
    ("~value", -51),
    ("value << 2", 200),
    ("value >> 2", 12),
    ("value & 3", 2),
    ("value | 1", 51),
    ("value ^ 2", 48),
    ("'ab' * 2", "abab"),
    ("items + [4]", [3, 1, 2, 4]),
    # Comparisons.
    ("value == 50", True),
    ("value != 50", False),
    ("value < 60", True),
    ("value > 60", False),
    ("value <= 50", True),
    ("value >= 51", False),
    ("1 < value <= 50", True),
    # Boolean operators.
    ("value > 10 and mode == 'ok'", True),
    ("value > 100 or mode == 'ok'", True),
    ("not value", False),
    ("value and mode", "ok"),
    ("0 or None or 'last'", "last"),
    # Membership and identity.
    ("value in [50, 60]", True),
    ("value not in [5]", True),
    ("'kind' in data", True),
    ("'k' in 'kind'", True),
    ("value is None", False),
    ("value is not None", True),
    ("None is None", True),
    # Subscripts and slices.
    ("data['kind']", "a"),
    ("items[0]", 3),
    ("items[-1]", 2),
    ("items[1:]", [1, 2]),
    ("items[::-1]", [2, 1, 3]),
    ("items[:2]", [3, 1]),
    ("mode[1:]", "k"),
    ("data['items'][1:3]", [2, 3]),
    # Conditional expression.
    ("'big' if value > 10 else 'small'", "big"),
    # Attributes of user objects.
    ("record.amount", 5),
    ("record.name.upper()", "X"),
    ("record.tags[0]", "red"),
    ("ns.a + 1", 2),
    ("ns.b", "two"),
    ("slotted.x", 7),
    ("color.name", "RED"),
    ("value.real", 50),
    # Methods of plain data.
    ("data.get('value') > 10", True),
    ("data.get('missing', 0)", 0),
    ("sorted(data.keys())", ["items", "kind", "value"]),
    ("len(data.values())", 3),
    ("list(data.items())[0]", ("value", 50)),
    ("mode.startswith('o')", True),
    ("mode.endswith(('k', 'z'))", True),
    ("'a,b'.split(',')", ["a", "b"]),
    ("' x '.strip()", "x"),
    ("'-'.join(['a', 'b'])", "a-b"),
    ("'abc'.replace('b', 'x')", "axc"),
    ("'ab'.upper().lower()", "ab"),
    ("items.index(1)", 1),
    ("items.count(3)", 1),
    ("{1, 2}.union([3])", {1, 2, 3}),
    ("(255).bit_length()", 8),
    ("b'ab'.hex()", "6162"),
    ("b'ab'.decode()", "ab"),
    ("'é'.encode('utf-8')", b"\xc3\xa9"),
    # Built-ins.
    ("len(items)", 3),
    ("abs(-3)", 3),
    ("min(items)", 1),
    ("max(items)", 3),
    ("max(3, 7, 5)", 7),
    ("max(items, key=str)", 3),
    ("min([], default=0)", 0),
    ("sum(items)", 6),
    ("sum([0.5, 0.25], 1)", 1.75),
    ("round(3.14159, 2)", 3.14),
    ("round(2.5)", 2),
    ("round(1234, -2)", 1200),
    ("sorted(items)", [1, 2, 3]),
    ("sorted(items, reverse=True)", [3, 2, 1]),
    ("any(x > 2 for x in items)", True),
    ("all(x > 0 for x in items)", True),
    ("str(value)", "50"),
    ("str(data['items'])", "[1, 2, 3]"),
    ("str(None)", "None"),
    ("int('42')", 42),
    ("int('ff', 16)", 255),
    ("int(3.9)", 3),
    ("float('1.5')", 1.5),
    ("bool([])", False),
    ("list('ab')", ["a", "b"]),
    ("tuple(items)", (3, 1, 2)),
    ("set([1, 1, 2])", {1, 2}),
    ("dict(a=1)", {"a": 1}),
    ("dict([('a', 1)])", {"a": 1}),
    ("isinstance(value, int)", True),
    ("isinstance(value, (str, float))", False),
    ("isinstance(record, cls)", True),
    ("isinstance(value, int | str)", True),
    ("isinstance(None, int | None)", True),
    # Comprehensions and generator expressions.
    ("[x * 2 for x in items]", [6, 2, 4]),
    ("[x for x in items if x > 1]", [3, 2]),
    ("{x for x in items}", {1, 2, 3}),
    ("{k: v for k, v in data.items() if k != 'items'}", {"value": 50, "kind": "a"}),
    ("[(a, b) for a in [1, 2] for b in 'xy' if a > 1]", [(2, "x"), (2, "y")]),
    ("sum(x for x in items)", 6),
    ("[x for x in items for _ in [0]]", [3, 1, 2]),
    # f-strings.
    ("f'{value}'", "50"),
    ("f'{value:>5}|{mode!r}|{3.14159:.2f}'", "   50|'ok'|3.14"),
    ("f'{record}'", "Record(amount=5, name='x', tags=['red'])"),
    ("f'{data}'", "{'value': 50, 'kind': 'a', 'items': [1, 2, 3]}"),
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_valid_expression_evaluates(text, expected, names):
    assert compile_expression(text).evaluate(names) == expected


def test_evaluate_condition_returns_bool(names):
    expression = compile_expression("data.get('items')")
    assert expression.evaluate_condition(names) is True
    assert compile_expression("[]").evaluate_condition(names) is False


def test_evaluate_returns_preview_and_type(names):
    result = run("data['items']", names)
    assert result.error is None
    assert result.type == "list"
    assert result.result == {
        "repr": "[1, 2, 3]",
        "type": "list",
        "length": 3,
        "truncated": False,
    }
    assert result.to_dict()["error"] is None


def test_messages_use_python_type_names(names):
    assert run("len + 1", names).error == (
        "TypeError: unsupported operand type(s) for +: "
        "'builtin_function_or_method' and 'int'"
    )
    assert run("len", names).type == "builtin_function_or_method"
    assert run("int", names).type == "type"


def test_payload_name_shadows_builtin(names):
    assert compile_expression("len").evaluate({"len": 5}) == 5
    assert run("len(items)", {"len": 5, "items": []}).error == (
        "TypeError: 'int' object is not callable in expressions"
    )


def test_names_mapping_is_not_changed(names):
    before = dict(names["data"])
    run("[data.get(k) for k in data]", names)
    run("sorted(data['items'], reverse=True)", names)
    assert names["data"] == before
    assert names["items"] == [3, 1, 2]


def test_compiled_expression_is_shared_between_threads(names):
    expression = compile_expression("sum(x for x in items) + value")
    results = []

    def work():
        for _ in range(50):
            results.append(expression.evaluate(names))

    workers = [threading.Thread(target=work) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert results == [56] * 200


def test_depth_limit_allows_ordinary_nesting():
    assert compile_expression("((((1 + 2) * 3) - 4) // 5)").evaluate({}) == 1
    assert compile_expression("-" * 40 + "1").evaluate({}) == 1
