"""What each editing tool does with the mouse, in image pixels; the view routes events here.

Each tool is a small object with ``press``/``move``/``release``/``cancel`` taking integer
image pixels. They talk only to the document (for edits) and to the view through the
view methods of ``host.ToolHost``, so they can be read without the Qt event plumbing.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QCursor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem

from gcnet_core.model.classes import IGNORE_INDEX

from .host import ToolHost
from .items import VertexHandlesItem

__all__ = ["GRAB_PX", "TOOLS", "ClickTool", "PolygonTool", "StrokeTool"]

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


GRAB_PX = 6.0
"""How near (screen pixels) a press must come to an editable polygon's vertex or edge to take it."""
DRAG_PX = 3.0
"""How far (screen pixels) the mouse must move while pressed for a drag, not a click."""


class PolygonTool:
    """Click vertices; double-click or Enter fills, Esc cancels, Backspace drops a vertex.

    While open, a preview path (edges plus a dashed line to the mouse) lies in the scene.

    A filled polygon stays editable, as in labelme, until Enter or Esc, another tool, another
    image or the first click of a new polygon: drag a vertex, drag from an edge to add a vertex
    there, right-click a vertex or press Delete over it to remove it. A click (no drag) always
    draws, so a new polygon may start on the last one's vertex or edge. Each edit
    re-fills the polygon in place of its last fill (that undo step is undone and the new shape
    filled), so the history holds one step per polygon: one Ctrl+Z takes the polygon away
    with all its edits. A change the polygon did not make (an undo, a prediction) ends the
    editing: the outline goes, the pixels stay.
    """

    def __init__(self, view: ToolHost) -> None:
        self.view = view
        self.points: list[tuple[int, int]] = []  # the polygon being drawn
        self.outline: list[tuple[int, int]] = []  # the filled polygon still editable
        self._hover: tuple[int, int] | None = None
        self._hover_vertex: int | None = None
        self._grab: int | None = None  # the outline vertex being dragged
        self._pressed: tuple[str, int, int, int] | None = None  # (kind, index, x, y) on the outline: a drag or a click
        self._grabbed_from: list[tuple[int, int]] = []
        self._value = 0  # class and "only over" of the outline's fill
        self._only_over: int | None = None
        self._at: object = None  # the document's history step right after the outline's fill
        self._filled = False  # the outline's fill is that step (False: it changed no pixel)
        self._refilling = False
        # A light halo under the class-coloured edges keeps dark classes visible on any photo.
        self._halo = QGraphicsPathItem()
        self._halo.setZValue(50)
        self._preview = QGraphicsPathItem()
        self._preview.setZValue(51)
        self._handles = VertexHandlesItem()
        halo_pen = QPen(QColor(255, 255, 255, 200), 4.0)
        halo_pen.setCosmetic(True)
        halo_pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        self._halo.setPen(halo_pen)
        self._halo.setBrush(QColor(255, 255, 255, 50))
        view.scene().addItem(self._halo)
        view.scene().addItem(self._preview)
        view.scene().addItem(self._handles)

    @property
    def active(self) -> bool:
        """A polygon is being drawn (its vertices not filled yet)."""
        return bool(self.points)

    @property
    def editing(self) -> bool:
        """A filled polygon is shown as an outline whose vertices can still be changed."""
        return bool(self.outline)

    def press(self, x: int, y: int) -> None:
        if not self.points:
            hit = self._hit(x, y)
            if hit is not None:  # on the outline: a drag edits it, a click draws (see release)
                self._pressed = (*hit, x, y)
                return
            self.finish_editing()  # a new polygon begins: the last one is kept as it is
        self._add_point(x, y)

    def _add_point(self, x: int, y: int) -> None:
        if not self.points or self.points[-1] != (x, y):
            self.points.append((x, y))
        self.redraw()

    def move(self, x: int, y: int) -> None:
        self._hover = (x, y)
        if self._pressed is not None and self._grab is None and self._dragged(x, y):
            kind, index, _x, _y = self._pressed  # take the vertex, or add one on the edge
            self._grabbed_from = list(self.outline)
            if kind == "edge":
                index += 1
                self.outline.insert(index, (_x, _y))
            self._grab = index
        if self._grab is not None:
            self.outline[self._grab] = (x, y)
            self.redraw()
            return
        if self.outline and not self.points:
            hit = self._hit(x, y)
            self._hover_vertex = hit[1] if hit is not None and hit[0] == "vertex" else None
            shape = Qt.CursorShape.CrossCursor if hit is None else \
                Qt.CursorShape.SizeAllCursor if hit[0] == "vertex" else Qt.CursorShape.PointingHandCursor
            self.view.viewport().setCursor(QCursor(shape))
            self._handles.set_points(self.outline, self._hover_vertex)
        if self.points:
            self.redraw()

    def release(self) -> None:
        pressed, self._pressed = self._pressed, None
        if self._grab is not None:
            self._grab = None
            if self.outline != self._grabbed_from:
                self._refill()
            self.redraw()
        elif pressed is not None:  # a click on the outline: the first vertex of a new polygon
            self.finish_editing()
            self._add_point(*pressed[2:])

    def _dragged(self, x: int, y: int) -> bool:
        """The mouse went far enough from where it was pressed to be a drag, not a click."""
        _kind, _index, px, py = self._pressed
        return math.hypot(x - px, y - py) >= max(DRAG_PX / self.view.scale_factor(), 1.0)

    def close(self) -> None:
        """Fill the polygon (if it has 3 vertices) with the current class; it stays editable."""
        points, self.points = self.points, []
        self.redraw()
        doc = self.view.document()
        if doc is None or len(points) < 3:
            return
        self._value, self._only_over = self.view.current_class(), self.view.only_over()
        filled = doc.fill_polygon(points, self._value, only_over=self._only_over) is not None
        self.outline, self._at, self._filled = points, doc.last_step, filled
        self.redraw()
        if filled:
            self.view.edited.emit()
        self.view.message.emit("Polygon filled: drag a vertex, or drag from an edge to add one, right-click a "
                               "vertex to remove it; Enter when done")

    def finish_editing(self) -> None:
        """Keep the polygon's pixels as they are and stop showing its outline."""
        if self.outline:
            self.view.viewport().setCursor(QCursor(Qt.CursorShape.CrossCursor))
        self.outline, self._grab, self._hover_vertex = [], None, None
        self.redraw()

    def undo_vertex(self) -> None:
        if self.points:
            self.points.pop()
            self.redraw()

    def remove_vertex_at(self, x: int, y: int) -> bool:
        """Drop the outline's vertex under (x, y) (a polygon keeps at least 3) and re-fill."""
        hit = self._hit(x, y) if not self.points else None
        if hit is None or hit[0] != "vertex" or len(self.outline) <= 3:
            return False
        del self.outline[hit[1]]
        self._hover_vertex = None
        self._refill()
        self.redraw()
        return True

    def remove_hovered_vertex(self) -> bool:
        """Delete over a vertex: as a right-click on it."""
        return self._hover is not None and self.remove_vertex_at(*self._hover)

    def cancel(self) -> None:
        self.points, self._pressed = [], None
        self.finish_editing()

    def document_changed(self) -> None:
        """The document changed: unless the outline's own re-fill did it, editing ends (its
        fill is no longer the step the history is at)."""
        doc = self.view.document()
        if self.outline and not self._refilling and (doc is None or doc.last_step is not self._at):
            self.finish_editing()

    def _refill(self) -> None:
        """The outline's new shape replaces its last fill, as one undo step."""
        doc = self.view.document()
        if doc is None or doc.last_step is not self._at:
            self.finish_editing()
            return
        self._refilling = True
        try:
            if self._filled:
                doc.undo()
            self._filled = doc.fill_polygon(self.outline, self._value, only_over=self._only_over) is not None
        finally:
            self._refilling = False
        self._at = doc.last_step
        self.view.edited.emit()

    def _hit(self, x: int, y: int) -> tuple[str, int] | None:
        """("vertex", i) or ("edge", i: the edge from vertex i) of the outline near (x, y)."""
        if not self.outline:
            return None
        reach = max(GRAB_PX / self.view.scale_factor(), 0.5)
        distances = [math.hypot(vx - x, vy - y) for vx, vy in self.outline]
        nearest = min(range(len(distances)), key=distances.__getitem__)
        if distances[nearest] <= reach:
            return "vertex", nearest
        for i, (a, b) in enumerate(zip(self.outline, self.outline[1:] + self.outline[:1])):
            if _segment_distance((x, y), a, b) <= reach:
                return "edge", i
        return None

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
        elif self.outline:
            path.addPolygon(QPolygonF([QPointF(x + 0.5, y + 0.5) for x, y in self.outline]))
            path.closeSubpath()
        value = self._value if self.outline and not self.points else self.view.current_class()
        pen = QPen(self.view.class_color(value), 2.0)
        pen.setCosmetic(True)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        self._preview.setPen(pen)
        self._halo.setPath(path)
        self._preview.setPath(path)
        self._handles.set_points(self.outline if not self.points else [], self._hover_vertex)

    def set_view_scale(self, scale: float) -> None:
        """The view's zoom (screen pixels per image pixel): the handles keep their screen size."""
        self._handles.set_view_scale(scale)


def _segment_distance(p: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> float:
    """Distance from point ``p`` to the segment ``a``-``b``."""
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / length))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))
