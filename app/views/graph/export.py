"""Export of a graphics scene as a PNG image or an SVG drawing."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

logger = logging.getLogger(__name__)

# The largest PNG side in pixels; a bigger scene is scaled down to fit.
MAX_PNG_SIDE = 16_000


class ExportError(Exception):
    """The image could not be written."""


def export_png(
    scene: QGraphicsScene, rect: QRectF, path: Path, *, scale: float = 2.0
) -> QSize:
    """Render ``rect`` of ``scene`` to a PNG file at ``scale`` pixels per unit.

    Returns:
        The image size in pixels.

    Raises:
        ExportError: the area is empty or the file could not be written.
    """
    if rect.isEmpty():
        raise ExportError("the graph is empty")
    scale = min(scale, MAX_PNG_SIDE / max(rect.width(), rect.height()))
    size = QSize(max(int(rect.width() * scale), 1), max(int(rect.height() * scale), 1))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(scene.backgroundBrush().color())
    painter = QPainter(image)
    try:
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        with _uncached(scene):
            scene.render(painter, QRectF(0, 0, size.width(), size.height()), rect)
    finally:
        painter.end()
    if not image.save(str(path), "PNG"):
        raise ExportError(f"couldn't write {path}")
    logger.info(
        "Exported the graph as %s (%dx%d px)", path, size.width(), size.height()
    )
    return size


def export_svg(
    scene: QGraphicsScene, rect: QRectF, path: Path, *, title: str = ""
) -> None:
    """Write ``rect`` of ``scene`` to an SVG file as vector shapes and text.

    Raises:
        ExportError: the area is empty or the file could not be written.
    """
    if rect.isEmpty():
        raise ExportError("the graph is empty")
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(int(rect.width()), int(rect.height())))
    generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    generator.setTitle(title)
    generator.setDescription("Exported from Overseer Desktop")
    painter = QPainter()
    if not painter.begin(generator):
        raise ExportError(f"couldn't write {path}")
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(
            QRectF(0, 0, rect.width(), rect.height()), scene.backgroundBrush()
        )
        with _uncached(scene):
            scene.render(
                painter,
                QRectF(0, 0, rect.width(), rect.height()),
                rect,
                Qt.AspectRatioMode.KeepAspectRatio,
            )
    finally:
        painter.end()
    if not path.exists():
        raise ExportError(f"couldn't write {path}")
    logger.info("Exported the graph as %s", path)


@contextlib.contextmanager
def _uncached(scene: QGraphicsScene) -> Iterator[None]:
    """Switch item caches off while rendering, so items paint as shapes, not pixmaps."""
    cached = [
        (item, item.cacheMode())
        for item in scene.items()
        if item.cacheMode() != QGraphicsItem.CacheMode.NoCache
    ]
    for item, _mode in cached:
        item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    try:
        yield
    finally:
        for item, mode in cached:
            item.setCacheMode(mode)
