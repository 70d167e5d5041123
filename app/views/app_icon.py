"""The application icon, from the PNG files under resources/icons."""

from __future__ import annotations

import logging
from functools import cache

from PySide6.QtGui import QIcon

from resources import ROOT as RESOURCES_ROOT

logger = logging.getLogger(__name__)

ICON_DIR = RESOURCES_ROOT / "icons"
ICON_NAME = "overseer-desktop"


@cache
def application_icon() -> QIcon:
    """Return the app's icon in every size there is a PNG for.

    Qt reads PNG files without an image format plugin, so the icon shows in
    any build. An empty icon is returned, and a warning logged, when none is
    found.
    """
    icon = QIcon()
    for path in sorted(ICON_DIR.glob(f"{ICON_NAME}-*.png")):
        icon.addFile(str(path))
    if icon.isNull():
        logger.warning("No application icon found in %s", ICON_DIR)
    return icon
