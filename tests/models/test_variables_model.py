"""Tests for VariablesModel, the lazily expanded variables tree."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from app.models.debug_records import EvalResult, Variable
from app.models.variables_model import VariableColumn, VariableRole, VariablesModel

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


def variable(name, text, type_name, length=None, *, truncated=False, editable=False):
    preview = {
        "repr": text,
        "type": type_name,
        "length": length,
        "truncated": truncated,
    }
    return Variable(name, type_name, preview, editable)


RECORD = "{'id': 1, 'items': [{'sku': 'S-1', 'qty': 2}], 'amount': 96.74}"
VARIABLES = [
    variable("record", RECORD, "dict", 3, editable=True),
    variable("numbers", "[0, 1, 2, ...]", "list", 250),
    variable("deep", "{'a': {'b': {...}}}", "dict", 1, truncated=True),
    variable("routine_id", "'transformer'", "str", 11),
]


@pytest.fixture
def model(qapp):
    model = VariablesModel()
    model.set_variables(VARIABLES)
    return model


def test_model_passes_model_tester(model, qtmodeltester):
    """The tree passes Qt's model checks, with every lazy row fetched."""
    qtmodeltester.check(model)
    qtmodeltester.check(model, force_py=True)


def child(model, parent, row, column=0):
    return model.index(row, column, parent)


def expand(model, index):
    assert model.canFetchMore(index)
    model.fetchMore(index)


def test_top_level_names_and_types(model):
    """The top level lists the names with value previews and types."""
    assert model.names() == ["record", "numbers", "deep", "routine_id"]
    assert model.index(0, VariableColumn.TYPE).data() == "dict (3)"
    assert model.index(3, VariableColumn.VALUE).data() == "'transformer'"
    assert model.hasChildren(model.index(0, 0))
    assert not model.hasChildren(model.index(3, 0))


def test_children_come_from_the_preview(model, qtbot):
    """Expanding a dict reads its items from the preview without a request."""
    record = model.index(0, 0)
    with qtbot.assertNotEmitted(model.fetch_requested):
        expand(model, record)

    assert model.rowCount(record) == 3
    assert child(model, record, 0).data() == "id"
    assert child(model, record, 2, VariableColumn.VALUE).data() == "96.74"
    assert child(model, record, 2, VariableColumn.TYPE).data() == "float"
    assert child(model, record, 1).data(VariableRole.EXPRESSION) == "record['items']"

    items = child(model, record, 1)
    expand(model, items)
    assert child(model, items, 0).data() == "[0]"
    assert child(model, items, 0).data(VariableRole.EXPRESSION) == "record['items'][0]"


def test_more_row_loads_the_next_page(model, qtbot, qtmodeltester):
    """The "more items" row requests the next slice and appends it."""
    numbers = model.index(1, 0)
    expand(model, numbers)
    assert model.rowCount(numbers) == 4
    more = child(model, numbers, 3)
    assert more.data(VariableRole.IS_MORE)
    assert "247 more items" in child(model, numbers, 3, VariableColumn.VALUE).data()

    with qtbot.waitSignal(model.fetch_requested) as blocker:
        assert model.load_more(more)
    request_id, expression = blocker.args
    assert expression == "numbers[3:103]"

    page = "[" + ", ".join(str(i) for i in range(3, 103)) + "]"
    model.supply(
        request_id,
        EvalResult(
            {"repr": page, "type": "list", "length": 100, "truncated": False}, "list"
        ),
    )

    assert model.rowCount(numbers) == 104
    assert child(model, numbers, 102).data() == "[102]"
    assert child(model, numbers, 103).data(VariableRole.IS_MORE)
    qtmodeltester.check(model, force_py=True)


