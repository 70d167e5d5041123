"""Tests for reading the server's bounded value previews."""

from __future__ import annotations

import pytest

from app.models import value_preview
from app.models.value_preview import Item


def test_split_nested_dict():
    """A dict splits at its top-level commas only."""
    container = value_preview.split("{'a': {'b': 1, 'c': [1, 2]}, 'd': 'x, y'}", "dict")

    assert container.kind == "dict"
    assert container.items == (
        Item("'a'", "{'b': 1, 'c': [1, 2]}"),
        Item("'d'", "'x, y'"),
    )
    assert not container.more


def test_split_marks_left_out_items():
    """An ``...`` item means the server left items out."""
    container = value_preview.split("[0, 1, 2, ...]", "list")

    assert [item.text for item in container.items] == ["0", "1", "2"]
    assert container.more


def test_split_cut_text():
    """Text cut inside a string keeps the partial item, marked cut."""
    container = value_preview.split("{'x': 'yyyy", "dict")

    assert container.items == (Item("'x'", "'yyyy", cut=True),)
    assert container.more


def test_split_quotes_and_markers():
    """Quotes, escapes and opaque markers do not split items."""
    text = (
        '[\'a,b\', "c\\"d", <int with about 5,000 digits, ending in ...01>, Rec(x=1)]'
    )
    container = value_preview.split(text, "list")

    assert [item.text for item in container.items] == [
        "'a,b'",
        '"c\\"d"',
        "<int with about 5,000 digits, ending in ...01>",
        "Rec(x=1)",
    ]


@pytest.mark.parametrize(
    ("text", "type_name", "kind"),
    [
        ("{1, 2}", "set", "set"),
        ("frozenset({1})", "frozenset", "set"),
        ("(1,)", "tuple", "tuple"),
        ("Rec(a=1, b=2)", "Rec", "object"),
        ("{'a': 1}", "", "dict"),
        ("{}", "dict", None),
        ("'text'", "str", None),
        ("datetime.datetime(2026, 1, 1)", "datetime", None),
    ],
)
def test_container_kind(text, type_name, kind):
    """Containers are recognised by their brackets and type; scalars are not containers."""
    assert value_preview.container_kind(text, type_name) == kind


def test_elided_container_is_not_split():
    """A container elided for depth has no items to read."""
    assert value_preview.is_elided("{...}")
    assert value_preview.split("{...}", "dict") is None


@pytest.mark.parametrize(
    ("text", "type_name"),
    [("'😀'", "str"), ("b'x'", "bytes"), ("-1.5e-3", "float"), ("12", "int"),
     ("None", "NoneType"), ("[1]", "list"), ("Rec(a=1)", "Rec")],
)  # fmt: skip
def test_infer_type(text, type_name):
    """Item types are guessed from their repr."""
    assert value_preview.infer_type(text) == type_name


def test_child_and_page_expressions():
    """Children and pages get expressions the server can evaluate."""
    item = Item("'amount'", "5")

    assert (
        value_preview.child_expression("record", "dict", item, 0) == "record['amount']"
    )
    assert (
        value_preview.child_expression("items", "list", Item(None, "1"), 3)
        == "items[3]"
    )
    assert value_preview.child_expression("s", "set", Item(None, "1"), 0) is None
    assert value_preview.page_expression("items", "list", 100, 100) == "items[100:200]"
    assert (
        value_preview.page_expression("d", "dict", 0, 10)
        == "dict(list(d.items())[0:10])"
    )


def test_parse_json_value_rejects_nan():
    """Edits must be finite JSON."""
    assert value_preview.parse_json_value('{"a": [1, 2.5]}') == {"a": [1, 2.5]}
    with pytest.raises(ValueError, match="NaN"):
        value_preview.parse_json_value("NaN")
    with pytest.raises(ValueError, match="column"):
        value_preview.parse_json_value("{'a': 1}")
