"""Editor for a breakpoint condition: Python highlighting and syntax checks as you type.

The text is checked with ``ast.parse(text, mode="eval")`` on every change,
so ``validity_changed`` is current at once. The red wavy underline and the
message appear only after typing pauses, so a half-typed word is not
flagged. The server checks more rules (no names starting with ``_``, no
lambdas, ...); its 422 answer is shown in the same place with
``show_error``.
"""

from __future__ import annotations

import ast
import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from app.views.debug.highlighter import PythonHighlighter, utf16_offsets

logger = logging.getLogger(__name__)

MAX_LENGTH = 2000  # the server's limit for a condition
_ERROR_COLOR = QColor("#c53030")


@dataclass(frozen=True)
class SyntaxProblem:
    """The position and message of a syntax error in an expression.

    Attributes:
        line: 1-based line.
        column: 1-based column in code points, as Python and the server count.
    """

    message: str
    line: int = 1
    column: int = 1

    def describe(self, multiline: bool = False) -> str:
        """Return ``Column 4: invalid syntax``, with the line when there are several."""
        where = (
            f"Line {self.line}, column {self.column}"
            if multiline
            else f"Column {self.column}"
        )
        return f"{where}: {self.message}"


def check_expression(text: str) -> SyntaxProblem | None:
    """Return why ``text`` is not a Python expression, or None; blank text is valid."""
    if not text.strip():
        return None
    if len(text) > MAX_LENGTH:
        return SyntaxProblem(f"longer than {MAX_LENGTH} characters", 1, MAX_LENGTH + 1)
    try:
        ast.parse(text, mode="eval")
    except SyntaxError as exc:
        line = exc.lineno or 1
        lines = text.split("\n")
        line_text = lines[line - 1] if line <= len(lines) else ""
        # Python reports offset 0 when the text ends too early.
        column = exc.offset if exc.offset and exc.offset > 0 else len(line_text) + 1
        return SyntaxProblem(exc.msg or "invalid syntax", line, column)
    except (ValueError, RecursionError, MemoryError) as exc:
        return SyntaxProblem(str(exc) or type(exc).__name__)
    return None


class ConditionEditor(QWidget):
    """A small Python editor with highlighting and an error line below it.

    Signals:
        validity_changed(bool): Whether the text parses, at every change.
        text_changed(str): The text, at every change.
    """

    validity_changed = Signal(bool)
    text_changed = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        placeholder: str = "",
        debounce_ms: int = 400,
    ):
        super().__init__(parent)
        self._problem: SyntaxProblem | None = None
        self._shown: SyntaxProblem | None = None
        self._valid = True

        self.edit = QPlainTextEdit(self)
        self.edit.setObjectName("condition_edit")
        self.edit.setTabChangesFocus(True)
        self.edit.setPlaceholderText(placeholder)
        self.edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        line_height = self.edit.fontMetrics().lineSpacing()
        self.edit.setFixedHeight(line_height * 3 + 14)
        self.highlighter = PythonHighlighter(self.edit.document())
        self.message = QLabel(self)
        self.message.setObjectName("condition_message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {_ERROR_COLOR.name()};")
        self.message.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.message.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.edit)
        layout.addWidget(self.message)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self._on_debounce_timeout)
        self.edit.textChanged.connect(self._on_edit_text_changed)

    # -- public API ----------------------------------------------------------

    def text(self) -> str:
        """Return the condition text."""
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        """Replace the text and show any error at once."""
        self.edit.setPlainText(text)
        self._debounce.stop()
        self._show(self._problem)

    @property
    def is_valid(self) -> bool:
        """Whether the text is blank or parses as a Python expression."""
        return self._valid

    @property
    def problem(self) -> SyntaxProblem | None:
        """The local syntax problem of the current text, or None."""
        return self._problem

    @property
    def shown_problem(self) -> SyntaxProblem | None:
        """The problem underlined and described below the editor, or None."""
        return self._shown

    def show_error(self, message: str, column: int | None, line: int = 1) -> None:
        """Show an error from the server, underlining ``column`` (1-based) when given."""
        self._debounce.stop()
        self._show(
            SyntaxProblem(message, line, column or 1), underline=column is not None
        )

    # -- internals --------------------------------------------------------------

    @Slot()
    def _on_edit_text_changed(self) -> None:
        text = self.text()
        self._problem = check_expression(text)
        valid = self._problem is None
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)
        self.text_changed.emit(text)
        if valid:
            self._debounce.stop()
            self._show(None)
        else:
            self._debounce.start()

    @Slot()
    def _on_debounce_timeout(self) -> None:
        self._show(self._problem)

    def _show(self, problem: SyntaxProblem | None, *, underline: bool = True) -> None:
        self._shown = problem
        if problem is None:
            self.message.hide()
            self.message.clear()
            self.edit.setExtraSelections([])
            return
        multiline = self.edit.document().blockCount() > 1
        self.message.setText(problem.describe(multiline))
        self.message.show()
        self.edit.setExtraSelections([self._underline(problem)] if underline else [])

    def _underline(self, problem: SyntaxProblem) -> QTextEdit.ExtraSelection:
        """Return a red wavy underline under the character at the problem's column."""
        document = self.edit.document()
        block = document.findBlockByNumber(max(problem.line - 1, 0))
        if not block.isValid():
            block = document.lastBlock()
        text = block.text()
        offsets = utf16_offsets(text)
        # A column past the end (text ended too early) marks the last character.
        index = min(max(problem.column - 1, 0), max(len(text) - 1, 0))
        start = block.position() + offsets[index]
        end = block.position() + (offsets[index + 1] if text else 0)

        cursor = QTextCursor(document)
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        selection = QTextEdit.ExtraSelection()
        selection.cursor = cursor
        char_format = QTextCharFormat()
        char_format.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        char_format.setUnderlineColor(_ERROR_COLOR)
        selection.format = char_format
        return selection

    def underlined_range(self) -> tuple[int, int] | None:
        """Return the underlined ``(start, end)`` document positions in UTF-16 units."""
        selections = self.edit.extraSelections()
        if not selections:
            return None
        cursor = selections[0].cursor
        return cursor.selectionStart(), cursor.selectionEnd()
