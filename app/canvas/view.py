"""CanvasView: the photo with the editable label overlay, zoom/pan and the editing tools.

A QGraphicsView over a scene with three items at the origin, one scene unit per image
pixel: the photo, the label overlay (see ``overlay.MaskLayers``) and the brush circle.
Scroll bars are hidden and the scene has a margin of one viewport on every side, so zooming
can keep any image point under the cursor, even at the image's edges.
"""

from __future__ import annotations

import math
import weakref

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QCursor, QImage, QKeyEvent, QMouseEvent, QTransform, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from gcnet_core.project.document import MaskDocument, Rect

from .items import BrushCursorItem, ImageItem
from .layers import wrap_rgb
from .model_tools import ClassPicker, NextLikelyClass, PickTool, SnapTool, SuperpixelTool
from .overlay import MaskLayers
from .tools import TOOLS, ClickTool, PolygonTool, StrokeTool

__all__ = ["CanvasView"]

MIN_SCALE = 1.0 / 64
MAX_SCALE = 64.0
MIN_VISIBLE_SIDE = 32  # screen pixels: fitting never shows an image's short side thinner
MAX_BRUSH = 1000
STROKE_TOOLS = ("brush", "eraser", "accept", "snap", "superpixel")  # tools that show the brush circle


class CanvasView(QGraphicsView):
    """Shows an image with its ``MaskDocument`` and lets a person edit the labels.

    Signals: ``cursorMoved(x, y)`` image pixel under the mouse (-1, -1 outside);
    ``edited()`` after each finished edit (stroke, fill, polygon); ``zoomChanged(scale)``
    (1.0 = one screen pixel per image pixel); ``brushSizeChanged(px)``; ``toolChanged(name)``;
    ``message(text)``: a hint for the status bar (a model-aware tool without rankings...).
    """

    cursorMoved = Signal(int, int)
    edited = Signal()
    zoomChanged = Signal(float)
    brushSizeChanged = Signal(int)
    toolChanged = Signal(str)
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        scene = QGraphicsScene(self)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setScene(scene)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(QBrush(QColor(48, 48, 48)))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self._image_item = ImageItem(smooth=True)
        scene.addItem(self._image_item)
        self._layers = MaskLayers(scene)
        self._cursor_item = BrushCursorItem()
        self._cursor_item.setVisible(False)
        scene.addItem(self._cursor_item)

        self._pixels: np.ndarray | None = None
        self._doc: MaskDocument | None = None
        # run_in_background(fn, done, failed): the window runs slow tool work (the snap's GrabCut)
        # on a pool thread, done/failed called back on the UI thread; alone, the view runs it here
        self.run_in_background = _run_here
        self._listener = None
        self._tool_name = "brush"
        self._class = 0
        self._only_over: int | None = None
        self._brush = 20
        self._auto_fit = True
        self._space = False
        self._pan_from: QPointF | None = None
        self._last_pixel = (-1, -1)
        self._polygon = PolygonTool(self)
        self.picker = ClassPicker(self)  # the pick tool's list of likely classes (keys 1-5)
        self._next_likely = NextLikelyClass(self)
        self._tool = self._make_tool("brush")
        self._update_cursor_shape()

    # ------------------------------------------------------------------ content

    def set_image(self, rgb: np.ndarray | None) -> None:
        """Show an (H, W, 3) uint8 RGB photo (no copy when C-contiguous) and fit it.

        A document of another size is detached; set the matching one next.
        """
        self._cancel_tool()
        if rgb is None:
            self._pixels = None
            self._image_item.set_image(QImage())
        else:
            self._pixels = np.ascontiguousarray(rgb, dtype=np.uint8)
            self._image_item.set_image(wrap_rgb(self._pixels), self._pixels)
            if self._doc is not None and self._doc.shape != self._pixels.shape[:2]:
                self.set_document(None)
        self._update_scene_rect()
        self.fit_to_window()

    def image_size(self) -> tuple[int, int]:
        """(width, height) of the shown image or document, (0, 0) when empty."""
        if self._pixels is not None:
            return self._pixels.shape[1], self._pixels.shape[0]
        if self._doc is not None:
            return self._doc.width, self._doc.height
        return 0, 0

    def set_document(self, doc: MaskDocument | None) -> None:
        """Edit ``doc`` (None: show no mask). The view listens to it for repaints."""
        self._cancel_tool()
        if self._doc is not None and self._listener is not None:
            self._doc.remove_listener(self._listener)
        if doc is not None and self._pixels is not None and doc.shape != self._pixels.shape[:2]:
            raise ValueError(f"the document is {doc.width}x{doc.height} but the image is "
                             f"{self._pixels.shape[1]}x{self._pixels.shape[0]}")
        self._doc = doc
        self._listener = None
        if doc is not None:
            self._listener = _weak_listener(self)
            doc.add_listener(self._listener)
        self._layers.set_document(doc)
        if self._pixels is None:
            self._update_scene_rect()
            self.fit_to_window()

    def document(self) -> MaskDocument | None:
        return self._doc

    def image_array(self) -> np.ndarray | None:
        """The shown photo (H, W, 3) RGB uint8, for tools that look at the image's edges."""
        return self._pixels

    def next_likely_class(self) -> int | None:
        """The region under the cursor takes the next class of its ranking (key N); None
        when there is no ranking or no other class. Pressing again cycles."""
        x, y = self._last_pixel
        return self._next_likely.step(x, y)

    def refresh(self, rect: Rect | None = None) -> None:
        """Repaint ``rect`` (x, y, w, h) of the mask, or all of it. Changes made through the
        document's operations (undo/redo included) repaint by themselves; call this after
        writing to its arrays directly."""
        self._layers.on_change(rect)
        if rect is None:
            self.viewport().update()

    def _on_document_changed(self, rect: Rect) -> None:
        self._layers.on_change(rect)
        self._polygon.document_changed()  # an editable polygon ends with a change it did not make

    # ------------------------------------------------------------------ appearance

    def set_opacity(self, opacity: float) -> None:
        """Opacity of the class colours, 0..1 (the alpha of the overlay's colour table)."""
        self._layers.set_opacity(opacity)

    def opacity(self) -> float:
        return self._layers.opacity

    def set_outline_only(self, on: bool) -> None:
        """Draw only the class boundaries instead of filled regions."""
        self._layers.set_outline(on)

    def set_mask_visible(self, visible: bool) -> None:
        """Show or hide the whole mask (the window binds a hold-key to it)."""
        self._layers.set_mask_visible(visible)

    def mask_shown(self) -> bool:
        """Whether the mask is drawn now (not hidden, and there is one)."""
        return self._layers.labels_item.isVisible()

    def set_class_visible(self, idx: int, visible: bool) -> None:
        self._layers.set_class_visible(idx, visible)

    def set_show_confidence(self, on: bool) -> None:
        """Overlay a heat map that is the stronger the lower the model's confidence."""
        self._layers.set_show_confidence(on)

    def overlay_color_table(self) -> list[int]:
        """The overlay's 256 ARGB colour-table entries (for tests and the legend)."""
        return self._layers.color_table()

    def overlay_image(self):
        """The overlay QImage (Format_Indexed8) as currently drawn."""
        return self._layers.labels_item.image()

    def confidence_image(self):
        """The low-confidence heat QImage (Format_Indexed8; null until first shown)."""
        return self._layers.heat_item.image()

    def class_color(self, idx: int | None) -> QColor:
        if self._doc is None or idx is None or not 0 <= idx < len(self._doc.classes):
            return QColor(255, 255, 255)
        return QColor(*self._doc.classes.palette[idx])

    # ------------------------------------------------------------------ tools

    def set_tool(self, name: str) -> None:
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r}; expected one of {', '.join(TOOLS)}")
        if name == self._tool_name:
            return
        self._cancel_tool()
        self._tool_name = name
        self._tool = self._make_tool(name)
        self._update_cursor_shape()
        self.toolChanged.emit(name)

    def tool(self) -> str:
        return self._tool_name

    def _make_tool(self, name: str):
        if name in ("brush", "eraser", "accept"):
            return StrokeTool(self, name)
        if name in ("fill", "relabel"):
            return ClickTool(self, name)
        if name == "polygon":
            return self._polygon
        if name == "pick":
            return PickTool(self)
        if name == "snap":
            return SnapTool(self)
        if name == "superpixel":
            return SuperpixelTool(self)
        return None  # pan

    def _cancel_tool(self) -> None:
        if self._tool is not None:
            self._tool.cancel()

    def set_current_class(self, idx: int) -> None:
        self._class = int(idx)
        if self._tool is self._polygon and self._polygon.active:
            self._polygon.redraw()

    def current_class(self) -> int:
        return self._class

    def editable_polygon(self) -> list[tuple[int, int]]:
        """The vertices of the filled polygon that can still be edited ([] when none)."""
        return list(self._polygon.outline)

    def set_only_over(self, idx: int | None) -> None:
        """Restrict brush, eraser, polygon and fill to pixels of class ``idx`` (None: any)."""
        self._only_over = None if idx is None else int(idx)

    def only_over(self) -> int | None:
        return self._only_over

    def set_brush_size(self, px: int) -> None:
        """Brush diameter in image pixels."""
        px = int(min(max(int(px), 1), MAX_BRUSH))
        if px == self._brush:
            return
        self._brush = px
        self._cursor_item.set_radius(px / 2.0)
        self.brushSizeChanged.emit(px)

    def step_brush_size(self, direction: int) -> None:
        """One step smaller (-1) or larger (+1): 20 % of the size, at least a pixel."""
        if direction < 0:
            self.set_brush_size(min(self._brush - 1, round(self._brush / 1.2)))
        else:
            self.set_brush_size(max(self._brush + 1, round(self._brush * 1.2)))

    def brush_size(self) -> int:
        return self._brush

    def _update_cursor_shape(self) -> None:
        stroke = self._tool_name in STROKE_TOOLS
        self._cursor_item.set_radius(self._brush / 2.0)
        if not stroke:
            self._cursor_item.setVisible(False)
        if self._tool_name == "pan" or self._space:
            shape = Qt.CursorShape.OpenHandCursor
        elif self._tool_name in ("fill", "relabel"):
            shape = Qt.CursorShape.PointingHandCursor
        else:
            shape = Qt.CursorShape.CrossCursor
        self.viewport().setCursor(QCursor(shape))

    # ------------------------------------------------------------------ zoom and pan

    def scale_factor(self) -> float:
        return self.transform().m11()

    def _to_scene(self, view_pos: QPointF) -> QPointF:
        inverse, _ = self.viewportTransform().inverted()
        return inverse.map(QPointF(view_pos))

    def _pixel_at(self, view_pos: QPointF) -> tuple[int, int]:
        p = self._to_scene(view_pos)
        return math.floor(p.x()), math.floor(p.y())

    def _update_scene_rect(self) -> None:
        w, h = self.image_size()
        s = self.scale_factor()
        mx, my = self.viewport().width() / s, self.viewport().height() / s
        self.setSceneRect(QRectF(-mx, -my, w + 2 * mx, h + 2 * my))
        self._cursor_item.set_view_scale(s)
        self._polygon.set_view_scale(s)

    def _set_scale(self, scale: float) -> None:
        self.setTransform(QTransform.fromScale(scale, scale))
        self._update_scene_rect()

    def _place(self, scene_pt: QPointF, view_pos: QPointF) -> None:
        """Scroll so that ``scene_pt`` lies under ``view_pos``."""
        now = self.viewportTransform().map(scene_pt)
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + round(now.x() - view_pos.x()))
        v.setValue(v.value() + round(now.y() - view_pos.y()))

    def zoom_at(self, factor: float, view_pos: QPointF) -> None:
        """Multiply the scale by ``factor`` keeping the image point under ``view_pos`` still."""
        old = self.scale_factor()
        new = min(max(old * factor, MIN_SCALE), MAX_SCALE)
        if new == old:
            return
        anchor = self._to_scene(view_pos)
        self._set_scale(new)
        self._place(anchor, QPointF(view_pos))
        self._auto_fit = False
        self.zoomChanged.emit(new)

    def fit_to_window(self) -> None:
        """Scale the whole image into the viewport, centred; stays fitted on resize until
        the person zooms or pans. A thin image (1 x 5000) would be a sliver nobody sees: its
        short side is kept at least :data:`MIN_VISIBLE_SIDE` screen pixels wide, centred,
        and the long side is scrolled."""
        w, h = self.image_size()
        vw, vh = max(1, self.viewport().width()), max(1, self.viewport().height())
        scale = 1.0 if w == 0 or h == 0 else min(vw / w, vh / h)
        if w and h and scale * min(w, h) < MIN_VISIBLE_SIDE:
            scale = min(MIN_VISIBLE_SIDE / min(w, h), min(vw, vh) / min(w, h))
        scale = min(max(scale, MIN_SCALE), MAX_SCALE)
        self._set_scale(scale)
        self._place(QPointF(w / 2.0, h / 2.0), QPointF(vw / 2.0, vh / 2.0))
        self._auto_fit = True
        self.zoomChanged.emit(scale)

    def zoom_1to1(self) -> None:
        """One screen pixel per image pixel, keeping the centre of the view where it is."""
        centre = QPointF(self.viewport().width() / 2.0, self.viewport().height() / 2.0)
        self.zoom_at(1.0 / self.scale_factor(), centre)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the image by (dx, dy) screen pixels."""
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - round(dx))
        v.setValue(v.value() - round(dy))
        self._auto_fit = False

    def resizeEvent(self, event) -> None:
        centre = self._to_scene(QPointF(self.viewport().width() / 2.0, self.viewport().height() / 2.0))
        super().resizeEvent(event)
        self._update_scene_rect()
        if self._auto_fit:
            self.fit_to_window()
        else:
            self._place(centre, QPointF(self.viewport().width() / 2.0, self.viewport().height() / 2.0))

    # ------------------------------------------------------------------ events

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_at(1.0015 ** delta, event.position())
        event.accept()

    def _starts_pan(self, event: QMouseEvent) -> bool:
        if event.button() == Qt.MouseButton.MiddleButton:
            return True
        return event.button() == Qt.MouseButton.LeftButton and (self._space or self._tool_name == "pan")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._starts_pan(event):
            self._pan_from = event.position()
            self.viewport().setCursor(QCursor(Qt.CursorShape.ClosedHandCursor))
        elif event.button() == Qt.MouseButton.LeftButton and self._tool is not None:
            self._tool.press(*self._pixel_at(event.position()))
        elif event.button() == Qt.MouseButton.RightButton and self._tool is self._polygon:
            if self._polygon.active:
                self._polygon.undo_vertex()
            else:  # on a vertex of the polygon still editable: it goes
                self._polygon.remove_vertex_at(*self._pixel_at(event.position()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._pan_from is not None:
            d = pos - self._pan_from
            self._pan_from = pos
            self.pan_by(d.x(), d.y())
        x, y = self._pixel_at(pos)
        self._move_brush_cursor(x, y)
        if self._tool is not None and self._pan_from is None:
            self._tool.move(x, y)
        self._report_pixel(x, y)
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self._update_cursor_shape()
        elif event.button() == Qt.MouseButton.LeftButton and self._tool is not None:
            self._tool.release()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._tool is self._polygon and event.button() == Qt.MouseButton.LeftButton and self._polygon.active:
            self._polygon.close()
        elif isinstance(self._tool, SnapTool) and event.button() == Qt.MouseButton.LeftButton:
            self._tool.close()  # the first click of the double click added the last vertex
        else:
            self.mousePressEvent(event)
        event.accept()

    def leaveEvent(self, event) -> None:
        self._cursor_item.setVisible(False)
        self._report_pixel(-1, -1)
        super().leaveEvent(event)

    def event(self, event) -> bool:
        """While the class picker is open, its keys 1-5 and Esc win over the window's shortcuts."""
        if event.type() == QEvent.Type.ShortcutOverride and self.picker.isVisible() \
                and _picker_key(event) is not None:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if self.picker.isVisible() and _picker_key(event) is not None:
            number = _picker_key(event)
            if number == 0:
                self.picker.close_picker()
            else:
                self.picker.pick(number)
            event.accept()
            return
        if key == Qt.Key.Key_BracketLeft or event.text() == "[":
            self.step_brush_size(-1)
        elif key == Qt.Key.Key_BracketRight or event.text() == "]":
            self.step_brush_size(1)
        elif key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self._update_cursor_shape()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._tool is self._polygon:
            if self._polygon.active:
                self._polygon.close()
            else:
                self._polygon.finish_editing()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and isinstance(self._tool, SnapTool) \
                and self._tool.vertices:
            self._tool.close()
        elif key == Qt.Key.Key_Escape and isinstance(self._tool, SnapTool) and self._tool.vertices:
            self._tool.drop()
        elif key == Qt.Key.Key_Escape and self._tool is self._polygon:
            self._polygon.cancel()
        elif key == Qt.Key.Key_Backspace and self._tool is self._polygon and self._polygon.active:
            self._polygon.undo_vertex()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self._tool is self._polygon \
                and self._polygon.editing:
            self._polygon.remove_hovered_vertex()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_cursor_shape()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def _move_brush_cursor(self, x: int, y: int) -> None:
        show = self._tool_name in STROKE_TOOLS and self.image_size() != (0, 0)
        self._cursor_item.setVisible(show)
        if show:
            self._cursor_item.setPos(x + 0.5, y + 0.5)

    def _report_pixel(self, x: int, y: int) -> None:
        w, h = self.image_size()
        if not (0 <= x < w and 0 <= y < h):
            x, y = -1, -1
        if (x, y) != self._last_pixel:
            self._last_pixel = (x, y)
            self.cursorMoved.emit(x, y)


def _picker_key(event: QKeyEvent) -> int | None:
    """1-5 for the picker's digit keys, 0 for Esc, None for any other key."""
    if event.key() == Qt.Key.Key_Escape:
        return 0
    if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
        return None
    text = event.text()
    return int(text) if text in ("1", "2", "3", "4", "5") else None


def _weak_listener(view: CanvasView):
    """A document listener that does not keep the view alive (documents outlive views)."""
    ref = weakref.ref(view)

    def listener(rect: Rect) -> None:
        target = ref()
        if target is not None:
            try:
                target._on_document_changed(rect)
            except RuntimeError:  # the C++ widget is gone
                pass

    return listener


def _run_here(fn, done, failed) -> None:
    """The view's own ``run_in_background``: runs ``fn`` now (no window, e.g. a test of the view)."""
    try:
        result = fn()
    except Exception as error:  # reported like a pool failure, never raised into Qt's event handler
        failed(str(error) or type(error).__name__)
        return
    done(result)
