"""Python syntax highlighting for condition and expression editors, with pygments.

Qt highlights one text block (line) at a time and counts positions in
UTF-16 code units, while pygments counts code points. The highlighter lexes
each block on its own, converts every token's offsets to UTF-16 units, and
keeps a block state so a triple-quoted string that spans lines is lexed as
a string in the lines that follow.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)

logger = logging.getLogger(__name__)

# Block states: no open string, or inside a ''' or """ string.
STATE_NONE = -1
STATE_SINGLE_TRIPLE = 1
STATE_DOUBLE_TRIPLE = 2
_OPENERS = {STATE_SINGLE_TRIPLE: "'''", STATE_DOUBLE_TRIPLE: '"""'}

# Changes of more than this many characters count as a bulk edit (a paste
# or a replaced document), after which the whole document is highlighted
# again once the edits stop.
BULK_EDIT_CHARS = 200


def utf16_offsets(text: str) -> list[int]:
    """Return the UTF-16 position of each code point of ``text``, plus the end.

    ``offsets[i]`` is where code point ``i`` starts in Qt's terms; characters
    outside the Basic Multilingual Plane (most emoji) take two units.
    """
    offsets = [0] * (len(text) + 1)
    position = 0
    for index, char in enumerate(text):
        offsets[index] = position
        position += 2 if ord(char) > 0xFFFF else 1
    offsets[len(text)] = position
    return offsets


def _make_format(
    color: str, *, bold: bool = False, italic: bool = False
) -> QTextCharFormat:
    text_format = QTextCharFormat()
    text_format.setForeground(QColor(color))
    if bold:
        text_format.setFontWeight(QFont.Weight.Bold)
    if italic:
        text_format.setFontItalic(True)
    return text_format


class PythonHighlighter(QSyntaxHighlighter):
    """Highlights Python expressions in a QTextDocument, block by block."""

    def __init__(self, document: QTextDocument, *, rehighlight_delay_ms: int = 250):
        super().__init__(document)
        self._lexer: Any = None
        self._formats: dict[Any, QTextCharFormat] = {}
        self._bulk_timer = QTimer(self)
        self._bulk_timer.setSingleShot(True)
        self._bulk_timer.setInterval(rehighlight_delay_ms)
        self._bulk_timer.timeout.connect(self.rehighlight)
        document.contentsChange.connect(self._on_document_contents_change)

    def highlightBlock(self, text: str) -> None:  # noqa: N802
        """Override highlightBlock to format the block's pygments tokens."""
        previous = self.previousBlockState()
        prefix = _OPENERS.get(previous, "")
        offsets = utf16_offsets(text)
        for start, length, text_format in self._spans(prefix + text, len(prefix)):
            first, last = offsets[start], offsets[start + length]
            self.setFormat(first, last - first, text_format)
        self.setCurrentBlockState(self._end_state(prefix + text))

    # -- lexing --------------------------------------------------------------

    def _spans(
        self, text: str, skip: int
    ) -> Iterator[tuple[int, int, QTextCharFormat]]:
        """Yield ``(start, length, format)`` in code points of the block's own text."""
        lexer = self._python_lexer()
        for start, token_type, value in lexer.get_tokens_unprocessed(text):
            text_format = self._format_for(token_type)
            begin, end = max(start, skip), start + len(value)
            if text_format is None or end <= begin:
                continue
            yield begin - skip, end - begin, text_format

    def _python_lexer(self) -> Any:
        # pygments loads its lexer tables on first use, so it is imported
        # here rather than when the app starts.
        if self._lexer is None:
            from pygments.lexers import PythonLexer

            self._lexer = PythonLexer(stripnl=False, ensurenl=False)
        return self._lexer

    def _format_for(self, token_type: Any) -> QTextCharFormat | None:
        if token_type in self._formats:
            return self._formats[token_type]
        from pygments import token

        styles = (
            (token.Comment, _make_format("#6a737d", italic=True)),
            (token.Keyword, _make_format("#0b57d0", bold=True)),
            (token.Operator.Word, _make_format("#0b57d0", bold=True)),
            (token.Name.Builtin, _make_format("#7b3fb0")),
            (token.String, _make_format("#1a7f37")),
            (token.Number, _make_format("#b35900")),
            (token.Operator, _make_format("#5a5f66")),
            (token.Error, _make_format("#c53030")),
        )
        found = next((style for kind, style in styles if token_type in kind), None)
        self._formats[token_type] = found
        return found

    @staticmethod
    def _end_state(text: str) -> int:
        """Return whether ``text`` ends inside a triple-quoted string, and which."""
        state = STATE_NONE
        index = 0
        while index < len(text):
            if state == STATE_NONE:
                if text.startswith("'''", index):
                    state, index = STATE_SINGLE_TRIPLE, index + 3
                    continue
                if text.startswith('"""', index):
                    state, index = STATE_DOUBLE_TRIPLE, index + 3
                    continue
                quote = text[index]
                if quote in "'\"":
                    index = _skip_string(text, index, quote)
                    continue
                if quote == "#":
                    break
            elif text.startswith(_OPENERS[state], index):
                state, index = STATE_NONE, index + 3
                continue
            elif text[index] == "\\":
                index += 1
            index += 1
        return state

    @Slot(int, int, int)
    def _on_document_contents_change(
        self, _position: int, removed: int, added: int
    ) -> None:
        if removed + added > BULK_EDIT_CHARS:
            self._bulk_timer.start()


def _skip_string(text: str, start: int, quote: str) -> int:
    """Return the index after the one-line string that starts at ``start``."""
    index = start + 1
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            return index + 1
        index += 1
    return index
