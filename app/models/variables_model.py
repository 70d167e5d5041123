"""Tree model of a paused job's variables, expanded lazily from the server's previews.

The top level lists the names visible at the selected frame. A container
value gets its children only when the view expands it, and they are read
from the preview text (see ``value_preview`` and ``variable_tree``). Where
the preview left items out, the model requests them with
``fetch_requested``: the whole value again when its nesting was elided
(``{...}``), or the next page of items when the user activates the "more
items" row. The controller passes each evaluation back with ``supply``.
"""

from __future__ import annotations

import enum
import itertools
import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from app.models import columns, value_preview, variable_tree
from app.models.debug_records import EvalResult, Variable
from app.models.variable_tree import VariableNode

logger = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex
PAGE_SIZE = 100  # items asked for per "more items" request
_MUTED = QColor("#7a7f87")
_ERROR = QColor("#c53030")
_EXPAND, _PAGE = "expand", "page"


class VariableColumn(enum.IntEnum):
    """Columns of the variables tree."""

    NAME = variable_tree.NAME
    VALUE = variable_tree.VALUE
    TYPE = variable_tree.TYPE


COLUMN_TITLES = ("Name", "Value", "Type")


class VariableRole(enum.IntEnum):
    """Custom data roles of VariablesModel."""

    EXPRESSION = Qt.ItemDataRole.UserRole  # an expression for the value, or None
    IS_MORE = Qt.ItemDataRole.UserRole + 1  # the "more items" row


