"""Tests for flow versions in the GUI: the coloured diff, the dialog and the job notice."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor

from app.controllers.flow_versions import FlowVersionsController, JobVersion
from app.controllers.session import Session
from app.models import ui_state
from app.models.flow_versions import LocalFlowHistory
from app.models.yaml_diff import LineKind, diff_lines
from app.services.versions_api import VersionsApi
from app.views.main_window import MainWindow
from app.views.versions.dialog import FlowVersionsDialog
from app.views.versions.diff_view import BACKGROUNDS, YamlDiffView, render
from app.views.versions.install import install_versions
from tests.support.versions_fake import VersionsFakeServer
from tests.views.test_main_window import FakeStream

V1 = "flow_id: demo_flow\nroutines:\n  reader:\n    class: Reader  # source\n"
V2 = "flow_id: demo_flow\nroutines:\n  reader:\n    class: FastReader\n  extra: {}\n"
V3 = V2 + "description: third\n"


@pytest.fixture
def fake_server():
    server = VersionsFakeServer()
    server.dsl_versions = {"demo_flow": [V1, V2, V3]}
    server.add_job("old-job", flow_version=1)
    server.add_job("new-job", flow_version=3)
    return server


# -- the diff view ------------------------------------------------------------------


def test_diff_view_colours_lines(qtbot):
    """Added and removed lines get full-width backgrounds; context lines none."""
    view = YamlDiffView()
    qtbot.addWidget(view)
    lines = diff_lines(V1, V2)

    view.set_diff(lines)

    document = view.document()
    assert document.blockCount() == len(lines)
    for number, line in enumerate(lines):
        block = document.findBlockByNumber(number)
        assert block.text() == render(line)
        assert view.block_kind(number) is line.kind
        expected = BACKGROUNDS.get(line.kind)
        background = block.blockFormat().background()
        if expected is None:
            assert background.style().name == "NoBrush"
        else:
            assert background.color() == expected


def test_diff_view_highlights_signs_and_keys(qtbot):
    """The +/- sign and YAML keys get their own colours."""
    view = YamlDiffView()
    qtbot.addWidget(view)
    lines = diff_lines(V1, V2)
    view.set_diff(lines)
    added = next(i for i, line in enumerate(lines) if line.kind is LineKind.ADDED)

    formats = view.document().findBlockByNumber(added).layout().formats()

    colours = {f.format.foreground().color().name() for f in formats}
    assert QColor("#1a7f37").name() in colours
    assert QColor("#0550ae").name() in colours


def test_render_shows_both_line_numbers():
    """A context line shows its number in both texts; others only their own."""
    hunk, context, removed, added = diff_lines("a: 1\nb: 2\n", "a: 1\nc: 3\n")

    assert render(hunk) == "@@ -1,2 +1,2 @@"
    assert render(context) == "   1    1   a: 1"
    assert render(removed) == "   2      - b: 2"
    assert render(added) == "        2 + c: 3"


def test_empty_diff_says_so(qtbot):
    """Equal versions show a sentence instead of an empty view."""
    view = YamlDiffView()
    qtbot.addWidget(view)

    view.set_diff([], empty_text="v1 and v2 have the same DSL.")

    assert view.toPlainText() == "v1 and v2 have the same DSL."


# -- the dialog and the job notice on a main window -----------------------------------


@pytest.fixture
def session(api, run_async):
    session = Session(api, FakeStream())
    yield session
    run_async(session.aclose())


@pytest.fixture
def window(qtbot, tmp_path, session, run_async):
    window = MainWindow(ui_state.UiState(), state_path=tmp_path / "ui-state.json")
    qtbot.addWidget(window)
    window.show()
    window.attach_session(session, features=False)
    return window


@pytest.fixture
def versions(window, session, api, tmp_path, run_async):
    controller = FlowVersionsController(
        VersionsApi(api), history=LocalFlowHistory(tmp_path / "history")
    )
    ui = install_versions(window, session=session, controller=controller)
    run_async(session.start(window.current_filters().to_query()))
    yield ui
    run_async(ui.aclose())


def test_dialog_lists_versions_and_diffs_latest(versions, qtbot):
    """The dialog lists versions newest first and compares the newest with the one before."""
    dialog = versions.open_dialog(flow_id="demo_flow")
    with qtbot.waitSignal(dialog.diff_shown) as blocker:
        pass

    assert blocker.args == [2, 3]
    assert dialog.table.rowCount() == 3
    assert dialog.table.item(0, 0).text() == "v3 (current)"
    assert dialog.table.item(0, 0).font().bold()
    assert dialog.stats_label.text() == "+1 −0"
    assert "description: third" in dialog.diff_view.toPlainText()
    assert dialog.dsl_view.toPlainText() == V3
    dialog.reject()


def test_dialog_compares_any_pair(versions, qtbot):
    """The compare boxes show the diff between any two versions."""
    dialog = versions.open_dialog(flow_id="demo_flow")
    with qtbot.waitSignal(dialog.diff_shown):
        pass

    with qtbot.waitSignal(dialog.diff_shown) as blocker:
        dialog.compare(1, 3)

    assert blocker.args == [1, 3]
    removed = [x.text for x in dialog.diff_view.lines if x.kind is LineKind.REMOVED]
    added = [x.text for x in dialog.diff_view.lines if x.kind is LineKind.ADDED]
    assert removed == ["    class: Reader  # source"]
    assert added == ["    class: FastReader", "  extra: {}", "description: third"]
    assert dialog.stats_label.text() == "+3 −1"
    dialog.reject()


def test_dialog_caches_version_texts(versions, fake_server, qtbot):
    """A version's DSL is fetched once; comparing again reads the cache."""
    dialog = versions.open_dialog(flow_id="demo_flow")
    with qtbot.waitSignal(dialog.diff_shown):
        pass
    requests = len(fake_server.version_requests)

    with qtbot.waitSignal(dialog.diff_shown):
        dialog.compare(2, 3)

    assert len(fake_server.version_requests) == requests
    dialog.reject()


