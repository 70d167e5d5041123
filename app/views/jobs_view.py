"""Jobs pane: filter bar, the paged jobs table, its live-insert handling and batch bar."""

from __future__ import annotations

import logging

from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.models.batch import BatchSelection
from app.models.jobs_model import JobColumn, JobRole, JobsModel
from app.views.batch.bar import BatchBar
from app.views.filter_bar import FilterBar

logger = logging.getLogger(__name__)

_COLUMN_WIDTHS = {
    JobColumn.STATUS: 110,
    JobColumn.JOB_ID: 290,
    JobColumn.FLOW: 140,
    JobColumn.ENTRY: 150,
    JobColumn.CREATED: 150,
    JobColumn.DURATION: 90,
}


class JobsTable(QTableView):
    """Table of jobs in server order; sorting is the server's, not the view's.

    Several rows can be selected (Shift, Ctrl, Ctrl+A) for batch actions.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("jobs_table")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setShowGrid(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.horizontalHeader().setStretchLastSection(True)
        self.horizontalHeader().setHighlightSections(False)

    def apply_column_widths(self) -> None:
        """Give each column a width that fits its usual content."""
        for column, width in _COLUMN_WIDTHS.items():
            self.setColumnWidth(column, width)

    def sync_geometry(self) -> None:
        """Update the scroll bar range at once instead of at the next layout."""
        self.updateGeometries()


class JobsPanel(QWidget):
    """The jobs table with its filter bar, counts and "new jobs" button.

    When the user has scrolled down, rows inserted above the first visible
    row leave the visible rows in place. The scroll position grows by the
    inserted rows' height, and a button offers to jump to the new jobs. At
    the top of the list, new jobs simply appear. The selection follows its
    job either way, because the selection model tracks rows through inserts.

    With several rows selected, the batch bar under the table offers
    actions on them, or on every job matching the filter.

    Signals:
        job_selected(object): The selected job id (the current row when
            several are selected), or None.
        filter_changed(FilterState): Forwarded from the filter bar.
    """

    job_selected = Signal(object)
    filter_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._model: JobsModel | None = None
        self._anchor: QPersistentModelIndex | None = None
        self._anchor_top = 0
        self._unseen = 0
        self._pending_selection: str | None = None
        self._all_matching = False

        self.filter_bar = FilterBar(self)
        self.table = JobsTable(self)
        self.batch_bar = BatchBar(self)
        # The overlays are children of the panel, not of the viewport, because
        # scrolling a viewport moves its child widgets along with the rows.
        self._new_jobs_button = QPushButton(self)
        self._new_jobs_button.setObjectName("new_jobs_button")
        self._new_jobs_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self._new_jobs_button.hide()
        self._count_label = QLabel(self)
        self._count_label.setObjectName("jobs_count")
        self._empty_label = QLabel("No jobs match the filter.", self)
        self._empty_label.setObjectName("empty_jobs")
        self._empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty_label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._empty_label.hide()
        self._build_layout()

        self.filter_bar.filter_changed.connect(self.filter_changed)
        self._new_jobs_button.clicked.connect(self._on_new_jobs_button_clicked)
        self.batch_bar.select_all_matching_requested.connect(self.select_all_matching)
        self.batch_bar.clear_requested.connect(self._on_batch_bar_clear_requested)
        self.table.verticalScrollBar().valueChanged.connect(
            self._on_scroll_value_changed
        )

    def _build_layout(self) -> None:
        footer = QHBoxLayout()
        footer.addWidget(self._count_label)
        footer.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.batch_bar)
        layout.addLayout(footer)

    # Public API

    def set_model(self, model: JobsModel) -> None:
        """Show ``model``; call once per window."""
        self._model = model
        self.table.setModel(model)
        self.table.apply_column_widths()
        model.rowsAboutToBeInserted.connect(self._on_model_rows_about_to_be_inserted)
        model.rowsInserted.connect(self._on_model_rows_inserted)
        model.modelReset.connect(self._on_model_reset)
        store = model.store
        store.total_changed.connect(self._update_footer)
        store.loading_changed.connect(self._update_footer)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self._update_footer()

    @property
    def unseen_count(self) -> int:
        """New jobs inserted above the visible rows since the user looked."""
        return self._unseen

    def selected_job_id(self) -> str | None:
        """Return the id of the selected job (the current one of several), or None."""
        if self._model is None:
            return None
        selection = self.table.selectionModel()
        current = selection.currentIndex()
        if current.isValid() and selection.isRowSelected(current.row()):
            return current.siblingAtColumn(0).data(JobRole.JOB_ID)
        rows = selection.selectedRows()
        return rows[0].data(JobRole.JOB_ID) if rows else None

    def selected_job_ids(self) -> list[str]:
        """Return the ids of the selected jobs, in table order."""
        if self._model is None:
            return []
        rows = sorted(self.table.selectionModel().selectedRows(), key=lambda i: i.row())
        return [index.data(JobRole.JOB_ID) for index in rows]

    @property
    def all_matching(self) -> bool:
        """Whether the user chose every job matching the filter, loaded or not."""
        return self._all_matching

    def batch_selection(self) -> BatchSelection:
        """Return the jobs a batch action would act on."""
        if self._all_matching and self._model is not None:
            store = self._model.store
            return BatchSelection.matching(store.query, store.total)
        return BatchSelection.of_jobs(self.selected_job_ids())

    @Slot()
    def select_all_matching(self) -> None:
        """Select every loaded row and mark every job matching the filter as chosen."""
        self.table.selectAll()
        self._all_matching = True
        self._update_batch_bar()

    def select_job(self, job_id: str) -> None:
        """Select ``job_id`` now, or as soon as its row is loaded."""
        row = self._model.row_of(job_id) if self._model else None
        if row is None:
            self._pending_selection = job_id
            return
        self._pending_selection = None
        index = self._model.index(row, 0)
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)

    def scroll_to_newest(self) -> None:
        """Scroll to the top, where the newest jobs are."""
        self.table.scrollToTop()
        self._set_unseen(0)

    # Live inserts

    @Slot(QModelIndex, int, int)
    def _on_model_rows_about_to_be_inserted(
        self, parent: QModelIndex, first: int, last: int
    ) -> None:
        self._anchor = None
        if self.table.verticalScrollBar().value() == 0:
            return
        top = self.table.indexAt(QPoint(0, 0))
        if top.isValid() and first <= top.row():
            self._anchor = QPersistentModelIndex(top)
            self._anchor_top = self.table.visualRect(top).top()

    @Slot(QModelIndex, int, int)
    def _on_model_rows_inserted(
        self, parent: QModelIndex, first: int, last: int
    ) -> None:
        if self._anchor is not None and self._anchor.isValid():
            self.table.sync_geometry()
            shift = (
                self.table.visualRect(QModelIndex(self._anchor)).top()
                - self._anchor_top
            )
            bar = self.table.verticalScrollBar()
            bar.setValue(bar.value() + shift)
            self._set_unseen(self._unseen + last - first + 1)
        self._anchor = None

        if self._pending_selection is not None:
            self.select_job(self._pending_selection)
        self._update_footer()

    @Slot()
    def _on_model_reset(self) -> None:
        self._set_unseen(0)
        self._all_matching = False
        self._update_footer()

    @Slot(int)
    def _on_scroll_value_changed(self, value: int) -> None:
        if value == 0 and self._unseen:
            self._set_unseen(0)

    @Slot()
    def _on_new_jobs_button_clicked(self) -> None:
        self.scroll_to_newest()

    def _set_unseen(self, count: int) -> None:
        self._unseen = count
        if count <= 0:
            self._new_jobs_button.hide()
            return
        noun = "job" if count == 1 else "jobs"
        self._new_jobs_button.setText(f"↑ {count} new {noun}")
        self._new_jobs_button.adjustSize()
        self._place_overlays()
        self._new_jobs_button.show()
        self._new_jobs_button.raise_()

    # Selection and layout

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(
        self, selected: QItemSelection, deselected: QItemSelection
    ) -> None:
        job_id = self.selected_job_id()
        if job_id is not None or not selected.isEmpty() or not deselected.isEmpty():
            self.job_selected.emit(job_id)
        if not deselected.isEmpty():
            # Narrowing the selection by hand ends "all matching the filter".
            self._all_matching = False
        self._update_batch_bar()

    @Slot()
    def _on_batch_bar_clear_requested(self) -> None:
        self._all_matching = False
        self.table.clearSelection()
        self._update_batch_bar()

    def _update_batch_bar(self) -> None:
        if self._model is None:
            return
        self.batch_bar.set_selection(
            len(self.table.selectionModel().selectedRows()),
            self._model.store.total,
            all_matching=self._all_matching,
        )

    @Slot()
    def _update_footer(self, *_args: object) -> None:
        if self._model is None:
            return
        store = self._model.store
        loaded, total = len(store), store.total
        noun = "job" if total == 1 else "jobs"
        text = (
            f"{total:,} {noun}"
            if loaded >= total
            else f"{loaded:,} of {total:,} {noun} loaded"
        )
        if store.loading:
            text += " · loading…"
        self._count_label.setText(text)
        self._update_batch_bar()
        self._empty_label.setVisible(loaded == 0 and not store.loading)
        self._place_overlays()

    def _place_overlays(self) -> None:
        viewport = self.table.viewport()
        origin = viewport.mapTo(self, QPoint(0, 0))
        button = self._new_jobs_button
        button.move(
            origin.x() + (viewport.width() - button.width()) // 2, origin.y() + 8
        )
        self._empty_label.setGeometry(QRect(origin, viewport.size()))
        self._empty_label.raise_()
        button.raise_()

    def resizeEvent(self, event) -> None:  # noqa: N802
        """Extend resizeEvent to keep the overlays centred on the table."""
        super().resizeEvent(event)
        self._place_overlays()
