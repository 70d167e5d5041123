"""Tests for WatchModel: watch expressions, their values, and the watch file."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from app.models import ui_state, watch_model
from app.models.debug_records import EvalResult
from app.models.watch_model import WatchColumn, WatchModel

pytestmark = pytest.mark.qt_log_level_fail("WARNING")


@pytest.fixture
def path(tmp_path):
    return tmp_path / "watches.json"


@pytest.fixture
def model(qapp, qtmodeltester, path):
    model = WatchModel(path=path)
    model.add_expression("record['amount']")
    model.add_expression("nope")
    qtmodeltester.check(model)
    return model


def value(model, row):
    return model.index(row, WatchColumn.VALUE).data()


def test_expressions_persist_between_runs(model, path):
    """Expressions are saved and loaded by a new model."""
    assert json.loads(path.read_text(encoding="utf-8"))["expressions"] == [
        "record['amount']",
        "nope",
    ]

    assert WatchModel(path=path).expressions() == ["record['amount']", "nope"]


def test_default_path_follows_config_dir(tmp_path, monkeypatch, qapp):
    """OVERSEER_CONFIG_DIR moves the watch file."""
    monkeypatch.setenv(ui_state.CONFIG_DIR_ENV, str(tmp_path))
    model = WatchModel()
    model.add_expression("len(items)")

    assert watch_model.default_watch_path() == tmp_path / "watches.json"
    assert WatchModel().expressions() == ["len(items)"]


def test_results_show_type_value_or_error(model):
    """A value shows its type and repr; an error shows in the value column."""
    model.set_result(0, "record['amount']", EvalResult(
        {"repr": "96.74", "type": "float", "length": None, "truncated": False}, "float"
    ))  # fmt: skip
    model.set_result(
        1, "nope", EvalResult.failed("NameError: name 'nope' is not defined")
    )

    assert model.index(0, WatchColumn.TYPE).data() == "float"
    assert value(model, 0) == "96.74"
    assert value(model, 1) == "NameError: name 'nope' is not defined"
    assert (
        model.index(1, WatchColumn.VALUE).data(Qt.ItemDataRole.ForegroundRole)
        is not None
    )


def test_stale_result_is_ignored(model):
    """A result for an expression that was edited meanwhile is dropped."""
    model.set_expression(0, "record['id']")
    model.set_result(0, "record['amount']", EvalResult.failed("late"))

    assert value(model, 0) == ""


def test_add_row_adds_and_blank_removes(model, qtbot, path, qtmodeltester):
    """Typing in the last row adds a watch; clearing a watch removes it."""
    add_row = model.index(model.rowCount() - 1, WatchColumn.EXPRESSION)
    assert add_row.data() == watch_model.ADD_ROW_TEXT
    assert add_row.data(Qt.ItemDataRole.EditRole) == ""

    with qtbot.waitSignal(model.watch_changed) as blocker:
        assert model.setData(add_row, "  len(items)  ")
    assert blocker.args == [2, "len(items)"]

    model.setData(model.index(1, WatchColumn.EXPRESSION), "   ")

    assert model.expressions() == ["record['amount']", "len(items)"]
    assert WatchModel(path=path).expressions() == ["record['amount']", "len(items)"]
    qtmodeltester.check(model, force_py=True)


def test_clear_results_and_pending(model):
    """Pending rows show "evaluating", and clearing forgets every value."""
    model.set_pending(0)
    assert value(model, 0) == "evaluating…"

    model.clear_results()
    assert value(model, 0) == ""


def test_invalid_watch_file_is_ignored(path, caplog, qapp):
    """A corrupt watch file gives no watches and a warning."""
    path.write_text("{broken", encoding="utf-8")

    assert WatchModel(path=path).expressions() == []
    assert "Ignoring the watch file" in caplog.text
