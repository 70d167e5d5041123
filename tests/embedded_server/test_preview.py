"""Tests for bounded previews: any value, however large or strange, previews safely."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import time
import uuid

import pytest

from embedded_server.debug.preview import describe_exception, display_text, preview


class Color(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int
    y: int


class RaisingRepr:
    def __init__(self) -> None:
        self.size = 3

    def __repr__(self) -> str:
        raise RuntimeError("repr failed")


class EndlessRepr:
    def __repr__(self) -> str:
        while True:
            pass


class ExpensiveProperty:
    @property
    def value(self) -> int:
        raise AssertionError("a property was run by the preview")


class MarkerUUID(uuid.UUID):
    ran = False

    def __str__(self) -> str:
        type(self).ran = True
        return "user code"


def test_huge_int_previews_without_conversion():
    started = time.monotonic()
    result = preview(10**5000)
    assert time.monotonic() - started < 0.5
    assert result["type"] == "int"
    assert result["truncated"] is True
    assert result["length"] is None
    assert result["repr"].startswith("<int with about 5,001 digits")


def test_small_int_previews_exactly():
    assert preview(-42) == {
        "repr": "-42",
        "type": "int",
        "length": None,
        "truncated": False,
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (-0.0, "-0.0"),
        (1j, "1j"),
        (None, "None"),
        (True, "True"),
        ("é\n'", '"é\\n\'"'),
        (b"\x00a", "b'\\x00a'"),
        (bytearray(b"ab"), "bytearray(b'ab')"),
        (set(), "set()"),
        (frozenset({1}), "frozenset({1})"),
        ((), "()"),
        ((1,), "(1,)"),
        ({}, "{}"),
        ({1: [2, (3,)]}, "{1: [2, (3,)]}"),
        ({}.keys(), "dict_keys([])"),
        (range(3), "range(0, 3)"),
        (Color.RED, "<Color.RED: 1>"),
        (Level.HIGH, "<Level.HIGH: 3>"),
        (Point(1, 2), "Point(x=1, y=2)"),
        (collections.namedtuple("Pair", "a b")(1, 2), "Pair(a=1, b=2)"),
        (datetime.date(2025, 1, 15), "datetime.date(2025, 1, 15)"),
        (decimal.Decimal("1.5"), "Decimal('1.5')"),
    ],
)
def test_value_renders_like_python(value, text):
    assert preview(value)["repr"] == text


def test_self_referencing_list():
    items: list = [1]
    items.append(items)
    assert preview(items)["repr"] == "[1, [...]]"


def test_self_referencing_dict():
    mapping: dict = {"a": 1}
    mapping["self"] = mapping
    assert preview(mapping)["repr"] == "{'a': 1, 'self': {...}}"


def test_fifty_megabyte_list_is_quick():
    items = [0] * 6_250_000  # 50 MB of item pointers
    started = time.monotonic()
    result = preview(items)
    assert time.monotonic() - started < 0.5
    assert result["length"] == 6_250_000
    assert result["truncated"] is True
    assert len(result["repr"]) <= 1000


def test_item_limit_truncates():
    result = preview(list(range(500)), max_items=3)
    assert result["repr"] == "[0, 1, 2, ...]"
    assert result["truncated"] is True


def test_depth_limit_truncates():
    result = preview([[[[1]]]], max_depth=2)
    assert result["repr"] == "[[[...]]]"
    assert result["truncated"] is True


def test_char_limit_truncates_long_string():
    result = preview("x" * 5000, max_chars=50)
    assert len(result["repr"]) == 50
    assert result["length"] == 5000
    assert result["truncated"] is True


def test_nested_dicts_within_limits():
    nested = {"a": {"b": {"c": {"d": 1}}}}
    result = preview(nested)
    assert result["repr"] == "{'a': {'b': {'c': {'d': 1}}}}"
    assert result["length"] == 1
    assert result["truncated"] is False


def test_raising_repr_is_not_called():
    result = preview(RaisingRepr())
    assert result["repr"] == "RaisingRepr(size=3)"
    assert result["type"] == "RaisingRepr"


def test_endless_repr_is_not_called():
    started = time.monotonic()
    result = preview(EndlessRepr())
    assert time.monotonic() - started < 0.5
    assert result["repr"] == "<EndlessRepr object>"


def test_property_is_not_run():
    assert preview(ExpensiveProperty())["repr"] == "<ExpensiveProperty object>"


def test_user_override_inside_stdlib_repr_is_stopped():
    result = preview(MarkerUUID(int=1))
    assert MarkerUUID.ran is False
    assert result["repr"].startswith("MarkerUUID(int=1")


def test_code_objects_show_fixed_text():
    assert preview(len)["repr"] == "<built-in function len>"
    assert preview(preview)["repr"] == "<function preview>"
    assert preview(Point)["repr"].startswith("<class '")
    assert preview(datetime)["repr"] == "<module 'datetime'>"


def test_set_preview_lists_items():
    result = preview({1, 2, 3})
    assert result["repr"] == "{1, 2, 3}"
    assert result["length"] == 3


def test_bytes_preview_is_bounded():
    result = preview(b"\xff" * 100_000, max_chars=40)
    assert len(result["repr"]) == 40
    assert result["length"] == 100_000
    assert result["truncated"] is True


def test_display_text_shows_strings_plainly():
    assert display_text("hello") == "hello"
    assert display_text([1, "a"]) == "[1, 'a']"
    assert display_text("x" * 50, max_chars=10) == "x" * 9 + "…"


def test_describe_exception_formats_like_python():
    assert describe_exception(KeyError("a")) == "KeyError: 'a'"
    assert describe_exception(NameError("name 'x' is not defined")) == (
        "NameError: name 'x' is not defined"
    )
    assert describe_exception(ZeroDivisionError("division by zero")) == (
        "ZeroDivisionError: division by zero"
    )
    assert describe_exception(ValueError()) == "ValueError"


def test_describe_exception_does_not_call_user_repr():
    assert (
        describe_exception(KeyError(RaisingRepr())) == "KeyError: RaisingRepr(size=3)"
    )
