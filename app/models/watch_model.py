"""Watch expressions: a table model of expressions and their values at the pause.

The expressions are kept between runs in ``watches.json`` in the app's
config folder (``OVERSEER_CONFIG_DIR`` when set, as for the window state).
The last row is a blank "add" row: typing an expression there adds a watch,
and clearing a watch's text removes it.
"""

from __future__ import annotations

import enum
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from app.models import columns, ui_state
from app.models.debug_records import EvalResult

logger = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex
SCHEMA_VERSION = 1
WATCH_FILE_NAME = "watches.json"
MAX_EXPRESSION_LENGTH = 2000  # the server's limit for an expression
ADD_ROW_TEXT = "Add expression…"
_ERROR = QColor("#c53030")
_MUTED = QColor("#7a7f87")


class WatchColumn(enum.IntEnum):
    """Columns of the watch table."""

    EXPRESSION = 0
    TYPE = 1
    VALUE = 2


COLUMN_TITLES = ("Expression", "Type", "Value")


def default_watch_path() -> Path:
    """Return the path of the watch file."""
    return ui_state.config_dir() / WATCH_FILE_NAME


def load_expressions(path: Path | None = None) -> list[str]:
    """Read the saved expressions, or return none when the file is missing or invalid."""
    path = path or default_watch_path()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        logger.warning("Ignoring the watch file %s: %s", path, exc)
        return []
    if (
        not isinstance(document, dict)
        or document.get("schema_version") != SCHEMA_VERSION
    ):
        logger.warning("Ignoring the watch file %s: unknown schema", path)
        return []
    expressions = document.get("expressions")
    if not isinstance(expressions, list):
        return []
    return [text for text in expressions if isinstance(text, str) and text.strip()]


