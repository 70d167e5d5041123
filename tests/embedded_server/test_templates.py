"""Tests for logpoint templates: fields, escapes, errors inside fields, and limits."""

from __future__ import annotations

import time

import pytest

from embedded_server.debug import ExpressionError, compile_template, render_template

NAMES = {"value": 5, "items": [1, 2, 3], "name": "Ada", "data": {"k": "v"}}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("value is {value} and {len(items)}", "value is 5 and 3"),
        ("hello {name}", "hello Ada"),
        ("{items}", "[1, 2, 3]"),
        ("{data['k']}!", "v!"),
        ("{{literal}} {value}", "{literal} 5"),
        ("}} and {{", "} and {"),
        ("{ {'a': 1} }", "{'a': 1}"),
        ("{'}'} {\"{\"}", "} {"),
        ("no fields", "no fields"),
        ("", ""),
        ("{f'{value:>3}'}", "  5"),
    ],
)
def test_template_renders(template, message):
    assert render_template(template, NAMES) == message
    assert compile_template(template).render(NAMES) == message


def test_bad_field_renders_error():
    assert render_template("x={missing}", NAMES) == (
        "x=<error: NameError: name 'missing' is not defined>"
    )
    assert render_template("{data['nope']}", NAMES) == "<error: KeyError: 'nope'>"
    assert render_template("{value.__class__}", NAMES).startswith(
        "<error: SyntaxError: attributes that start with '_'"
    )


def test_lenient_render_keeps_broken_braces():
    assert render_template("a { b", NAMES) == "a { b"
    assert render_template("a } b", NAMES) == "a } b"
    assert (
        render_template("{}", NAMES)
        == "<error: SyntaxError: empty expression in braces>"
    )


@pytest.mark.parametrize(
    ("template", "column", "fragment"),
    [
        ("x {a +} y", 7, "invalid syntax"),
        ("x {a", 3, "'{' is never closed"),
        ("x } y", 3, "single '}' is not allowed"),
        ("ok {value.__class__}", 11, "attributes that start with '_'"),
        ("{ }", 2, "empty expression"),
    ],
)
def test_compile_template_reports_column(template, column, fragment):
    with pytest.raises(ExpressionError) as caught:
        compile_template(template)
    assert fragment in caught.value.message
    assert caught.value.column == column


def test_template_time_limit_covers_all_fields():
    names = {"big": [0] * 3_000_000}
    started = time.monotonic()
    message = render_template("{sum(big)} {max(big)} {value}", names, timeout=0.05)
    assert time.monotonic() - started < 0.5
    assert message.count("<error: TimeoutError") >= 2


def test_rendered_message_is_bounded():
    names = {"text": "x" * 50_000}
    message = render_template("{text}{text}{text}", names)
    assert len(message) <= 10_000


def test_non_string_template_renders_error():
    assert render_template(None, NAMES).startswith("<error: TypeError")