def show_job(window, session, qtbot, job_id):
    session.job_detail.select_job(job_id)
    session.job_detail.refresh()
    qtbot.waitUntil(
        lambda: window.detail_panel.field_text("flow_version") != "", timeout=5000
    )


def test_old_job_names_version_with_notice(versions, window, session, qtbot):
    """A job that ran on an older version shows a notice, and Compare opens that diff."""
    show_job(window, session, qtbot, "old-job")

    panel = window.detail_panel
    assert panel.field_text("flow_version") == "v1 (current: v3)"
    assert panel.version_notice.isVisible()
    assert "ran on version 1 of demo_flow" in panel.version_notice_label.text()

    panel.compare_button.click()
    dialog = window.findChild(FlowVersionsDialog)
    with qtbot.waitSignal(dialog.diff_shown) as blocker:
        pass
    assert blocker.args == [1, 3]
    dialog.reject()


def test_current_job_has_no_notice(versions, window, session, qtbot):
    """A job on the current version shows it without a notice."""
    show_job(window, session, qtbot, "new-job")

    assert window.detail_panel.field_text("flow_version") == "v3 (current)"
    assert not window.detail_panel.version_notice.isVisible()


def test_version_of_other_job_is_ignored(window):
    """A late response for a job no longer shown does not change the panel."""
    window.detail_panel.set_flow_version(JobVersion("elsewhere", "f", 1, 2))

    assert window.detail_panel.field_text("flow_version") == ""


def test_stock_server_keeps_local_history(
    fake_server, versions, window, session, qtbot
):
    """Against a stock server the app records each DSL it reads and lists those."""
    fake_server.stock = True
    info = type(session.server_info)("routilux", "1.1.0", is_stock=True)
    versions.controller.set_server_info(info)

    dialog = versions.open_dialog(flow_id="demo_flow")
    with qtbot.waitSignal(dialog.versions_loaded) as blocker:
        pass

    listing = blocker.args[0]
    assert listing.local
    assert [v.version for v in listing.versions] == [1]
    assert "keeps no version history" in dialog.status_label.text()
    assert versions.controller.history.get("demo_flow", 1).dsl == V3
    dialog.reject()

    fake_server.dsl_versions["demo_flow"].append(V3 + "# edited\n")
    dialog = versions.open_dialog(flow_id="demo_flow")
    with qtbot.waitSignal(dialog.diff_shown) as blocker:
        pass
    assert blocker.args == [1, 2]
    assert "# edited" in dialog.diff_view.toPlainText()
    dialog.reject()

    show_job(window, session, qtbot, "old-job")
    assert (
        window.detail_panel.field_text("flow_version") == "not recorded by this server"
    )


def test_reloaded_flow_refreshes_flow_list(
    fake_server, versions, window, session, qtbot
):
    """When a flow's current version changes, the session loads the flow list again."""
    versions.controller._ttl = 0
    show_job(window, session, qtbot, "old-job")
    fake_server.dsl_versions["demo_flow"].append(V3 + "# v4\n")

    changed = []
    versions.controller.flow_changed.connect(changed.append)
    with qtbot.waitSignal(session.flows_changed, timeout=5000):
        session.job_detail.refresh()

    assert changed == ["demo_flow"]
    qtbot.waitUntil(
        lambda: window.detail_panel.field_text("flow_version") == "v1 (current: v4)"
    )
