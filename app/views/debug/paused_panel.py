"""Paused-job pane: where the selected job stopped, its data, and the variables tree."""

from __future__ import annotations

import logging

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.controllers.debugger import DebugState
from app.models.debug_records import PausePoint
from app.models.variables_model import VariableColumn, VariableRole, VariablesModel

logger = logging.getLogger(__name__)

_STATE_TEXTS = {
    DebugState.NONE: "Select a job to debug it.",
    DebugState.RUNNING: "Running…",
    DebugState.ENDED: "The job has ended.",
}
_REASONS = {"breakpoint": "at a breakpoint", "step": "after a step"}


class VariablesView(QTreeView):
    """The variables tree; keeps what the user expanded across pauses.

    Before the model resets (a new pause or frame) the view remembers the
    expressions of the expanded rows, and expands the rows with the same
    expressions as they reappear. Double-clicking a "more items" row loads
    the next page.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("variables_view")
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.header().setStretchLastSection(False)
        self._expanded: set[str] = set()
        self.doubleClicked.connect(self._on_double_clicked)

    def setModel(self, model: VariablesModel) -> None:  # type: ignore[override]  # noqa: N802
        """Extend setModel to track expansion across resets."""
        super().setModel(model)
        header = self.header()
        header.setSectionResizeMode(
            VariableColumn.NAME, QHeaderView.ResizeMode.Interactive
        )
        header.setSectionResizeMode(
            VariableColumn.VALUE, QHeaderView.ResizeMode.Stretch
        )
        header.setSectionResizeMode(
            VariableColumn.TYPE, QHeaderView.ResizeMode.Interactive
        )
        self.setColumnWidth(VariableColumn.NAME, 140)
        self.setColumnWidth(VariableColumn.TYPE, 90)
        model.modelAboutToBeReset.connect(self._on_model_about_to_be_reset)
        model.modelReset.connect(self._on_model_reset)
        model.rowsInserted.connect(self._on_model_rows_inserted)

    @Slot()
    def _on_model_about_to_be_reset(self) -> None:
        model = self.model()
        found: set[str] = set()
        pending = [QModelIndex()]
        while pending:
            parent = pending.pop()
            for row in range(model.rowCount(parent)):
                index = model.index(row, 0, parent)
                if self.isExpanded(index):
                    expression = index.data(VariableRole.EXPRESSION)
                    if expression:
                        found.add(expression)
                    pending.append(index)
        self._expanded = found

    @Slot()
    def _on_model_reset(self) -> None:
        self._expand_remembered(QModelIndex(), 0, self.model().rowCount() - 1)

    @Slot(QModelIndex, int, int)
    def _on_model_rows_inserted(
        self, parent: QModelIndex, first: int, last: int
    ) -> None:
        self._expand_remembered(parent, first, last)

    def _expand_remembered(self, parent: QModelIndex, first: int, last: int) -> None:
        if not self._expanded:
            return
        model = self.model()
        for row in range(first, last + 1):
            index = model.index(row, 0, parent)
            if index.data(VariableRole.EXPRESSION) in self._expanded:
                self.expand(QPersistentModelIndex(index))

    @Slot(QModelIndex)
    def _on_double_clicked(self, index: QModelIndex) -> None:
        if index.data(VariableRole.IS_MORE):
            self.model().load_more(index)


class PausedJobPanel(QWidget):
    """Shows the pause point of the selected job and the variables of the chosen frame."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(_STATE_TEXTS[DebugState.NONE], self)
        self.title.setObjectName("pause_title")
        self.title.setWordWrap(True)
        self.data_label = QLabel(self)
        self.data_label.setObjectName("pause_data")
        self.data_label.setFont(
            QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        )
        self.data_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        # A long preview must not widen the dock, so the label may be cut.
        self.data_label.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        self.data_label.hide()
        self.frame_label = QLabel(self)
        self.frame_label.setObjectName("frame_label")
        self.frame_label.hide()
        self.variables_view = VariablesView(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.data_label)
        layout.addWidget(self.frame_label)
        layout.addWidget(self.variables_view, 1)

    def set_model(self, model: VariablesModel) -> None:
        """Show ``model`` in the variables tree."""
        self.variables_view.setModel(model)

    @Slot(object)
    def set_state(self, state: DebugState) -> None:
        """Show the job's state while it is not paused; stale values are greyed out."""
        if state is not DebugState.PAUSED:
            self.title.setText(_STATE_TEXTS[state])
            self.data_label.hide()
            self.frame_label.hide()
        self.variables_view.setEnabled(state is DebugState.PAUSED)

    @Slot(object)
    def set_pause(self, pause: PausePoint | None) -> None:
        """Show where the job paused and the data there."""
        if pause is None or pause.frame is None:
            return
        frame = pause.frame
        reason = _REASONS.get(pause.reason or "", "")
        self.title.setText(f"<b>Paused</b> {reason} · {frame.describe()}")
        preview = frame.data["repr"]
        shown = preview if len(preview) <= 300 else preview[:300] + "…"
        self.data_label.setText(shown.replace("\n", " "))
        self.data_label.setToolTip(preview[:4000])
        self.data_label.show()
        self.variables_view.setEnabled(True)

    @Slot(int)
    def set_frame(self, index: int) -> None:
        """Say which frame's variables are shown when it is not the pause point."""
        self.frame_label.setText(
            f"Variables of frame {index}; only frame 0 can be edited."
        )
        self.frame_label.setVisible(index != 0)
