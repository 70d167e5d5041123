"""Tree model of a paused job's variables, expanded lazily from the server's previews.

The top level lists the names visible at the selected frame. A container
value gets its children only when the view expands it: they are read from
the preview text (see ``value_preview``). Where the preview left items out,
the model asks for them with ``fetch_requested``: the whole value again when
its nesting was elided (``{...}``), or the next page of items when the user
activates the "more items" row. The controller answers with ``supply``.
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

from app.models import value_preview
from app.models.debug_records import EvalResult, Variable
from app.models.value_preview import Item

logger = logging.getLogger(__name__)

_Index = QModelIndex | QPersistentModelIndex
PAGE_SIZE = 100
_MUTED = QColor("#7a7f87")
_ERROR = QColor("#c53030")


class VariableColumn(enum.IntEnum):
    """Columns of the variables tree."""

    NAME = 0
    VALUE = 1
    TYPE = 2


COLUMN_TITLES = ("Name", "Value", "Type")


class VariableRole(enum.IntEnum):
    """Custom data roles of VariablesModel."""

    EXPRESSION = Qt.ItemDataRole.UserRole  # an expression for the value, or None
    IS_MORE = Qt.ItemDataRole.UserRole + 1  # the "more items" row


class _Node:
    """One row of the tree. ``children`` is None until the row is expanded."""

    __slots__ = (
        "parent", "name", "text", "type", "length", "cut", "editable",
        "expression", "path", "children", "is_more", "loading", "error",
    )  # fmt: skip

    def __init__(self, parent: _Node | None, name: str, text: str, type_name: str,
                 *, length: int | None = None, cut: bool = False,
                 expression: str | None = None, path: tuple[Any, ...] = ()) -> None:  # fmt: skip
        self.parent = parent
        self.name = name
        self.text = text
        self.type = type_name or value_preview.infer_type(text)
        self.length = length
        self.cut = cut
        self.editable = False
        self.expression = expression
        self.path = path
        self.children: list[_Node] | None = None
        self.is_more = False
        self.loading = False
        self.error: str | None = None

    def row(self) -> int:
        siblings = self.parent.children if self.parent is not None else None
        return siblings.index(self) if siblings else 0

    def root(self) -> _Node:
        node = self
        while node.parent is not None and node.parent.parent is not None:
            node = node.parent
        return node

    def expandable(self) -> bool:
        if self.is_more:
            return False
        if self.children is not None:
            return bool(self.children)
        return value_preview.container_kind(self.text, self.type) is not None

    def shown_items(self) -> int:
        return sum(1 for child in self.children or () if not child.is_more)


class VariablesModel(QAbstractItemModel):
    """The variables of one frame as a lazily expanded tree.

    Values of editable names (and, when such a value's preview is complete
    JSON data, the items inside it) accept edits as JSON text. An edit does
    not change the model: it asks the controller with ``edit_requested``,
    which sends it to the server and reloads the variables.

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
        self._root = _Node(None, "", "", "")
        self._root.children = []
        self._requests: dict[int, tuple[_Node, str, int]] = {}
        self._request_ids = itertools.count(1)
        self.frame_index = 0

    # -- public API -------------------------------------------------------------

    def set_variables(self, variables: Sequence[Variable], frame_index: int = 0) -> None:
        """Show ``variables`` of frame ``frame_index``, collapsed."""
        self.beginResetModel()
        self._requests.clear()
        self.frame_index = frame_index
        self._root.children = [self._top_node(variable) for variable in variables]
        for node in self._root.children:
            node.parent = self._root
        self.endResetModel()

    def clear(self) -> None:
        """Remove every variable."""
        self.set_variables([], 0)

    def names(self) -> list[str]:
        """Return the top-level names in order."""
        return [node.name for node in self._root.children or ()]

    def find(self, name: str) -> QModelIndex:
        """Return the index of top-level ``name`` in the value column, or an invalid one."""
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
        kind = value_preview.container_kind(parent.text, parent.type)
        start = parent.shown_items()
        expression = (
            value_preview.page_expression(parent.expression, kind, start, PAGE_SIZE)
            if parent.expression and kind
            else None
        )
        if expression is None:
            return False
        node.loading, node.error = True, None
        self._changed(node)
        self._request(parent, "page", expression, start)
        return True

    def supply(self, request_id: int, result: EvalResult) -> None:
        """Apply the evaluation that answers ``fetch_requested``; stale answers are dropped."""
        request = self._requests.pop(request_id, None)
        if request is None:
            return
        node, mode, start = request
        if mode == "expand":
            self._apply_expand(node, result)
        else:
            self._apply_page(node, result, start)

    # -- Qt model interface -------------------------------------------------------

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        """Override index for the node tree."""
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        node = self._node(parent) if parent.isValid() else self._root
        children = node.children if node is not None else None
        if children is None or not 0 <= row < len(children) or not 0 <= column < len(VariableColumn):
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
        if container is None or (node.cut and not container.items):
            if node.expression:
                node.loading = True
                self._changed(node)
                self._request(node, "expand", node.expression, 0)
            else:
                self._set_children(node, [], more=False)
            return
        self._set_children(node, self._children(node, container, 0), container.more)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Override flags: values of editable names can be edited."""
        node = self._node(index)
        if node is None:
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == VariableColumn.VALUE and self._edit_root(node) is not None:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override data with names, value previews and types."""
        node = self._node(index)
        if node is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(node, column)
        if role == Qt.ItemDataRole.EditRole:
            return self._edit_text(node) if column == VariableColumn.VALUE else None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tool_tip(node, column)
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

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """Override setData: parse the edit as JSON and request the change."""
        node = self._node(index)
        if node is None or role != Qt.ItemDataRole.EditRole or index.column() != VariableColumn.VALUE:
            return False
        root = self._edit_root(node)
        if root is None:
            return False
        try:
            new_value = value_preview.parse_json_value(str(value))
        except ValueError as exc:
            self.edit_failed.emit(root.name, str(exc))
            return False
        if node is not root:
            new_value = self._replaced(root, node.path[len(root.path):], new_value)
        self.edit_requested.emit(root.name, new_value)
        return True

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # fmt: skip
        """Override headerData with the column titles."""
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(COLUMN_TITLES)):  # fmt: skip
            return COLUMN_TITLES[section]
        return None

    # -- building nodes -----------------------------------------------------

    def _node(self, index: _Index) -> _Node | None:
        if not index.isValid() or index.model() is not self:
            return None
        node = index.internalPointer()
        return node if isinstance(node, _Node) else None

    @staticmethod
    def _top_node(variable: Variable) -> _Node:
        preview = variable.preview
        expression = variable.name if variable.name.isidentifier() else None
        node = _Node(None, variable.name, preview["repr"], variable.type,
                     length=preview["length"], cut=preview["truncated"],
                     expression=expression)  # fmt: skip
        node.editable = variable.editable
        return node

    def _children(self, node: _Node, container: value_preview.Container, start: int) -> list[_Node]:
        children = []
        for offset, item in enumerate(container.items):
            children.append(self._child(node, container.kind, item, start + offset))
        return children

    @staticmethod
    def _child(parent: _Node, kind: str, item: Item, index: int) -> _Node:
        if kind == value_preview.DICT and item.key is not None:
            name = value_preview.key_label(item.key)
            ok, key = value_preview.literal(item.key)
            step: Any = ("key", key) if ok else None
        elif kind == value_preview.OBJECT:
            name, step = item.key or "", None
        elif kind in (value_preview.LIST, value_preview.TUPLE):
            name, step = f"[{index}]", ("index", index)
        else:
            name, step = "", None
        expression = (
            value_preview.child_expression(parent.expression, kind, item, index)
            if parent.expression
            else None
        )
        path = parent.path + (step,)
        node = _Node(parent, name, item.text, "", cut=item.cut, expression=expression, path=path)
        return node

    @staticmethod
    def _more_node(parent: _Node) -> _Node:
        node = _Node(parent, "…", "", "")
        node.is_more = True
        return node

    def _more_text(self, node: _Node) -> str:
        parent = node.parent
        if parent is None:
            return ""
        if node.loading:
            return "loading…"
        if node.error:
            return node.error
        remaining = (parent.length - parent.shown_items()) if parent.length is not None else None
        count = f"{remaining:,} more items" if remaining else "more items"
        kind = value_preview.container_kind(parent.text, parent.type)
        loadable = parent.expression and kind in value_preview.INDEXABLE
        return f"{count} (double-click to load)" if loadable else f"{count} not shown"

    def _set_children(self, node: _Node, children: list[_Node], more: bool) -> None:
        if self._wants_more_row(node, len(children), more):
            children.append(self._more_node(node))
        index = self._index_of(node)
        if children:
            self.beginInsertRows(index, 0, len(children) - 1)
            node.children = children
            self.endInsertRows()
        else:
            node.children = children
        self._changed(node)

    @staticmethod
    def _wants_more_row(node: _Node, shown: int, more: bool) -> bool:
        if node.length is not None:
            return shown < node.length
        return more

    def _index_of(self, node: _Node, column: int = 0) -> QModelIndex:
        if node is self._root or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.row(), column, node)

    def _changed(self, node: _Node) -> None:
        if node is self._root or node.parent is None:
            return
        first = self._index_of(node, 0)
        last = self._index_of(node, len(VariableColumn) - 1)
        self.dataChanged.emit(first, last)

    def _request(self, node: _Node, mode: str, expression: str, start: int) -> None:
        request_id = next(self._request_ids)
        self._requests[request_id] = (node, mode, start)
        self.fetch_requested.emit(request_id, expression)

    # -- answers from the server --------------------------------------------

    def _alive(self, node: _Node) -> bool:
        while node.parent is not None:
            if node not in (node.parent.children or ()):
                return False
            node = node.parent
        return node is self._root

    def _apply_expand(self, node: _Node, result: EvalResult) -> None:
        if not self._alive(node):
            return
        node.loading = False
        if not result.ok or result.result is None:
            node.error = result.error or "no value"
            self._set_children(node, [], more=False)
            return
        preview = result.result
        node.text, node.type = preview["repr"], result.type or preview["type"]
        node.length, node.cut, node.error = preview["length"], preview["truncated"], None
        container = value_preview.split(node.text, node.type)
        if container is None:
            self._set_children(node, [], more=False)
            return
        self._set_children(node, self._children(node, container, 0), container.more)

    def _apply_page(self, parent: _Node, result: EvalResult, start: int) -> None:
        if not self._alive(parent) or parent.children is None or not parent.children:
            return
        more_node = parent.children[-1]
        more_node.loading = False
        container = None
        if result.ok and result.result is not None:
            container = value_preview.split(result.result["repr"], result.result["type"])
        if container is None or not container.items:
            more_node.error = result.error or "the server returned no more items"
            self._changed(more_node)
            return
        more_node.error = None
        kind = value_preview.container_kind(parent.text, parent.type) or container.kind
        items = [item for item in container.items if not item.cut] or list(container.items[:1])
        new_nodes = [self._child(parent, kind, item, start + i) for i, item in enumerate(items)]
        at = len(parent.children) - 1
        self.beginInsertRows(self._index_of(parent), at, at + len(new_nodes) - 1)
        parent.children[at:at] = new_nodes
        self.endInsertRows()
        # A child container's length is unknown, so a full page suggests more.
        more = container.more or len(container.items) >= PAGE_SIZE
        if not self._wants_more_row(parent, parent.shown_items(), more):
            row = len(parent.children) - 1
            self.beginRemoveRows(self._index_of(parent), row, row)
            parent.children.pop()
            self.endRemoveRows()
        else:
            self._changed(more_node)

    # -- display and editing ---------------------------------------------------

    def _display(self, node: _Node, column: int) -> str:
        if column == VariableColumn.NAME:
            return node.name
        if column == VariableColumn.VALUE:
            if node.is_more:
                return self._more_text(node)
            if node.loading:
                return f"{_one_line(node.text)}  (loading…)"
            text = _one_line(node.text)
            return f"{text}…" if node.cut and not text.endswith("...") else text
        if node.is_more:
            return ""
        kind = value_preview.container_kind(node.text, node.type)
        if node.length is not None and (kind or node.type in ("str", "bytes")):
            return f"{node.type} ({node.length:,})"
        return node.type

    def _tool_tip(self, node: _Node, column: int) -> str | None:
        if node.error:
            return node.error
        if column == VariableColumn.NAME:
            return node.expression
        if column == VariableColumn.VALUE and not node.is_more:
            text = node.text if len(node.text) <= 2000 else node.text[:2000] + "…"
            if node.cut:
                text += "\n\n(The server cut this preview short.)"
            return text
        return None

    def _edit_root(self, node: _Node) -> _Node | None:
        """Return the editable top-level node an edit of ``node`` changes, or None."""
        if node.is_more or node.parent is None:
            return None
        root = node.root()
        if not root.editable:
            return None
        if node is root:
            return root
        if root.cut or any(step is None for step in node.path):
            return None
        ok, value = value_preview.literal(root.text)
        return root if ok and value_preview.is_json_data(value) else None

    def _edit_text(self, node: _Node) -> str:
        if not node.cut:
            ok, value = value_preview.literal(node.text)
            if ok and value_preview.is_json_data(value):
                return value_preview.to_json_text(value)
        return node.text

    @staticmethod
    def _replaced(root: _Node, path: tuple[Any, ...], new_value: Any) -> Any:
        _ok, value = value_preview.literal(root.text)
        if not path:
            return new_value
        target = value
        for _kind, key in path[:-1]:
            target = target[key]
        target[path[-1][1]] = new_value
        return value


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")
