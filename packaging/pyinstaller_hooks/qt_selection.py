"""The Qt plugins and translations that the bundle keeps, per platform.

PySide6's stock PyInstaller hooks collect every plugin of each type a Qt
module uses (all platform plugins, GTK and Wayland integrations, image
formats, ...) and every translation. The hooks in this folder call the stock
collection and keep only what this list names, before PyInstaller looks for
the system libraries those plugins link, so a dropped plugin drags in none.
"""

from __future__ import annotations

import sys

if sys.platform == "win32":
    KEEP_PLUGINS = (
        "platforms/qwindows",
        "platforms/qoffscreen",
        "styles/qmodernwindowsstyle",
        "styles/qwindowsvistastyle",
    )
elif sys.platform == "darwin":
    KEEP_PLUGINS = (
        "platforms/libqcocoa",
        "platforms/libqoffscreen",
        "styles/libqmacstyle",
    )
else:
    # xcb shows windows on X11 and, through XWayland, in Wayland sessions;
    # offscreen runs the app without a display. The xcb plugin loads the GL
    # integrations, and the input contexts give dead keys and input methods.
    KEEP_PLUGINS = (
        "platforms/libqxcb",
        "platforms/libqoffscreen",
        "xcbglintegrations/",
        "platforminputcontexts/libcomposeplatforminputcontextplugin",
        "platforminputcontexts/libibusplatforminputcontextplugin",
    )


def plugin_path(dest: str) -> str | None:
    """Return the path below Qt's plugins folder of a collected file, or None."""
    normalized = dest.replace("\\", "/")
    marker = "/plugins/"
    if marker not in normalized:
        return None
    return normalized.split(marker, 1)[1]


def keep(entry: tuple[str, str]) -> bool:
    """Return whether a (source, destination folder) hook entry goes into the bundle."""
    source = entry[0].replace("\\", "/")
    plugin = plugin_path(source)
    if plugin is not None:
        return plugin.startswith(KEEP_PLUGINS)
    # The app's texts are English only, so Qt's own translations stay out.
    return "/translations/" not in source


def select(entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return the entries of a hook's ``binaries`` or ``datas`` that ``keep`` accepts."""
    return [entry for entry in entries if keep(entry)]
