"""Tests for hit conditions: VS Code syntax, matching hit counts and column errors."""

from __future__ import annotations

import pytest

from embedded_server.debug import ExpressionError, parse_hit_condition

COUNTS = range(1, 13)


@pytest.mark.parametrize(
    ("text", "matching"),
    [
        (">= 3", list(range(3, 13))),
        ("> 3", list(range(4, 13))),
        ("<= 2", [1, 2]),
        ("< 3", [1, 2]),
        ("== 5", [5]),
        ("= 5", [5]),
        ("5", [5]),
        ("!= 2", [1, *range(3, 13)]),
        ("% 10 == 0", [10]),
        ("% 3", [3, 6, 9, 12]),
        ("%4", [4, 8, 12]),
        ("% 3 == 1", [1, 4, 7, 10]),
        ("% 3 != 0", [1, 2, 4, 5, 7, 8, 10, 11]),
        ("  >=3  ", list(range(3, 13))),
    ],
)
def test_hit_condition_matches(text, matching):
    condition = parse_hit_condition(text)
    assert [count for count in COUNTS if condition.matches(count)] == matching


def test_bare_number_means_equal():
    condition = parse_hit_condition("5")
    assert condition.operator == "=="
    assert condition.count == 5


@pytest.mark.parametrize("text", [None, "", "   "])
def test_blank_hit_condition_is_none(text):
    assert parse_hit_condition(text) is None


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        (">=", 3, "expected a whole number"),
        ("abc", 1, "expected a whole number"),
        (">= -1", 4, "expected a whole number"),
        ("5 5", 3, "unexpected '5'"),
        ("% 0", 3, "modulus after '%' must be at least 1"),
        ("% 3 == 5", 8, "remainder must be smaller than 3"),
        ("% 3 > 1", 5, "only '== R' or '!= R'"),
        ("> 3 == 1", 5, "unexpected '='"),
        ("9" * 20, 1, "more than 12 digits"),
        ("x" * 200, 101, "too long"),
    ],
)
def test_invalid_hit_condition_has_column(text, column, fragment):
    with pytest.raises(ExpressionError) as caught:
        parse_hit_condition(text)
    assert caught.value.column == column
    assert fragment in caught.value.message
