"""Templates, batch actions and flow versions installed together on one main window."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAction

from app.controllers.session import Session
from app.models import ui_state
from app.models.templates import TemplateLibrary
from app.views.batch.install import install_batch
from app.views.main_window import MainWindow
from app.views.templates.install import install_templates
from app.views.versions.install import install_versions
from tests.views.test_main_window import FakeStream


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
    installed = [
        install_templates(
            window, session=session, library=TemplateLibrary(tmp_path / "templates")
        ),
        install_batch(window, session=session),
        install_versions(window, session=session),
    ]
    run_async(session.start(window.current_filters().to_query()))
    yield window
    for ui in installed:
        run_async(ui.aclose())


def test_menus_in_order(window):
    """The Templates menu sits before View, and View gains Flow Versions."""
    titles = [action.text() for action in window.menuBar().actions()]
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")

    assert titles.index("&Templates") < titles.index("&View")
    assert titles[0] == "&File"
    assert titles[-1] == "&Help"
    assert "Flow &Versions…" in [action.text() for action in view.actions()]


def test_shortcuts_are_unique(window):
    """No two actions of the window share a keyboard shortcut."""
    shortcuts = [
        action.shortcut().toString()
        for action in window.findChildren(QAction)
        if not action.shortcut().isEmpty()
    ]

    repeated = sorted({key for key in shortcuts if shortcuts.count(key) > 1})
    assert repeated == []
    assert "Ctrl+Shift+N" in shortcuts
    assert "Ctrl+Shift+V" in shortcuts
