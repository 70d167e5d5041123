"""The dry-run dialog: pick an entry point and params, run the check, read the result.

The dialog is modeless and never waits on the network in the Qt thread:
Run starts an asyncio task, and closing the dialog cancels it. The result
is listed here and drawn on the flow graph by whoever listens to
``result_ready``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QFontDatabase,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.controllers import notify
from app.models.dry_run import MAX_TIMEOUT_S, DryRunRequest, DryRunResult
from app.models.records import FlowInfo
from app.views.graph.dry_run_result import DryRunResultView

logger = logging.getLogger(__name__)

DryRunner = Callable[[str, DryRunRequest], Awaitable[DryRunResult]]

EXECUTE_WARNING = (
    "The routines will really run, with all their side effects: files they write, "
    "requests they send and records they change are real. Only the job itself is "
    "thrown away: it is not stored in the job history and sends no events."
)
_ERROR_STYLE = "color: #c53030;"
_OK_STYLE = "color: #2e7d32;"
_WARNING_STYLE = (
    "background: #fff4d6; border: 1px solid #d49a00; border-radius: 4px; padding: 6px;"
)


class DryRunDialog(QDialog):
    """Checks a flow from an entry routine and shows what the dry run found.

    Signals:
        result_ready(str, object): Flow id and DryRunResult of a finished run.
        finding_selected(str): The routine of a clicked finding or path step.
    """

    result_ready = Signal(str, object)
    finding_selected = Signal(str)

    def __init__(
        self,
        flows: Sequence[FlowInfo],
        runner: DryRunner,
        parent: QWidget | None = None,
        *,
        flow_id: str | None = None,
        validate_delay_ms: int = 150,
    ):
        super().__init__(parent)
        self.setObjectName("dry_run_dialog")
        self.setWindowTitle("Dry Run")
        self.resize(760, 720)
        self._flows = {flow.flow_id: flow for flow in flows}
        self._runner = runner
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._params: dict[str, Any] | None = {}
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(validate_delay_ms)
        self._validate_timer.timeout.connect(self.validate_now)

        self._build_inputs()
        self.result_view = DryRunResultView(self)
        self._build_layout()
        self._connect()

        index = self.flow_box.findData(flow_id) if flow_id else 0
        self.flow_box.setCurrentIndex(max(index, 0))
        self._on_flow_box_changed()
        self.validate_now()

    # -- building -----------------------------------------------------------------

    def _build_inputs(self) -> None:
        self.flow_box = QComboBox(self)
        for flow_id in self._flows:
            self.flow_box.addItem(flow_id, flow_id)
        self.routine_box = QComboBox(self)
        self.slot_box = QComboBox(self)

        self.params_edit = QPlainTextEdit(self)
        self.params_edit.setObjectName("dry_run_params")
        self.params_edit.setFont(
            QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        )
        self.params_edit.setPlaceholderText('{"records": 20}')
        self.params_edit.setPlainText("{}")
        self.params_edit.setTabChangesFocus(True)
        self.params_message = QLabel(self)
        self.params_message.setObjectName("dry_run_params_message")
        self.params_message.setWordWrap(True)

        self.timeout_box = QDoubleSpinBox(self)
        self.timeout_box.setRange(0.1, MAX_TIMEOUT_S)
        self.timeout_box.setDecimals(1)
        self.timeout_box.setValue(10.0)
        self.timeout_box.setSuffix(" s")
        self.timeout_box.setToolTip(
            "How long a run for real may take before it is stopped"
        )
        self.execute_box = QCheckBox("Run for real", self)
        self.execute_box.setToolTip("Run the routines, not only check the flow")
        self.execute_warning = QLabel(EXECUTE_WARNING, self)
        self.execute_warning.setObjectName("dry_run_execute_warning")
        self.execute_warning.setWordWrap(True)
        self.execute_warning.setStyleSheet(_WARNING_STYLE)
        self.execute_warning.setVisible(False)

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.setVisible(False)
        self.progress.setMaximumHeight(10)
        self.progress.setTextVisible(False)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("dry_run_error")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.setVisible(False)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.run_button = QPushButton("Run", self)
        self.run_button.setDefault(True)
        self.buttons.addButton(self.run_button, QDialogButtonBox.ButtonRole.ActionRole)

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Flow:", self.flow_box)
        form.addRow("Entry routine:", self.routine_box)
        form.addRow("Slot:", self.slot_box)
        form.addRow("Params (JSON object):", self.params_edit)
        form.addRow("", self.params_message)
        form.addRow("Timeout:", self.timeout_box)
        form.addRow("", self.execute_box)
        form.addRow("", self.execute_warning)
        inputs = QWidget(self)
        inputs.setLayout(form)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(inputs)
        splitter.addWidget(self.result_view)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def _connect(self) -> None:
        self.flow_box.currentIndexChanged.connect(self._on_flow_box_changed)
        self.routine_box.currentIndexChanged.connect(self._on_routine_box_changed)
        self.params_edit.textChanged.connect(self._validate_timer.start)
        self.execute_box.toggled.connect(self._on_execute_box_toggled)
        self.run_button.clicked.connect(self.run)
        self.buttons.rejected.connect(self.reject)
        self.result_view.routine_selected.connect(self.finding_selected)

    # -- inputs -------------------------------------------------------------------

    @property
    def flow(self) -> FlowInfo | None:
        """The flow picked."""
        return self._flows.get(self.flow_box.currentData())

    @Slot()
    def _on_flow_box_changed(self, *_args: object) -> None:
        flow = self.flow
        self.routine_box.blockSignals(True)
        self.routine_box.clear()
        if flow is not None:
            entries = [rid for rid in flow.entry_routines if rid in flow.routines]
            for rid in entries:
                self.routine_box.addItem(rid, rid)
            others = [rid for rid in flow.routines if rid not in entries]
            if entries and others:
                self.routine_box.insertSeparator(self.routine_box.count())
            for rid in others:
                self.routine_box.addItem(f"{rid} (not an entry routine)", rid)
        self.routine_box.blockSignals(False)
        self.routine_box.setCurrentIndex(0)
        self._on_routine_box_changed()

    @Slot()
    def _on_routine_box_changed(self, *_args: object) -> None:
        flow, rid = self.flow, self.routine_box.currentData()
        routine = flow.routines.get(rid) if flow is not None and rid else None
        self.slot_box.clear()
        slots = routine.slots if routine is not None else ()
        if not slots:
            self.slot_box.addItem("(the server's default)", None)
        for slot in slots:
            self.slot_box.addItem(slot, slot)
        preferred = slots[0] if len(slots) == 1 else "input"
        self.slot_box.setCurrentIndex(max(self.slot_box.findData(preferred), 0))
        self._update_run_button()

    @Slot(bool)
    def _on_execute_box_toggled(self, checked: bool) -> None:
        self.execute_warning.setVisible(checked)
        self.run_button.setText("Run for Real" if checked else "Run")

    @Slot()
    def validate_now(self) -> bool:
        """Check the params text now; show and mark the error; return whether it is valid."""
        self._validate_timer.stop()
        params, error, position = _parse_params(self.params_edit.toPlainText())
        self._mark_error(position)
        self._params = params
        if error is None:
            self.params_message.setText("Valid JSON object")
            self.params_message.setStyleSheet(_OK_STYLE)
        else:
            self.params_message.setText(error)
            self.params_message.setStyleSheet(_ERROR_STYLE)
        self._update_run_button()
        return error is None

    def _mark_error(self, position: int | None) -> None:
        selections = []
        if position is not None:
            selection = QTextEdit.ExtraSelection()
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(QColor("#c53030"))
            fmt.setBackground(QColor("#fde6e6"))
            selection.format = fmt
            cursor = QTextCursor(self.params_edit.document())
            length = len(self.params_edit.toPlainText())
            cursor.setPosition(min(position, max(length - 1, 0)))
            cursor.movePosition(
                QTextCursor.MoveOperation.NextCharacter, QTextCursor.MoveMode.KeepAnchor
            )
            selection.cursor = cursor
            selections.append(selection)
        self.params_edit.setExtraSelections(selections)

    def _update_run_button(self) -> None:
        ready = (
            self._params is not None
            and self.flow is not None
            and bool(self.routine_box.currentData())
            and not self.is_running
        )
        self.run_button.setEnabled(ready)

    def request(self) -> DryRunRequest | None:
        """Return the request the inputs describe, or None while they are invalid."""
        rid = self.routine_box.currentData()
        if self._params is None or not rid:
            return None
        return DryRunRequest(
            entry_routine_id=rid,
            entry_slot=self.slot_box.currentData(),
            entry_params=self._params,
            timeout=self.timeout_box.value(),
            execute=self.execute_box.isChecked(),
        )

    # -- running --------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        """Whether a dry run is in flight."""
        return self._task is not None and not self._task.done()

    @Slot()
    def run(self) -> None:
        """Start the dry run the inputs describe, unless one is in flight."""
        if not self.validate_now() or self.is_running:
            return
        request, flow = self.request(), self.flow
        if request is None or flow is None:
            return
        self._closing = False
        self._task = asyncio.ensure_future(self._run(flow.flow_id, request))

    async def _run(self, flow_id: str, request: DryRunRequest) -> None:
        self._set_busy(True)
        try:
            result = await self._runner(flow_id, request)
        except notify.NETWORK_ERRORS as exc:
            self.error_label.setText(f"The dry run failed: {notify.describe(exc)}")
            self.error_label.setVisible(True)
            return
        finally:
            # After the dialog has closed its widgets may be gone.
            if not self._closing:
                self._set_busy(False)
        self.error_label.setVisible(False)
        self.result_view.show_result(result)
        self.result_ready.emit(flow_id, result)

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        for widget in (
            self.flow_box,
            self.routine_box,
            self.slot_box,
            self.execute_box,
        ):
            widget.setEnabled(not busy)
        if busy:
            self.run_button.setEnabled(False)
            self.run_button.setText("Running…")
        else:
            self._on_execute_box_toggled(self.execute_box.isChecked())
            self._task = None
            self._update_run_button()

    def done(self, result: int) -> None:
        """Extend done to cancel a dry run in flight when the dialog closes."""
        self._closing = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Extend closeEvent to cancel a dry run in flight."""
        self._closing = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super().closeEvent(event)


def _parse_params(text: str) -> tuple[dict[str, Any] | None, str | None, int | None]:
    """Parse the params text.

    Returns:
        (params, None, None) when ``text`` is a JSON object or blank, else
        (None, message, character position of the error or None).
    """
    if not text.strip():
        return {}, None, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"Line {exc.lineno}, column {exc.colno}: {exc.msg}", exc.pos
    except RecursionError:
        return None, "The JSON is nested too deeply", None
    if not isinstance(value, dict):
        kinds = {
            list: "a list",
            str: "a string",
            bool: "true or false",
            type(None): "null",
        }
        kind = kinds.get(type(value), "a number")
        return None, f"Params must be a JSON object ({{...}}), not {kind}", 0
    return value, None, None