def save_expressions(expressions: Iterable[str], path: Path | None = None) -> None:
    """Write the expressions atomically; a failure is logged, not raised."""
    path = path or default_watch_path()
    temporary = path.with_name(path.name + ".tmp")
    document = {"schema_version": SCHEMA_VERSION, "expressions": list(expressions)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(
            json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        os.replace(temporary, path)
    except OSError as exc:
        logger.warning("Couldn't save the watch file %s: %s", path, exc)


@dataclass
class _Watch:
    expression: str
    type: str = ""
    value: str = ""
    error: str | None = None
    pending: bool = False


class WatchModel(QAbstractTableModel):
    """Watch expressions with the type and value (or error) of each at the pause.

    Signals:
        watch_changed(int, str): A row and its new expression, after an add
            or an edit; the controller evaluates it when a job is paused.
        expressions_changed(list): Every expression, after any change.
    """

    watch_changed = Signal(int, str)
    expressions_changed = Signal(list)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        path: Path | None = None,
        autosave: bool = True,
    ):
        super().__init__(parent)
        self._path = path
        self._autosave = autosave
        self._watches = (
            [_Watch(text) for text in load_expressions(path)] if autosave else []
        )

    # -- public API ---------------------------------------------------------

    def expressions(self) -> list[str]:
        """Return every watch expression in order."""
        return [watch.expression for watch in self._watches]

    def add_expression(self, expression: str) -> int | None:
        """Append a watch and return its row, or None for blank text."""
        text = _clean(expression)
        if not text:
            return None
        row = len(self._watches)
        self.beginInsertRows(QModelIndex(), row, row)
        self._watches.append(_Watch(text))
        self.endInsertRows()
        self._announce(row)
        return row

    def set_expression(self, row: int, expression: str) -> None:
        """Replace the expression of ``row``; blank text removes the watch."""
        text = _clean(expression)
        if not 0 <= row < len(self._watches):
            return
        if not text:
            self.remove_rows([row])
            return
        if text == self._watches[row].expression:
            return
        self._watches[row] = _Watch(text)
        self._row_changed(row)
        self._announce(row)

    def remove_rows(self, rows: Iterable[int]) -> None:
        """Remove the watches at ``rows``."""
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._watches):
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._watches[row]
                self.endRemoveRows()
        self._save()

    def set_pending(self, row: int) -> None:
        """Mark ``row`` as being evaluated."""
        if 0 <= row < len(self._watches):
            self._watches[row].pending = True
            self._row_changed(row)

    def set_result(self, row: int, expression: str, result: EvalResult) -> None:
        """Show ``result`` for ``row``, unless its expression changed meanwhile."""
        if (
            not 0 <= row < len(self._watches)
            or self._watches[row].expression != expression
        ):
            return
        watch = self._watches[row]
        watch.pending = False
        watch.error = result.error
        watch.type = (result.type or "") if result.ok else ""
        watch.value = (result.result or {}).get("repr", "") if result.ok else ""
        self._row_changed(row)

    def clear_results(self) -> None:
        """Forget every value, when no job is paused."""
        for watch in self._watches:
            watch.type, watch.value, watch.error, watch.pending = "", "", None, False
        if self._watches:
            self.dataChanged.emit(
                self.index(0, 0),
                self.index(len(self._watches) - 1, len(WatchColumn) - 1),
            )

    def is_add_row(self, row: int) -> bool:
        """Return whether ``row`` is the blank row that adds a watch."""
        return row == len(self._watches)

    # -- Qt model interface -----------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override rowCount: the watches and the "add" row."""
        return 0 if parent.isValid() else len(self._watches) + 1

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override columnCount: only the root has columns."""
        return 0 if parent.isValid() else len(WatchColumn)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Override flags: expressions can be edited in place."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == WatchColumn.EXPRESSION:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override data with expressions, types and values or errors."""
        if not index.isValid() or not 0 <= index.row() <= len(self._watches):
            return None
        if self.is_add_row(index.row()):
            return self._add_row_data(index.column(), role)
        watch = self._watches[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._display(watch, column, role)
        if role == Qt.ItemDataRole.ToolTipRole and column == WatchColumn.VALUE:
            return watch.error or watch.value[:2000] or None
        if role == Qt.ItemDataRole.ForegroundRole and column == WatchColumn.VALUE:
            if watch.error:
                return _ERROR
            return _MUTED if watch.pending else None
        return None

    def setData(
        self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        """Override setData: edit an expression, or add one in the last row."""
        if (
            not index.isValid()
            or role != Qt.ItemDataRole.EditRole
            or index.column() != WatchColumn.EXPRESSION
        ):
            return False
        if self.is_add_row(index.row()):
            return self.add_expression(str(value)) is not None
        self.set_expression(index.row(), str(value))
        return True

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override headerData with the column titles."""
        return columns.column_title(COLUMN_TITLES, section, orientation, role)

    # -- helpers -------------------------------------------------------------------

    @staticmethod
    def _display(watch: _Watch, column: int, role: int) -> str:
        if column == WatchColumn.EXPRESSION:
            return watch.expression
        if column == WatchColumn.TYPE:
            return watch.type
        if watch.pending and role == Qt.ItemDataRole.DisplayRole:
            return "evaluating…"
        return (watch.error or watch.value).replace("\n", " ")

    @staticmethod
    def _add_row_data(column: int, role: int) -> Any:
        if column != WatchColumn.EXPRESSION:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return ADD_ROW_TEXT
        if role == Qt.ItemDataRole.EditRole:
            return ""
        if role == Qt.ItemDataRole.ForegroundRole:
            return _MUTED
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setItalic(True)
            return font
        return None

    def _row_changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(WatchColumn) - 1))

    def _announce(self, row: int) -> None:
        self._save()
        self.watch_changed.emit(row, self._watches[row].expression)

    def _save(self) -> None:
        if self._autosave:
            save_expressions(self.expressions(), self._path)
        self.expressions_changed.emit(self.expressions())


def _clean(expression: str) -> str:
    return expression.strip()[:MAX_EXPRESSION_LENGTH]
