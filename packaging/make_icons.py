"""Render the application icon from its SVG into the PNG, ICO and ICNS files.

The SVG (resources/icons/overseer-desktop.svg) is the source. This script
generates the other files next to it, and they are kept in the repository,
so that a build needs neither this script nor QtSvg. Run it again after an edit
of the SVG:

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icons.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
NAME = "overseer-desktop"
# The sizes of the freedesktop hicolor theme's fixed-size folders.
PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    """Render the SVG into a transparent square image of size x size pixels."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def write_image(image: QImage, path: Path, image_format: str) -> None:
    """Write ``image`` to ``path``, raising OSError with Qt's reason on failure."""
    writer = QImageWriter(str(path), image_format.encode())
    if not writer.write(image):
        raise OSError(f"cannot write {path}: {writer.errorString()}")


def main(argv: list[str] | None = None) -> int:
    """Render every icon file; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ICON_DIR, help="output folder")
    args = parser.parse_args(argv)

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    source = ICON_DIR / f"{NAME}.svg"
    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        print(f"error: {source} is not a valid SVG file", file=sys.stderr)
        return 1

    args.out.mkdir(parents=True, exist_ok=True)
    for size in PNG_SIZES:
        write_image(render(renderer, size), args.out / f"{NAME}-{size}.png", "png")
    # Windows takes a 256 px ICO and macOS an ICNS; Qt's image format
    # plugins write both.
    supported = {bytes(name).decode() for name in QImageWriter.supportedImageFormats()}
    for suffix in ("ico", "icns"):
        if suffix not in supported:
            print(f"error: this Qt has no {suffix.upper()} writer", file=sys.stderr)
            return 1
        write_image(render(renderer, 256), args.out / f"{NAME}.{suffix}", suffix)
    print(f"Wrote {len(PNG_SIZES)} PNG files, {NAME}.ico and {NAME}.icns to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
