"""The debugger's actions, declared as data, with its menu and toolbar."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QStyle, QToolBar

from app.views.actions import ActionSpec, build_actions

logger = logging.getLogger(__name__)

MENU_TITLE = "&Debug"
_SP = QStyle.StandardPixmap

DEBUG_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "debug_continue",
        "&Continue",
        MENU_TITLE,
        "Continue the paused job until the next breakpoint",
        "F5",
        _SP.SP_MediaPlay,
        toolbar=True,
    ),
    ActionSpec(
        "debug_pause",
        "&Pause",
        MENU_TITLE,
        "Pause the selected job at its next pause point",
        "F6",
        _SP.SP_MediaPause,
        toolbar=True,
    ),
    ActionSpec(
        "debug_stop",
        "S&top",
        MENU_TITLE,
        "Cancel the selected job",
        "Shift+F5",
        _SP.SP_MediaStop,
        toolbar=True,
    ),
    ActionSpec(
        "debug_step_over",
        "Step &Over",
        MENU_TITLE,
        "Run to the next slot or routine point, skipping the routine's emits",
        "F10",
        _SP.SP_ArrowRight,
        toolbar=True,
        separator_before=True,
    ),
    ActionSpec(
        "debug_step_into",
        "Step &Into",
        MENU_TITLE,
        "Run to the very next pause point",
        "F11",
        _SP.SP_ArrowDown,
        toolbar=True,
    ),
    ActionSpec(
        "debug_step_out",
        "Step O&ut",
        MENU_TITLE,
        "Finish the current routine's work, then pause",
        "Shift+F11",
        _SP.SP_ArrowUp,
        toolbar=True,
    ),
    ActionSpec(
        "toggle_breakpoint",
        "&Toggle Breakpoint",
        MENU_TITLE,
        "Add or remove a breakpoint at the selected frame or breakpoint",
        "F9",
        _SP.SP_DialogApplyButton,
        separator_before=True,
    ),
    ActionSpec(
        "add_breakpoint",
        "&New Breakpoint…",
        MENU_TITLE,
        "Add a breakpoint by picking a flow, routine and slot or event",
        "Ctrl+F9",
    ),
)

STEP_ACTIONS = (
    "debug_continue",
    "debug_step_over",
    "debug_step_into",
    "debug_step_out",
)


def build(
    window: QMainWindow, handlers: Mapping[str, Callable[[], object]]
) -> tuple[dict[str, QAction], QMenu, QToolBar]:
    """Create the actions, a Debug menu before Help, and a Debug toolbar."""
    actions = build_actions(window, handlers, DEBUG_ACTIONS)
    menu = _debug_menu(window)
    toolbar = window.addToolBar("Debug")
    toolbar.setObjectName("debug_toolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    for spec in DEBUG_ACTIONS:
        action = actions[spec.action_id]
        shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if shortcut:
            action.setToolTip(f"{spec.tip} ({shortcut})")
        if spec.separator_before:
            menu.addSeparator()
        menu.addAction(action)
        if spec.toolbar:
            if spec.separator_before:
                toolbar.addSeparator()
            toolbar.addAction(action)
    return actions, menu, toolbar


def free_f5(window: QMainWindow) -> None:
    """Move other actions of the window off F5, so F5 means Continue.

    On Windows and Linux the standard Refresh key is F5, and the jobs list's
    Refresh action uses it. Qt ignores a key that two actions share.
    """
    f5 = QKeySequence("F5")
    for action in window.findChildren(QAction):
        if action.objectName().startswith("action_debug"):
            continue
        keys = [key for key in action.shortcuts() if key != f5]
        if len(keys) != len(action.shortcuts()):
            action.setShortcuts(keys or [QKeySequence("Ctrl+R")])
            logger.debug("= moved %s off F5", action.objectName())


def _debug_menu(window: QMainWindow) -> QMenu:
    menu_bar = window.menuBar()
    help_action = next(
        (action for action in menu_bar.actions() if action.text() == "&Help"), None
    )
    menu = QMenu(MENU_TITLE, menu_bar)
    menu.setObjectName("debug_menu")
    if help_action is not None:
        menu_bar.insertMenu(help_action, menu)
    else:
        menu_bar.addMenu(menu)
    return menu
