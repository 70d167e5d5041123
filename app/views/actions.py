"""The main window's actions, declared as data, and the menus built from them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenuBar, QStyle, QToolBar, QWidget

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActionSpec:
    """One user command.

    Attributes:
        action_id: Key that the window's handler table uses.
        menu: Title of the menu the action goes in.
        shortcut: A standard key or a portable key string such as ``Ctrl+N``.
        icon: Standard style icon, or None.
        toolbar: Whether the main toolbar shows the action too.
    """

    action_id: str
    text: str
    menu: str
    tip: str = ""
    shortcut: QKeySequence.StandardKey | str | None = None
    icon: QStyle.StandardPixmap | None = None
    toolbar: bool = False
    separator_before: bool = False


_SP = QStyle.StandardPixmap

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "new_job",
        "&New Job…",
        "&Jobs",
        "Start a job of a flow",
        "Ctrl+N",
        _SP.SP_FileIcon,
        toolbar=True,
    ),
    ActionSpec(
        "cancel_job",
        "&Cancel Job",
        "&Jobs",
        "Cancel the selected job",
        "Ctrl+.",
        _SP.SP_BrowserStop,
        toolbar=True,
    ),
    ActionSpec(
        "rerun_job",
        "&Re-run Job",
        "&Jobs",
        "Start a new job with the selected job's entry point and params",
        "Ctrl+Shift+R",
        _SP.SP_MediaPlay,
        toolbar=True,
    ),
    ActionSpec(
        "refresh_jobs",
        "Re&fresh",
        "&Jobs",
        "Load the jobs list again",
        # Ctrl+R rather than the standard Refresh key, which is F5: F5 is
        # the debugger's Continue, as in other debuggers.
        "Ctrl+R",
        _SP.SP_BrowserReload,
        toolbar=True,
        separator_before=True,
    ),
    ActionSpec(
        "reconnect",
        "Reconnect &Now",
        "&File",
        "Reconnect the event stream now",
    ),
    ActionSpec(
        "quit",
        "&Quit",
        "&File",
        "Quit Overseer Desktop",
        QKeySequence.StandardKey.Quit,
        separator_before=True,
    ),
    ActionSpec(
        "focus_filter",
        "&Filter Jobs",
        "&View",
        "Move the focus to the jobs filter",
        QKeySequence.StandardKey.Find,
    ),
    ActionSpec(
        "reset_layout",
        "&Reset Layout",
        "&View",
        "Put every pane back where it started",
        separator_before=True,
    ),
    ActionSpec(
        "open_log_folder",
        "Open &Log Folder",
        "&Help",
        "Open the folder with the app's log files and crash reports",
    ),
    ActionSpec("about", "&About Overseer Desktop", "&Help", separator_before=True),
)

MENU_ORDER = ("&File", "&Jobs", "&View", "&Help")


def build_actions(
    parent: QWidget,
    handlers: Mapping[str, Callable[[], object]],
    specs: tuple[ActionSpec, ...] = ACTIONS,
) -> dict[str, QAction]:
    """Create a QAction for each spec and connect it to its handler."""
    style = parent.style()
    actions: dict[str, QAction] = {}
    for spec in specs:
        action = QAction(spec.text, parent)
        action.setObjectName(f"action_{spec.action_id}")
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(spec.tip)
        if spec.shortcut is not None:
            action.setShortcut(QKeySequence(spec.shortcut))
        if spec.icon is not None:
            action.setIcon(style.standardIcon(spec.icon))
        handler = handlers.get(spec.action_id)
        if handler is None:
            logger.warning("Action %s has no handler", spec.action_id)
        else:
            action.triggered.connect(handler)
        actions[spec.action_id] = action
    return actions


def build_menus(
    menu_bar: QMenuBar,
    actions: Mapping[str, QAction],
    specs: tuple[ActionSpec, ...] = ACTIONS,
) -> dict[str, object]:
    """Fill ``menu_bar`` with the actions, in the order of MENU_ORDER."""
    menus = {title: menu_bar.addMenu(title) for title in MENU_ORDER}
    for spec in specs:
        menu = menus[spec.menu]
        if spec.separator_before:
            menu.addSeparator()
        menu.addAction(actions[spec.action_id])
    return menus


def build_toolbar(
    window: QMainWindow,
    actions: Mapping[str, QAction],
    specs: tuple[ActionSpec, ...] = ACTIONS,
) -> QToolBar:
    """Add the main toolbar with the actions marked for it."""
    toolbar = window.addToolBar("Main")
    toolbar.setObjectName("main_toolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for spec in specs:
        if not spec.toolbar:
            continue
        if spec.separator_before:
            toolbar.addSeparator()
        toolbar.addAction(actions[spec.action_id])
    return toolbar
