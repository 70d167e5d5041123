"""Nodes of the variables tree and the rules for showing and editing them.

A node stands for one value: a name visible at the frame, an item inside a
container, or the "more items" row at the end of a container whose preview
left items out. Children are built from the preview text on demand (see
``value_preview``). Nothing here uses Qt; ``VariablesModel`` adapts the
nodes for views.
"""

from __future__ import annotations

import logging
from typing import Any

from app.models import value_preview
from app.models.debug_records import Variable
from app.models.value_preview import Container, Item

logger = logging.getLogger(__name__)

NAME, VALUE, TYPE = 0, 1, 2  # columns, as VariableColumn numbers them
MAX_TOOL_TIP = 2000  # characters of a value shown in its tool tip


class VariableNode:
    """One row of the tree.

    Attributes:
        text: The value's repr as the server previewed it.
        length: Number of items or characters, when the server sent it.
        cut: Whether the server cut the text short.
        expression: An expression that evaluates to this value in the
            frame, used to ask the server for what the preview left out.
        path: Steps from the top-level name: ``("key", k)`` or
            ``("index", i)``, or None for a step an edit cannot follow.
        children: None until the row is expanded.
    """

    __slots__ = (
        "parent",
        "name",
        "text",
        "type",
        "length",
        "cut",
        "editable",
        "expression",
        "path",
        "children",
        "is_more",
        "loading",
        "error",
    )

    def __init__(
        self,
        parent: VariableNode | None,
        name: str,
        text: str,
        type_name: str = "",
        *,
        length: int | None = None,
        cut: bool = False,
        expression: str | None = None,
        path: tuple[Any, ...] = (),
    ) -> None:
        self.parent = parent
        self.name = name
        self.text = text
        self.type = type_name or value_preview.infer_type(text)
        self.length = length
        self.cut = cut
        self.editable = False
        self.expression = expression
        self.path = path
        self.children: list[VariableNode] | None = None
        self.is_more = False
        self.loading = False
        self.error: str | None = None

    def row(self) -> int:
        """Return the node's position among its siblings."""
        siblings = self.parent.children if self.parent is not None else None
        return siblings.index(self) if siblings else 0

    def top(self) -> VariableNode:
        """Return the top-level name this node belongs to."""
        node = self
        while node.parent is not None and node.parent.parent is not None:
            node = node.parent
        return node

    def kind(self) -> str | None:
        """Return the kind of container the value is, or None for a scalar."""
        return value_preview.container_kind(self.text, self.type)

    def expandable(self) -> bool:
        """Return whether the row has children or may get some when expanded."""
        if self.is_more:
            return False
        if self.children is not None:
            return bool(self.children)
        return self.kind() is not None

    def shown_items(self) -> int:
        """Return how many of the container's items are rows already."""
        return sum(1 for child in self.children or () if not child.is_more)

    def wants_more_row(self, shown: int, more: bool) -> bool:
        """Return whether a container that shows ``shown`` items needs a "more items" row."""
        if self.length is not None:
            return shown < self.length
        return more


def top_node(root: VariableNode, variable: Variable) -> VariableNode:
    """Return the node of a name visible at the frame."""
    preview = variable.preview
    node = VariableNode(
        root,
        variable.name,
        preview["repr"],
        variable.type,
        length=preview["length"],
        cut=preview["truncated"],
        expression=variable.name if variable.name.isidentifier() else None,
    )
    node.editable = variable.editable
    return node


def children(
    parent: VariableNode, container: Container, start: int
) -> list[VariableNode]:
    """Return nodes for ``container``'s items, numbered from ``start``."""
    kind = parent.kind() or container.kind
    return [
        child_node(parent, kind, item, start + offset)
        for offset, item in enumerate(container.items)
    ]


def child_node(parent: VariableNode, kind: str, item: Item, index: int) -> VariableNode:
    """Return the node of one item of ``parent``."""
    step: Any = None
    if kind == value_preview.DICT and item.key is not None:
        name = value_preview.key_label(item.key)
        ok, key = value_preview.literal(item.key)
        step = ("key", key) if ok else None
    elif kind == value_preview.OBJECT:
        name = item.key or ""
    elif kind in (value_preview.LIST, value_preview.TUPLE):
        name, step = f"[{index}]", ("index", index)
    else:
        name = ""
    expression = (
        value_preview.child_expression(parent.expression, kind, item, index)
        if parent.expression
        else None
    )
    return VariableNode(
        parent,
        name,
        item.text,
        cut=item.cut,
        expression=expression,
        path=parent.path + (step,),
    )


def more_node(parent: VariableNode) -> VariableNode:
    """Return the "more items" row of ``parent``."""
    node = VariableNode(parent, "…", "")
    node.is_more = True
    return node


def display(node: VariableNode, column: int) -> str:
    """Return the text of ``column`` for ``node``."""
    if column == NAME:
        return node.name
    if column == VALUE:
        if node.is_more:
            return _more_text(node)
        text = _one_line(node.text)
        if node.loading:
            return f"{text}  (loading…)"
        return f"{text}…" if node.cut and not text.endswith("...") else text
    if node.is_more:
        return ""
    if node.length is not None and (node.kind() or node.type in ("str", "bytes")):
        return f"{node.type} ({node.length:,})"
    return node.type


def tool_tip(node: VariableNode, column: int) -> str | None:
    """Return the tool tip of ``column`` for ``node``."""
    if node.error:
        return node.error
    if column == NAME:
        return node.expression
    if column == VALUE and not node.is_more:
        text = (
            node.text
            if len(node.text) <= MAX_TOOL_TIP
            else node.text[:MAX_TOOL_TIP] + "…"
        )
        if node.cut:
            text += "\n\n(The server cut this preview short.)"
        return text
    return None


def edit_root(node: VariableNode) -> VariableNode | None:
    """Return the editable top-level node that an edit of ``node`` changes, or None.

    An item inside a value is editable only when the whole value's preview
    is complete JSON data, because the server replaces the value as a whole.
    """
    if node.is_more or node.parent is None:
        return None
    top = node.top()
    if not top.editable:
        return None
    if node is top:
        return top
    if top.cut or any(step is None for step in node.path):
        return None
    ok, value = value_preview.literal(top.text)
    return top if ok and value_preview.is_json_data(value) else None


def edit_text(node: VariableNode) -> str:
    """Return the text an editor starts with: JSON when the value is JSON data."""
    if not node.cut:
        ok, value = value_preview.literal(node.text)
        if ok and value_preview.is_json_data(value):
            return value_preview.to_json_text(value)
    return node.text


def replaced(top: VariableNode, node: VariableNode, new_value: Any) -> Any:
    """Return ``top``'s whole value with ``node``'s item set to ``new_value``."""
    if node is top:
        return new_value
    _ok, value = value_preview.literal(top.text)
    target = value
    path = node.path[len(top.path) :]
    for _step, key in path[:-1]:
        target = target[key]
    target[path[-1][1]] = new_value
    return value


def _more_text(node: VariableNode) -> str:
    parent = node.parent
    if parent is None:
        return ""
    if node.loading:
        return "loading…"
    if node.error:
        return node.error
    remaining = (
        parent.length - parent.shown_items() if parent.length is not None else None
    )
    count = f"{remaining:,} more items" if remaining else "more items"
    loadable = parent.expression and parent.kind() in value_preview.INDEXABLE
    return f"{count} (double-click to load)" if loadable else f"{count} not shown"


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")
