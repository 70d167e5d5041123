"""Tests for the pygments highlighter of condition editors."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QPlainTextEdit

from app.views.debug.highlighter import PythonHighlighter, utf16_offsets

pytestmark = pytest.mark.qt_log_level_fail("WARNING")

STRING, KEYWORD, BUILTIN, NUMBER, COMMENT = (
    "#1a7f37",
    "#0b57d0",
    "#7b3fb0",
    "#b35900",
    "#6a737d",
)


def formats(document, block_number=0):
    block = document.findBlockByNumber(block_number)
    return [
        (item.start, item.length, item.format.foreground().color().name())
        for item in block.layout().formats()
    ]


def colors_of(document, block_number, substring):
    """Return the colours Qt gives the UTF-16 units of ``substring`` in a block."""
    text = document.findBlockByNumber(block_number).text()
    index = text.index(substring)
    start = len(text[:index].encode("utf-16-le")) // 2
    end = start + len(substring.encode("utf-16-le")) // 2
    colors = set()
    for unit in range(start, end):
        covering = [
            c for s, n, c in formats(document, block_number) if s <= unit < s + n
        ]
        colors.add(covering[0] if covering else None)
    return colors


@pytest.fixture
def document(qtbot):
    # A document only reports changes to its highlighter once it has a
    # layout, so it lives in the editor widget the app uses.
    editor = QPlainTextEdit()
    qtbot.addWidget(editor)
    highlighter = PythonHighlighter(editor.document())
    yield editor.document()
    assert highlighter.document() is editor.document()


def test_utf16_offsets_count_surrogate_pairs():
    """Characters outside the BMP take two UTF-16 units."""
    assert utf16_offsets("a😀b") == [0, 1, 3, 4]
    assert utf16_offsets("") == [0]


def test_tokens_after_emoji_line_up(document):
    """Keywords, strings and numbers after emoji are formatted where they are."""
    document.setPlainText("name == '😀🎉' and len(x) > 3 # née 👋")

    assert colors_of(document, 0, "'😀🎉'") == {STRING}
    assert colors_of(document, 0, "and") == {KEYWORD}
    assert colors_of(document, 0, "len") == {BUILTIN}
    assert colors_of(document, 0, "3") == {NUMBER}
    assert colors_of(document, 0, "# née 👋") == {COMMENT}
    assert colors_of(document, 0, "name") == {None}


def test_triple_quoted_string_spans_blocks(document):
    """A string opened on one line is still a string on the next."""
    document.setPlainText("x == '''first 😀\nsecond''' and y")

    assert colors_of(document, 1, "second'''") == {STRING}
    assert colors_of(document, 1, "and") == {KEYWORD}
    assert document.findBlockByNumber(0).userState() == 1
    assert document.findBlockByNumber(1).userState() == -1


def test_editing_a_block_rehighlights_incrementally(document):
    """Typing into one block changes only that block's formats."""
    document.setPlainText("a == 1\nb == 'x'")
    before = formats(document, 1)

    cursor = QTextCursor(document.findBlockByNumber(0))
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
    cursor.insertText(" and 😀 is None")

    assert formats(document, 1) == before
    assert colors_of(document, 0, "None") == {KEYWORD}
    assert colors_of(document, 0, "is") == {KEYWORD}
