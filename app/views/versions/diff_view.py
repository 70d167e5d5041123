"""Read-only view of a YAML diff: line numbers, +/- signs, coloured lines and keys."""

from __future__ import annotations

import logging
import re

from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QSyntaxHighlighter,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
)
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from app.models.yaml_diff import DiffLine, LineKind

logger = logging.getLogger(__name__)

KIND_ORDER = tuple(LineKind)
BACKGROUNDS = {
    LineKind.ADDED: QColor("#e6ffec"),
    LineKind.REMOVED: QColor("#ffebe9"),
    LineKind.HUNK: QColor("#ddf4ff"),
}
SIGN_COLORS = {
    LineKind.ADDED: QColor("#1a7f37"),
    LineKind.REMOVED: QColor("#cf222e"),
    LineKind.HUNK: QColor("#0969da"),
}
# Width of the "old new sign " gutter in characters.
GUTTER = 12
_KEY = re.compile(r"^(\s*(?:- )?)([^\s:#][^:#]*?)(:)(\s|$)")
_COMMENT = re.compile(r"(^|\s)#.*$")


def render(line: DiffLine) -> str:
    """Return one diff line as shown: old and new line numbers, sign, text."""
    if line.kind is LineKind.HUNK:
        return line.text
    old = "" if line.old_number is None else str(line.old_number)
    new = "" if line.new_number is None else str(line.new_number)
    return f"{old:>4} {new:>4} {line.kind.sign} {line.text}"


class YamlDiffHighlighter(QSyntaxHighlighter):
    """Colours the gutter, the +/- sign, YAML keys and comments of each block.

    The block's user state holds the index of its LineKind, set when the
    diff is shown, so highlighting one block needs no other block.
    """

    def __init__(self, document: QTextDocument):
        super().__init__(document)
        self._gutter = QTextCharFormat()
        self._gutter.setForeground(QColor("#8c959f"))
        self._key = QTextCharFormat()
        self._key.setForeground(QColor("#0550ae"))
        self._comment = QTextCharFormat()
        self._comment.setForeground(QColor("#6e7781"))
        self._comment.setFontItalic(True)

    def highlightBlock(self, text: str) -> None:  # noqa: N802
        """Override highlightBlock to colour one diff line."""
        state = self.currentBlockState()
        if not 0 <= state < len(KIND_ORDER):
            return
        kind = KIND_ORDER[state]
        if kind is LineKind.HUNK:
            hunk = QTextCharFormat()
            hunk.setForeground(SIGN_COLORS[kind])
            self.setFormat(0, len(text), hunk)
            return
        self.setFormat(0, GUTTER - 2, self._gutter)
        if kind in SIGN_COLORS:
            sign = QTextCharFormat()
            sign.setForeground(SIGN_COLORS[kind])
            sign.setFontWeight(QFont.Weight.Bold)
            self.setFormat(GUTTER - 2, 1, sign)
        body = text[GUTTER:]
        key = _KEY.match(body)
        if key:
            self.setFormat(GUTTER + key.start(2), len(key.group(2)), self._key)
        comment = _COMMENT.search(body)
        if comment:
            self.setFormat(
                GUTTER + comment.start(), len(comment.group(0)), self._comment
            )


class YamlDiffView(QPlainTextEdit):
    """Shows a list of DiffLines with a full-width background per line kind."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("yaml_diff_view")
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._highlighter = YamlDiffHighlighter(self.document())
        self._lines: list[DiffLine] = []

    @property
    def lines(self) -> list[DiffLine]:
        """The diff on display."""
        return list(self._lines)

    def set_diff(
        self, lines: list[DiffLine], *, empty_text: str = "No differences."
    ) -> None:
        """Show ``lines``; an empty diff shows ``empty_text``."""
        self._lines = list(lines)
        self.clear()
        if not lines:
            self.setPlainText(empty_text)
            return
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        for index, line in enumerate(lines):
            block_format = QTextBlockFormat()
            background = BACKGROUNDS.get(line.kind)
            if background is not None:
                block_format.setBackground(background)
            if index:
                cursor.insertBlock(block_format)
            else:
                cursor.setBlockFormat(block_format)
            cursor.insertText(render(line))
            cursor.block().setUserState(KIND_ORDER.index(line.kind))
        cursor.endEditBlock()
        # User states were set after the text, so highlight again with them.
        self._highlighter.rehighlight()
        self.moveCursor(QTextCursor.MoveOperation.Start)

    def block_kind(self, number: int) -> LineKind | None:
        """Return the kind of the line shown in block ``number``."""
        state = self.document().findBlockByNumber(number).userState()
        return KIND_ORDER[state] if 0 <= state < len(KIND_ORDER) else None