def test_elided_value_is_fetched(model, qtbot):
    """A value elided for depth is evaluated again when expanded."""
    deep = model.index(2, 0)
    expand(model, deep)
    a = child(model, deep, 0)
    b_parent = a
    expand(model, b_parent)
    b = child(model, b_parent, 0)
    assert b.data(VariableRole.EXPRESSION) == "deep['a']['b']"

    with qtbot.waitSignal(model.fetch_requested) as blocker:
        expand(model, b)
    request_id, expression = blocker.args
    assert expression == "deep['a']['b']"

    model.supply(
        request_id,
        EvalResult(
            {"repr": "{'c': 3}", "type": "dict", "length": 1, "truncated": False},
            "dict",
        ),
    )
    assert model.rowCount(b) == 1
    assert child(model, b, 0, VariableColumn.VALUE).data() == "3"


def test_failed_fetch_shows_the_error(model, qtbot):
    """An evaluation error is shown on the row instead of children."""
    deep = model.index(2, 0)
    expand(model, deep)
    a = child(model, deep, 0)
    expand(model, a)
    b = child(model, a, 0)
    with qtbot.waitSignal(model.fetch_requested) as blocker:
        expand(model, b)

    model.supply(blocker.args[0], EvalResult.failed("RATE_LIMITED: slow down"))

    assert b.data(Qt.ItemDataRole.ToolTipRole) == "RATE_LIMITED: slow down"
    assert model.rowCount(b) == 0


def test_stale_answer_is_dropped(model, qtbot):
    """An evaluation that arrives after the variables changed is ignored."""
    numbers = model.index(1, 0)
    expand(model, numbers)
    with qtbot.waitSignal(model.fetch_requested) as blocker:
        model.load_more(child(model, numbers, 3))

    model.set_variables(VARIABLES)
    model.supply(
        blocker.args[0],
        EvalResult(
            {"repr": "[3]", "type": "list", "length": 1, "truncated": False}, "list"
        ),
    )

    assert model.rowCount(model.index(1, 0)) == 0


def test_edit_top_level_value_as_json(model, qtbot):
    """Editing an editable name sends the parsed JSON value."""
    value = model.index(0, VariableColumn.VALUE)
    assert value.flags() & Qt.ItemFlag.ItemIsEditable
    assert value.data(Qt.ItemDataRole.EditRole) == (
        '{"id": 1, "items": [{"sku": "S-1", "qty": 2}], "amount": 96.74}'
    )

    with qtbot.waitSignal(model.edit_requested) as blocker:
        assert model.setData(value, '{"id": 2}')

    assert blocker.args == ["record", {"id": 2}]


def test_edit_nested_item_sends_whole_value(model, qtbot):
    """Editing an item inside an editable value sends the changed whole value."""
    record = model.index(0, 0)
    expand(model, record)
    amount = child(model, record, 2, VariableColumn.VALUE)
    assert amount.flags() & Qt.ItemFlag.ItemIsEditable

    with qtbot.waitSignal(model.edit_requested) as blocker:
        assert model.setData(amount, "150")

    name, value = blocker.args
    assert name == "record"
    assert value == {"id": 1, "items": [{"sku": "S-1", "qty": 2}], "amount": 150}


def test_invalid_json_edit_is_rejected(model, qtbot):
    """Text that is not JSON is rejected with a message and no request."""
    value = model.index(0, VariableColumn.VALUE)
    with qtbot.assertNotEmitted(model.edit_requested):
        with qtbot.waitSignal(model.edit_failed) as blocker:
            assert not model.setData(value, "{id: 2}")

    assert blocker.args[0] == "record"
    assert "column" in blocker.args[1]


def test_read_only_names_are_not_editable(model):
    """Names the server marks read-only have no editable value."""
    assert not model.index(3, VariableColumn.VALUE).flags() & Qt.ItemFlag.ItemIsEditable
    assert not model.setData(model.index(3, VariableColumn.VALUE), '"x"')


def test_clear_removes_everything(model):
    """clear() leaves an empty tree."""
    model.clear()

    assert model.rowCount(QModelIndex()) == 0
