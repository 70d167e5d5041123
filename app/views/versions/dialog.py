"""Dialog that lists a flow's versions and shows the YAML diff between any two."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.controllers import notify
from app.controllers.flow_versions import FlowVersionsController
from app.controllers.tasks import TaskSet
from app.models import formatting
from app.models.flow_versions import FlowVersionList
from app.models.records import FlowInfo
from app.models.yaml_diff import diff_lines, diff_stats
from app.views.versions.diff_view import YamlDiffView

logger = logging.getLogger(__name__)

COLUMNS = ("Version", "First seen", "Content hash", "Source")


class FlowVersionsDialog(QDialog):
    """A flow's versions, newest first, and the difference between two of them.

    Choosing a row compares it with the version before it; the two combo
    boxes compare any pair. The older version is on the left of the diff.

    Signals:
        versions_loaded(object): The FlowVersionList on display.
        diff_shown(int, int): The old and new version now compared.
    """

    versions_loaded = Signal(object)
    diff_shown = Signal(int, int)

    def __init__(
        self,
        controller: FlowVersionsController,
        flows: Sequence[FlowInfo],
        parent: QWidget | None = None,
        *,
        flow_id: str | None = None,
        old: int | None = None,
        new: int | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("flow_versions_dialog")
        self.setWindowTitle("Flow Versions")
        self.resize(900, 640)
        self._controller = controller
        self._tasks = TaskSet()
        self._listing: FlowVersionList | None = None
        self._requested_pair = (old, new)
        self._generation = 0

        self.flow_box = QComboBox(self)
        self.flow_box.setObjectName("versions_flow_box")
        for flow in sorted(flows, key=lambda f: f.flow_id):
            self.flow_box.addItem(flow.flow_id, flow.flow_id)
        if flow_id is not None and self.flow_box.findData(flow_id) < 0:
            self.flow_box.addItem(flow_id, flow_id)
        self.reload_button = QPushButton("Reload", self)
        self.table = self._build_table()
        self.old_box = QComboBox(self)
        self.old_box.setObjectName("versions_old_box")
        self.new_box = QComboBox(self)
        self.new_box.setObjectName("versions_new_box")
        self.stats_label = QLabel(self)
        self.stats_label.setObjectName("versions_stats")
        self.status_label = QLabel(self)
        self.status_label.setObjectName("versions_status")
        self.status_label.setWordWrap(True)
        self.diff_view = YamlDiffView(self)
        self.dsl_view = QPlainTextEdit(self)
        self.dsl_view.setObjectName("versions_dsl_view")
        self.dsl_view.setReadOnly(True)
        self.dsl_view.setFont(self.diff_view.font())
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.diff_view, "Differences")
        self.tabs.addTab(self.dsl_view, "DSL")
        self._build_layout()

        if flow_id is not None:
            self.flow_box.setCurrentIndex(self.flow_box.findData(flow_id))
        self.flow_box.currentIndexChanged.connect(
            self._on_flow_box_current_index_changed
        )
        self.reload_button.clicked.connect(self.load)
        self.table.itemSelectionChanged.connect(self._on_table_item_selection_changed)
        self.old_box.activated.connect(self._on_compare_box_activated)
        self.new_box.activated.connect(self._on_compare_box_activated)

    def _build_table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS), self)
        table.setObjectName("versions_table")
        table.setHorizontalHeaderLabels(COLUMNS)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        table.setMaximumHeight(180)
        return table

    def _build_layout(self) -> None:
        top = QHBoxLayout()
        flow_label = QLabel("&Flow:", self)
        flow_label.setBuddy(self.flow_box)
        top.addWidget(flow_label)
        top.addWidget(self.flow_box, 1)
        top.addWidget(self.reload_button)
        compare = QHBoxLayout()
        compare.addWidget(QLabel("Compare", self))
        compare.addWidget(self.old_box)
        compare.addWidget(QLabel("with", self))
        compare.addWidget(self.new_box)
        compare.addWidget(self.stats_label)
        compare.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table)
        layout.addWidget(self.status_label)
        layout.addLayout(compare)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)

    # Public API

    @property
    def listing(self) -> FlowVersionList | None:
        """The versions on display."""
        return self._listing

    @Slot()
    def load(self) -> None:
        """Load the chosen flow's versions, then show the requested or latest change."""
        flow_id = self.flow_box.currentData()
        if not flow_id:
            self.status_label.setText("No flows on this server.")
            return
        self._generation += 1
        self.status_label.setText("Loading versions…")
        self._tasks.spawn(
            self._load(flow_id, self._generation), name="load flow versions"
        )

    def compare(self, old: int, new: int) -> None:
        """Show the diff from version ``old`` to version ``new``."""
        for box, version in ((self.old_box, old), (self.new_box, new)):
            index = box.findData(version)
            if index >= 0:
                box.setCurrentIndex(index)
        self._generation += 1
        flow_id = self.flow_box.currentData()
        self._tasks.spawn(
            self._show_diff(flow_id, old, new, self._generation), name="diff"
        )

    def showEvent(self, event) -> None:  # noqa: N802
        """Extend showEvent to load the versions the first time."""
        super().showEvent(event)
        if self._listing is None:
            self.load()

    def done(self, result: int) -> None:
        """Extend done so that loads still in flight are dropped when they end."""
        self._generation += 1
        super().done(result)

    # Loading

    async def _load(self, flow_id: str, generation: int) -> None:
        try:
            listing = await self._controller.versions(flow_id)
        except notify.NETWORK_ERRORS as exc:
            if generation == self._generation:
                self.status_label.setText(
                    f"Couldn't load the versions of {flow_id}: {notify.describe(exc)}"
                )
            return
        if generation != self._generation:
            return
        self._show_listing(listing)
        self.versions_loaded.emit(listing)
        numbers = [v.version for v in listing.versions]
        old, new = self._requested_pair
        self._requested_pair = (None, None)
        if new not in numbers:
            new = numbers[0] if numbers else None
        if old not in numbers:
            older = [n for n in numbers if new is not None and n < new]
            old = older[0] if older else new
        if new is not None and old is not None:
            self.compare(old, new)

    def _show_listing(self, listing: FlowVersionList) -> None:
        self._listing = listing
        self.table.blockSignals(True)
        self.table.setRowCount(len(listing.versions))
        for row, version in enumerate(listing.versions):
            cells = (
                version.label,
                formatting.format_datetime(version.first_seen),
                version.content_hash[:12],
                version.source or "",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, version.version)
                if version.current:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)
        for box in (self.old_box, self.new_box):
            box.clear()
            for version in listing.versions:
                box.addItem(version.label, version.version)
        count = len(listing.versions)
        note = f"{count} version{'s' if count != 1 else ''}"
        if listing.local:
            note += (
                ". This server keeps no version history, so these are the DSL "
                "texts the app saw, with the time it first saw each."
            )
        self.status_label.setText(note)

    async def _show_diff(
        self, flow_id: str, old: int, new: int, generation: int
    ) -> None:
        try:
            before = await self._controller.dsl(flow_id, old)
            after = await self._controller.dsl(flow_id, new)
        except (LookupError, *notify.NETWORK_ERRORS) as exc:
            if generation == self._generation:
                self.status_label.setText(f"Couldn't load the DSL: {exc}")
            return
        if generation != self._generation:
            return
        lines = diff_lines(before, after)
        added, removed = diff_stats(lines)
        self.diff_view.set_diff(
            lines, empty_text=f"v{old} and v{new} have the same DSL."
        )
        self.stats_label.setText(f"+{added} −{removed}")
        self.dsl_view.setPlainText(after)
        self.tabs.setTabText(1, f"DSL of v{new}")
        self._select_row(new)
        self.diff_shown.emit(old, new)

    def _select_row(self, version: int) -> None:
        self.table.blockSignals(True)
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == version:
                self.table.selectRow(row)
        self.table.blockSignals(False)

    # Slots

    @Slot()
    def _on_flow_box_current_index_changed(self) -> None:
        self.diff_view.set_diff([], empty_text="")
        self.load()

    @Slot()
    def _on_table_item_selection_changed(self) -> None:
        items = self.table.selectedItems()
        if not items or self._listing is None:
            return
        new = items[0].data(Qt.ItemDataRole.UserRole)
        older = [v.version for v in self._listing.versions if v.version < new]
        self.compare(older[0] if older else new, new)

    @Slot()
    def _on_compare_box_activated(self) -> None:
        old, new = self.old_box.currentData(), self.new_box.currentData()
        if old is not None and new is not None:
            self.compare(old, new)