class VariablesModel(QAbstractItemModel):
    """The variables of one frame as a lazily expanded tree.

    Values of editable names (and, when such a value's preview is complete
    JSON data, the items inside it) accept edits as JSON text. An edit does
    not change the model. It emits ``edit_requested``, and the controller
    sends the change to the server and reloads the variables.

    Attributes:
        frame_index: The frame the variables belong to.

    Signals:
        fetch_requested(int, str): Request id and an expression whose
            evaluation should be passed to ``supply``.
        edit_requested(str, object): A top-level name and its new JSON value.
        edit_failed(str, str): A name and why its edited text was rejected.
    """

    fetch_requested = Signal(int, str)
    edit_requested = Signal(str, object)
    edit_failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._root = VariableNode(None, "", "")
        self._root.children = []
        self._requests: dict[int, tuple[VariableNode, str, int]] = {}
        self._request_ids = itertools.count(1)
        self.frame_index = 0

    # -- public API -------------------------------------------------------------

    def set_variables(
        self, variables: Sequence[Variable], frame_index: int = 0
    ) -> None:
        """Show ``variables`` of frame ``frame_index``, collapsed."""
        self.beginResetModel()
        self._requests.clear()
        self.frame_index = frame_index
        self._root.children = [
            variable_tree.top_node(self._root, variable) for variable in variables
        ]
        self.endResetModel()

    def clear(self) -> None:
        """Remove every variable."""
        self.set_variables([], 0)

    def names(self) -> list[str]:
        """Return the top-level names in order."""
        return [node.name for node in self._root.children or ()]

    def find(self, name: str) -> QModelIndex:
        """Return the value-column index of top-level ``name``, or an invalid index."""
        for row, node in enumerate(self._root.children or ()):
            if node.name == name:
                return self.createIndex(row, VariableColumn.VALUE, node)
        return QModelIndex()

    def load_more(self, index: _Index) -> bool:
        """Ask for the next page of a container whose "more items" row is ``index``."""
        node = self._node(index)
        if node is None or not node.is_more or node.loading or node.parent is None:
            return False
        parent = node.parent
        kind, start = parent.kind(), parent.shown_items()
        if not parent.expression or kind is None:
            return False
        expression = value_preview.page_expression(
            parent.expression, kind, start, PAGE_SIZE
        )
        if expression is None:
            return False

        node.loading, node.error = True, None
        self._changed(node)
        self._request(parent, _PAGE, expression, start)
        return True

    def supply(self, request_id: int, result: EvalResult) -> None:
        """Apply the evaluation for a ``fetch_requested`` request, unless it is stale."""
        request = self._requests.pop(request_id, None)
        if request is None:
            return
        node, mode, start = request
        if mode == _EXPAND:
            self._apply_expand(node, result)
        else:
            self._apply_page(node, result, start)

    # -- Qt model interface -------------------------------------------------------

    def index(
        self,
        row: int,
        column: int,
        parent: _Index = QModelIndex(),  # noqa: B008
    ) -> QModelIndex:
        """Override index for the node tree."""
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        node = self._node(parent) if parent.isValid() else self._root
        children = node.children if node is not None else None
        if children is None or not 0 <= row < len(children):
            return QModelIndex()
        if not 0 <= column < len(VariableColumn):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        """Override parent for the node tree."""
        node = self._node(index)
        if node is None or node.parent is None or node.parent is self._root:
            return QModelIndex()
        return self.createIndex(node.parent.row(), 0, node.parent)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override rowCount: children appear once fetched."""
        if parent.isValid() and parent.column() != 0:
            return 0
        node = self._node(parent) if parent.isValid() else self._root
        return len(node.children or ()) if node is not None else 0

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Override columnCount: the same columns at every level."""
        return len(VariableColumn)

    def hasChildren(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        """Override hasChildren: containers have children before they are fetched."""
        if not parent.isValid():
            return bool(self._root.children)
        node = self._node(parent)
        return parent.column() == 0 and node is not None and node.expandable()

    def canFetchMore(self, parent: _Index) -> bool:
        """Override canFetchMore: a container row not yet expanded."""
        node = self._node(parent)
        return (
            node is not None
            and parent.column() == 0
            and node.children is None
            and not node.loading
            and node.expandable()
        )

    def fetchMore(self, parent: _Index) -> None:
        """Override fetchMore: read the children from the preview, or ask the server."""
        node = self._node(parent)
        if node is None or not self.canFetchMore(parent):
            return
        container = value_preview.split(node.text, node.type)
        if container is not None and (container.items or not node.cut):
            self._set_children(
                node, variable_tree.children(node, container, 0), container.more
            )
            return

        # The preview has no items to show: the nesting was elided or the
        # text was cut before the first item.
        if node.expression:
            node.loading = True
            self._changed(node)
            self._request(node, _EXPAND, node.expression, 0)
        else:
            self._set_children(node, [], more=False)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Override flags: values of editable names can be edited."""
        node = self._node(index)
        if node is None:
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == VariableColumn.VALUE and variable_tree.edit_root(node):
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override data with names, value previews and types."""
        node = self._node(index)
        if node is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return variable_tree.display(node, column)
        if role == Qt.ItemDataRole.EditRole:
            return (
                variable_tree.edit_text(node)
                if column == VariableColumn.VALUE
                else None
            )
        if role == Qt.ItemDataRole.ToolTipRole:
            return variable_tree.tool_tip(node, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if node.error:
                return _ERROR
            return _MUTED if node.is_more or column == VariableColumn.TYPE else None
        if role == Qt.ItemDataRole.FontRole and node.is_more:
            font = QFont()
            font.setItalic(True)
            return font
        if role == VariableRole.EXPRESSION:
            return node.expression
        if role == VariableRole.IS_MORE:
            return node.is_more
        return None

    def setData(
        self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        """Override setData: parse the edit as JSON and request the change."""
        node = self._node(index)
        if node is None or role != Qt.ItemDataRole.EditRole:
            return False
        top = (
            variable_tree.edit_root(node)
            if index.column() == VariableColumn.VALUE
            else None
        )
        if top is None:
            return False
        try:
            new_value = value_preview.parse_json_value(str(value))
        except ValueError as exc:
            self.edit_failed.emit(top.name, str(exc))
            return False
        self.edit_requested.emit(top.name, variable_tree.replaced(top, node, new_value))
        return True

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override headerData with the column titles."""
        return columns.column_title(COLUMN_TITLES, section, orientation, role)

    # -- helpers ---------------------------------------------------------------

    def _node(self, index: _Index) -> VariableNode | None:
        if not index.isValid() or index.model() is not self:
            return None
        node = index.internalPointer()
        return node if isinstance(node, VariableNode) else None

    def _index_of(self, node: VariableNode, column: int = 0) -> QModelIndex:
        if node is self._root or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.row(), column, node)

    def _changed(self, node: VariableNode) -> None:
        if node is self._root or node.parent is None:
            return
        first = self._index_of(node, 0)
        last = self._index_of(node, len(VariableColumn) - 1)
        self.dataChanged.emit(first, last)

    def _set_children(
        self, node: VariableNode, children: list[VariableNode], more: bool
    ) -> None:
        if node.wants_more_row(len(children), more):
            children.append(variable_tree.more_node(node))
        if children:
            self.beginInsertRows(self._index_of(node), 0, len(children) - 1)
            node.children = children
            self.endInsertRows()
        else:
            node.children = children
        self._changed(node)

    def _request(
        self, node: VariableNode, mode: str, expression: str, start: int
    ) -> None:
        request_id = next(self._request_ids)
        self._requests[request_id] = (node, mode, start)
        self.fetch_requested.emit(request_id, expression)

    def _alive(self, node: VariableNode) -> bool:
        """Return whether ``node`` is still in the tree, which set_variables replaces."""
        while node.parent is not None:
            if node not in (node.parent.children or ()):
                return False
            node = node.parent
        return node is self._root

    # -- evaluations from the server --------------------------------------------

    def _apply_expand(self, node: VariableNode, result: EvalResult) -> None:
        if not self._alive(node):
            return
        node.loading = False
        preview = result.result
        if not result.ok or preview is None:
            node.error = result.error or "no value"
            self._set_children(node, [], more=False)
            return

        node.text, node.type = preview["repr"], result.type or preview["type"]
        node.length, node.cut, node.error = (
            preview["length"],
            preview["truncated"],
            None,
        )
        container = value_preview.split(node.text, node.type)
        if container is None:
            self._set_children(node, [], more=False)
            return
        self._set_children(
            node, variable_tree.children(node, container, 0), container.more
        )

    def _apply_page(self, parent: VariableNode, result: EvalResult, start: int) -> None:
        if not self._alive(parent) or not parent.children:
            return
        more_row = parent.children[-1]
        more_row.loading = False
        preview = result.result
        container = (
            value_preview.split(preview["repr"], preview["type"])
            if result.ok and preview is not None
            else None
        )
        if container is None or not container.items:
            more_row.error = result.error or "the server returned no more items"
            self._changed(more_row)
            return

        # An item cut at the end of the page comes whole with the next page,
        # unless it is the only item, which is then shown cut.
        items = [item for item in container.items if not item.cut] or [
            container.items[0]
        ]
        page = value_preview.Container(container.kind, tuple(items), container.more)
        new_rows = variable_tree.children(parent, page, start)
        at = len(parent.children) - 1
        self.beginInsertRows(self._index_of(parent), at, at + len(new_rows) - 1)
        parent.children[at:at] = new_rows
        self.endInsertRows()

        # A child container's length is unknown, so a full page suggests more.
        more = container.more or len(container.items) >= PAGE_SIZE
        if parent.wants_more_row(parent.shown_items(), more):
            more_row.error = None
            self._changed(more_row)
            return
        row = len(parent.children) - 1
        self.beginRemoveRows(self._index_of(parent), row, row)
        parent.children.pop()
        self.endRemoveRows()
