"""What each editing tool does with the mouse, in image pixels; the view routes events here.

Each tool is a small object with ``press``/``move``/``release``/``cancel`` taking integer
image pixels. They talk only to the document (for edits) and to the view through the
view methods of ``host.ToolHost``, so they can be read without the Qt event plumbing.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from gcnet_core.model.classes import IGNORE_INDEX

from .host import ToolHost

__all__ = ["TOOLS", "ClickTool", "PolygonTool", "StrokeTool"]

TOOLS = ("brush", "eraser", "polygon", "fill", "relabel", "accept", "pan", "pick", "snap", "superpixel")
"""Tool names accepted by ``CanvasView.set_tool``."""


class StrokeTool:
    """Brush, eraser and accept-prediction: a drag is one undo step of disc segments."""

    def __init__(self, view: ToolHost, kind: str) -> None:
        self.view = view
        self.kind = kind
        self._last: tuple[int, int] | None = None

    @property
    def active(self) -> bool:
        return self._last is not None

    def _paint(self, p0, p1) -> None:
        doc, view = self.view.document(), self.view
        if doc is None:
            return
        if not doc.in_stroke:  # e.g. the window undid in the middle of a drag
            doc.begin_stroke()
        radius = view.brush_size() / 2.0
        if self.kind == "accept":
            doc.accept_prediction_stroke(p0, p1, radius)
        else:
            value = IGNORE_INDEX if self.kind == "eraser" else view.current_class()
            doc.paint_disc(p0, p1, radius, value, only_over=view.only_over())

    def press(self, x: int, y: int) -> None:
        if self.view.document() is None:
            return
        self._last = (x, y)
        self._paint((x, y), None)

    def move(self, x: int, y: int) -> None:
        if self._last is None or (x, y) == self._last:
            return
        self._paint(self._last, (x, y))
        self._last = (x, y)

    def release(self) -> None:
        if self._last is None:
            return
        self._last = None
        doc = self.view.document()
        if doc is not None and doc.end_stroke() is not None:
            self.view.edited.emit()

    def cancel(self) -> None:
        self.release()


class ClickTool:
    """Flood fill and relabel-predicted-region: one click, one step. Fill paints directly;
    relabel acts on the model's region and leaves the pixels a person painted."""

    def __init__(self, view: ToolHost, kind: str) -> None:
        self.view = view
        self.kind = kind
        self.active = False

    def press(self, x: int, y: int) -> None:
        doc, view = self.view.document(), self.view
        if doc is None:
            return
        if self.kind == "fill":
            rect = doc.flood_fill(x, y, view.current_class(), only_over=view.only_over())
        else:
            rect = doc.relabel_region(x, y, view.current_class())
            if rect is None and 0 <= y < doc.height and 0 <= x < doc.width and doc.edited[y, x]:
                view.message.emit("Relabel leaves the pixels you painted: paint or fill over them instead")
        if rect is not None:
            view.edited.emit()

    def move(self, x: int, y: int) -> None:
        pass

    def release(self) -> None:
        pass

    def cancel(self) -> None:
        pass


class PolygonTool:
    """Click vertices; double-click or Enter fills, Esc cancels, Backspace drops a vertex.

    While open, a preview path (edges plus a dashed line to the mouse) lies in the scene.
    """

    def __init__(self, view: ToolHost) -> None:
        self.view = view
        self.points: list[tuple[int, int]] = []
        self._hover: tuple[int, int] | None = None
        # A light halo under the class-coloured edges keeps dark classes visible on any photo.
        self._halo = QGraphicsPathItem()
        self._halo.setZValue(50)
        self._preview = QGraphicsPathItem()
        self._preview.setZValue(51)
        halo_pen = QPen(QColor(255, 255, 255, 200), 4.0)
        halo_pen.setCosmetic(True)
        halo_pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        self._halo.setPen(halo_pen)
        self._halo.setBrush(QColor(255, 255, 255, 50))
        view.scene().addItem(self._halo)
        view.scene().addItem(self._preview)

    @property
    def active(self) -> bool:
        return bool(self.points)

    def press(self, x: int, y: int) -> None:
        if not self.points or self.points[-1] != (x, y):
            self.points.append((x, y))
        self.redraw()

    def move(self, x: int, y: int) -> None:
        self._hover = (x, y)
        if self.points:
            self.redraw()

    def release(self) -> None:
        pass

    def close(self) -> None:
        """Fill the polygon (if it has 3 vertices) with the current class."""
        points, self.points = self.points, []
        self.redraw()
        doc = self.view.document()
        if doc is None or len(points) < 3:
            return
        if doc.fill_polygon(points, self.view.current_class(), only_over=self.view.only_over()) is not None:
            self.view.edited.emit()

    def undo_vertex(self) -> None:
        if self.points:
            self.points.pop()
            self.redraw()

    def cancel(self) -> None:
        self.points = []
        self.redraw()

    def redraw(self) -> None:
        """Rebuild the preview path (after a vertex, a mouse move or a class change)."""
        path = QPainterPath()
        if self.points:
            centre = [QPointF(x + 0.5, y + 0.5) for x, y in self.points]
            path.moveTo(centre[0])
            for p in centre[1:]:
                path.lineTo(p)
            if self._hover is not None:
                path.lineTo(QPointF(self._hover[0] + 0.5, self._hover[1] + 0.5))
                path.lineTo(centre[0])
        pen = QPen(self.view.class_color(self.view.current_class()), 2.0)
        pen.setCosmetic(True)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        self._preview.setPen(pen)
        self._halo.setPath(path)
        self._preview.setPath(path)
