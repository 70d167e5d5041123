"""PySide6.QtWidgets for the bundle: the stock collection, less unused plugins and translations."""

import importlib.util
from pathlib import Path

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

_spec = importlib.util.spec_from_file_location(
    "qt_selection", Path(__file__).with_name("qt_selection.py")
)
qt_selection = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qt_selection)

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = qt_selection.select(binaries)
datas = qt_selection.select(datas)
