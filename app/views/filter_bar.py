"""Filter bar above the jobs table: flow, status and time range."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QDateTime, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLabel,
    QWidget,
)

from app.models.job_filter import FilterState, TimePreset
from app.models.records import JOB_STATUSES, FlowInfo

logger = logging.getLogger(__name__)

_ANY = None


class FilterBar(QWidget):
    """Combo boxes for flow, status and time range, plus custom from/to fields.

    Signals:
        filter_changed(FilterState): The user changed a filter.
    """

    filter_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None, *, debounce_ms: int = 400):
        super().__init__(parent)
        self._flow_box = QComboBox(self)
        self._flow_box.setObjectName("flow_filter")
        self._flow_box.setMinimumContentsLength(14)
        self._flow_box.setToolTip("Show the jobs of one flow")
        self._flow_box.addItem("All flows", _ANY)

        self._status_box = QComboBox(self)
        self._status_box.setObjectName("status_filter")
        self._status_box.setToolTip("Show the jobs in one state")
        self._status_box.addItem("Any status", _ANY)
        for status in JOB_STATUSES:
            self._status_box.addItem(status.capitalize(), status)

        self._time_box = QComboBox(self)
        self._time_box.setObjectName("time_filter")
        self._time_box.setToolTip("Show the jobs created in a time range")
        for preset in TimePreset:
            self._time_box.addItem(preset.title, preset)

        self._from_edit = self._make_time_edit("custom_from", "Created at or after")
        self._to_edit = self._make_time_edit("custom_to", "Created before")
        self._to_label = QLabel("to", self)

        # Typing a date fires one change per keystroke, so custom times wait
        # for a pause before they filter.
        self._custom_timer = QTimer(self)
        self._custom_timer.setSingleShot(True)
        self._custom_timer.setInterval(debounce_ms)
        self._custom_timer.timeout.connect(self._emit_filter)

        self._build_layout()
        self._show_custom_fields(False)
        self._flow_box.currentIndexChanged.connect(self._on_box_current_index_changed)
        self._status_box.currentIndexChanged.connect(self._on_box_current_index_changed)
        self._time_box.currentIndexChanged.connect(
            self._on_time_box_current_index_changed
        )
        self._from_edit.dateTimeChanged.connect(self._on_custom_time_changed)
        self._to_edit.dateTimeChanged.connect(self._on_custom_time_changed)

    def _make_time_edit(self, name: str, tip: str) -> QDateTimeEdit:
        edit = QDateTimeEdit(self)
        edit.setObjectName(name)
        edit.setToolTip(f"{tip} this local time")
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        return edit

    def _build_layout(self) -> None:
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Flow", self))
        layout.addWidget(self._flow_box)
        layout.addSpacing(8)
        layout.addWidget(QLabel("Status", self))
        layout.addWidget(self._status_box)
        layout.addSpacing(8)
        layout.addWidget(QLabel("Created", self))
        layout.addWidget(self._time_box)
        layout.addWidget(self._from_edit)
        layout.addWidget(self._to_label)
        layout.addWidget(self._to_edit)
        layout.addStretch(1)

    # Public API

    def state(self) -> FilterState:
        """Return the filter the bar shows."""
        preset = self._time_box.currentData()
        custom = preset is TimePreset.CUSTOM
        return FilterState(
            flow_id=self._flow_box.currentData(),
            status=self._status_box.currentData(),
            time_preset=preset,
            custom_from=_to_utc(self._from_edit.dateTime()) if custom else None,
            custom_to=_to_utc(self._to_edit.dateTime()) if custom else None,
        )

    def set_state(self, state: FilterState) -> None:
        """Show ``state`` without emitting ``filter_changed``."""
        blockers = [
            self._flow_box,
            self._status_box,
            self._time_box,
            self._from_edit,
            self._to_edit,
        ]
        for widget in blockers:
            widget.blockSignals(True)
        try:
            if state.flow_id is not None and self._flow_box.findData(state.flow_id) < 0:
                # The flow list may not have loaded yet; keep the saved choice.
                self._flow_box.addItem(state.flow_id, state.flow_id)
            self._flow_box.setCurrentIndex(
                max(0, self._flow_box.findData(state.flow_id))
            )
            self._status_box.setCurrentIndex(
                max(0, self._status_box.findData(state.status))
            )
            self._time_box.setCurrentIndex(
                max(0, self._time_box.findData(state.time_preset))
            )
            self._set_custom_range(state.custom_from, state.custom_to)
        finally:
            for widget in blockers:
                widget.blockSignals(False)
        self._show_custom_fields(state.time_preset is TimePreset.CUSTOM)

    def set_flows(self, flows: Sequence[FlowInfo]) -> None:
        """Offer ``flows``; the current choice is kept when it still exists."""
        current = self._flow_box.currentData()
        self._flow_box.blockSignals(True)
        try:
            self._flow_box.clear()
            self._flow_box.addItem("All flows", _ANY)
            for flow in flows:
                self._flow_box.addItem(flow.flow_id, flow.flow_id)
                if flow.description:
                    index = self._flow_box.count() - 1
                    self._flow_box.setItemData(
                        index, flow.description, Qt.ItemDataRole.ToolTipRole
                    )
            if current is not None and self._flow_box.findData(current) < 0:
                self._flow_box.addItem(f"{current} (not loaded)", current)
            self._flow_box.setCurrentIndex(max(0, self._flow_box.findData(current)))
        finally:
            self._flow_box.blockSignals(False)

    def set_time_filter_supported(self, supported: bool) -> None:
        """Enable the time range, or disable it for servers that cannot filter by time."""
        self._time_box.setEnabled(supported)
        if supported:
            self._time_box.setToolTip("Show the jobs created in a time range")
            return
        self._time_box.setToolTip("This server can't filter jobs by creation time")
        if self._time_box.currentData() is not TimePreset.ANY:
            self._time_box.setCurrentIndex(self._time_box.findData(TimePreset.ANY))

    def focus_first(self) -> None:
        """Move the keyboard focus to the first filter."""
        self._flow_box.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # Slots

    @Slot(int)
    def _on_box_current_index_changed(self, _index: int) -> None:
        self._emit_filter()

    @Slot(int)
    def _on_time_box_current_index_changed(self, _index: int) -> None:
        custom = self._time_box.currentData() is TimePreset.CUSTOM
        if custom:
            self._set_custom_range(None, None)
        self._show_custom_fields(custom)
        self._emit_filter()

    @Slot(QDateTime)
    def _on_custom_time_changed(self, _value: QDateTime) -> None:
        self._custom_timer.start()

    @Slot()
    def _emit_filter(self) -> None:
        self._custom_timer.stop()
        self.filter_changed.emit(self.state())

    def _show_custom_fields(self, visible: bool) -> None:
        for widget in (self._from_edit, self._to_label, self._to_edit):
            widget.setVisible(visible)

    def _set_custom_range(self, start: datetime | None, end: datetime | None) -> None:
        # An empty custom range starts as the last 24 hours, a useful default
        # that the user then narrows.
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        start = start or now - timedelta(days=1)
        end = end or now + timedelta(minutes=1)
        for edit, value in ((self._from_edit, start), (self._to_edit, end)):
            blocked = edit.blockSignals(True)
            edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(value.timestamp())))
            edit.blockSignals(blocked)


def _to_utc(value: QDateTime) -> datetime:
    return datetime.fromtimestamp(value.toSecsSinceEpoch(), tz=UTC)
