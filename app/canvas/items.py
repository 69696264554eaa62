"""The canvas's graphics items: an image drawn only where exposed, the brush circle and the
handles of an editable polygon's vertices."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget


class ImageItem(QGraphicsItem):
    """Draws a QImage at the scene origin, one scene unit per pixel.

    Unlike QGraphicsPixmapItem it paints straight from the QImage (no QPixmap copy of a
    12-megapixel image) and only the exposed part of it, so a brush step repaints a few
    hundred pixels. ``smooth``: bilinear filtering when zoomed out (photos); label
    overlays stay nearest-neighbour so class borders remain crisp.
    """

    def __init__(self, smooth: bool = False, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._image = QImage()
        self._buffer: object = None
        self._bounds = QRectF()
        self.smooth = smooth
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def image(self) -> QImage:
        return self._image

    def set_image(self, image: QImage, buffer: object = None) -> None:
        """Show ``image``; ``buffer`` is the array it reads, kept alive as long as it is shown."""
        bounds = QRectF(0, 0, image.width(), image.height()) if not image.isNull() else QRectF()
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = bounds
        self._image = image
        self._buffer = buffer
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self._image.isNull():
            return
        area = option.exposedRect.toAlignedRect().intersected(self._image.rect())
        if area.isEmpty():
            return
        zoomed_out = painter.worldTransform().m11() < 1.0
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth and zoomed_out)
        painter.drawImage(QRectF(area), self._image, QRectF(area))


class BrushCursorItem(QGraphicsItem):
    """The brush outline under the mouse: a circle of the brush diameter in image pixels.

    Drawn with cosmetic pens (constant screen width, black under white) so it stays visible
    on any photo at any zoom; ``set_view_scale`` keeps the bounding box wide enough for them.
    """

    _PAD_PX = 2.0

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._radius = 0.5
        self._pad = self._PAD_PX
        self.setZValue(100)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_radius(self, radius: float) -> None:
        if radius != self._radius:
            self.prepareGeometryChange()
            self._radius = radius

    def set_view_scale(self, scale: float) -> None:
        pad = self._PAD_PX / max(scale, 1e-6)
        if pad != self._pad:
            self.prepareGeometryChange()
            self._pad = pad

    def boundingRect(self) -> QRectF:
        r = self._radius + self._pad
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        centre = QPointF(0, 0)
        for colour, width in ((QColor(0, 0, 0, 200), 3.0), (QColor(255, 255, 255), 1.0)):
            pen = QPen(colour, width)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(centre, self._radius, self._radius)


class VertexHandlesItem(QGraphicsItem):
    """Small squares on an editable polygon's vertices, of a constant screen size at any
    zoom (``set_view_scale``); the vertex under the mouse is drawn larger and filled."""

    _SIDE_PX = 7.0

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._points: list[QPointF] = []
        self._hovered: int | None = None
        self._scale = 1.0
        self._bounds = QRectF()
        self.setZValue(52)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_points(self, points: list[tuple[int, int]], hovered: int | None = None) -> None:
        """The vertices (image pixels; drawn at their centres) and the one under the mouse."""
        self._points = [QPointF(x + 0.5, y + 0.5) for x, y in points]
        self._hovered = hovered
        self._update_bounds()

    def set_view_scale(self, scale: float) -> None:
        self._scale = max(scale, 1e-6)
        self._update_bounds()

    def _update_bounds(self) -> None:
        bounds = QRectF()
        if self._points:
            xs, ys = [p.x() for p in self._points], [p.y() for p in self._points]
            pad = 2 * self._SIDE_PX / self._scale
            bounds = QRectF(min(xs) - pad, min(ys) - pad, max(xs) - min(xs) + 2 * pad, max(ys) - min(ys) + 2 * pad)
        self.prepareGeometryChange()
        self._bounds = bounds
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        pen = QPen(QColor(0, 0, 0, 220), 1.0)
        pen.setCosmetic(True)
        painter.setPen(pen)
        for i, point in enumerate(self._points):
            side = (self._SIDE_PX * (1.5 if i == self._hovered else 1.0)) / self._scale
            painter.setBrush(QColor(255, 220, 0) if i == self._hovered else QColor(255, 255, 255))
            painter.drawRect(QRectF(point.x() - side / 2, point.y() - side / 2, side, side))
