"""Editing tools that use what the model knows: its class rankings and the image's edges.

- pick tool (K): click a region, its 3-5 most likely classes (mean probability over the
  region) appear beside the cursor; a key 1-5 or a click gives the region that class;
- next most likely class (N): the region under the cursor takes the next class of its
  ranking; pressing again cycles through the ranking;
- snap tool (S): a stroke inside an object, or a rough polygon clicked around it (Enter or
  a double click closes it), re-outlines the object along the image's edges (OpenCV GrabCut,
  seeded by the stroke or the polygon and the model's labels of the current class): it
  grows to the edges, and what the object held beyond them takes the model's next most
  likely class there (the neighbouring label where the model ranked none);
- superpixel brush (X): paints whole superpixels (a compact watershed from a grid of seeds
  over the image gradient, computed tile by tile only where the brush goes).

Each edit is one undo step through :class:`MaskDocument` (``paint_region`` for the tools that
act on a region, so the pixels a person painted stay; ``paint_mask`` for the snap); the numpy
parts (:func:`snap_to_edges`, :func:`snap_stroke`, :func:`reoutline`, :func:`superpixels`)
need no Qt, are tested alone and are what ``benchmarks/annotation_effort.py`` applies.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QFrame, QGraphicsPathItem, QLabel, QVBoxLayout

from .host import ToolHost
from .tools import StrokeTool


SNAP_MAX_SIDE = 480  # GrabCut runs on the stroke's neighbourhood shrunk to this size at most
SUPERPIXEL_SIZE = 24  # seed spacing in pixels
TILE = 256  # superpixels are computed per tile of this size, when the brush first reaches it
PICK_LIMIT = 5


# ---------------------------------------------------------------------------- numpy parts

def snap_to_edges(rgb: np.ndarray, seed: np.ndarray, probable: np.ndarray | None = None,
                  iterations: int = 3) -> np.ndarray:
    """The object around ``seed`` (bool mask, same size as ``rgb``): GrabCut with the seed as
    sure foreground, ``probable`` (e.g. the model's pixels of that class) as probable
    foreground, everything else probable background and the border sure background."""
    height, width = seed.shape
    gc = np.full((height, width), cv2.GC_PR_BGD, np.uint8)
    if probable is not None:
        gc[probable] = cv2.GC_PR_FGD
    gc[[0, -1], :] = cv2.GC_BGD
    gc[:, [0, -1]] = cv2.GC_BGD
    gc[seed] = cv2.GC_FGD
    if not (gc == cv2.GC_FGD).any() or (gc == cv2.GC_BGD).sum() + (gc == cv2.GC_PR_BGD).sum() == 0:
        return seed.copy()
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), gc, None, background, foreground, iterations,
                    cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # e.g. a region of one flat colour: nothing to learn from, keep the stroke
        return seed.copy()
    found = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    # only the part connected to the stroke: GrabCut may pick up look-alike patches elsewhere
    count, parts = cv2.connectedComponents(found.astype(np.uint8), connectivity=4)
    keep = np.unique(parts[seed & found])
    keep = keep[keep > 0]
    return np.isin(parts, keep) | seed if count > 1 else found | seed


def released_classes(labels: np.ndarray, cls: int, origin: tuple[int, int] = (0, 0), rankings=None,
                     class_count: int = 256) -> np.ndarray:
    """What each pixel of the crop ``labels`` (top-left at ``origin`` in the image) becomes
    when an object of ``cls`` gives it up: the model's most likely other class there, else
    the label of the nearest pixel outside the object."""
    outside = labels != cls
    if outside.any():  # each pixel's nearest outside pixel; their ids count the outside pixels from 1
        _, nearest = cv2.distanceTransformWithLabels((~outside).astype(np.uint8), cv2.DIST_L2, 3,
                                                     labelType=cv2.DIST_LABEL_PIXEL)
        neighbour = labels.ravel()[np.flatnonzero(outside)][nearest - 1]
    else:
        neighbour = np.full(labels.shape, cls, np.uint8)
    if rankings is None:
        return neighbour
    ox, oy = origin
    box = (oy, oy + labels.shape[0], ox, ox + labels.shape[1])
    model = rankings.best_other(cls, box, class_count)
    return np.where(model != 255, model, neighbour).astype(np.uint8)


def cut_edges(crop: tuple[int, int, int, int], image_shape: tuple[int, int]) -> np.ndarray:
    """The pixels of a crop (y0, y1, x0, x1) on its sides that cut through the image (not
    the image's own border): an object reaching them goes on beyond the crop."""
    y0, y1, x0, x1 = crop
    edges = np.zeros((y1 - y0, x1 - x0), bool)
    edges[0, :] |= y0 > 0
    edges[-1, :] |= y1 < image_shape[0]
    edges[:, 0] |= x0 > 0
    edges[:, -1] |= x1 < image_shape[1]
    return edges


def reoutline(labels: np.ndarray, found: np.ndarray, seed: np.ndarray, cls: int, origin: tuple[int, int] = (0, 0),
              rankings=None, class_count: int = 256, cut: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The edit that makes the object at ``seed`` exactly ``found`` (both masks of the crop
    ``labels``): (values, mask) for :meth:`MaskDocument.paint_mask`. The object is the
    pieces of ``cls`` the seed touches or ``found`` mostly covers; their pixels outside
    ``found`` are released (see :func:`released_classes`). A piece that reaches ``cut``
    (:func:`cut_edges`) goes on outside the crop, where GrabCut did not look: it only grows.
    Other objects of the class are left alone."""
    found, seed = np.asarray(found, dtype=bool), np.asarray(seed, dtype=bool)
    current = (labels == cls).astype(np.uint8)
    count, parts = cv2.connectedComponents(current, connectivity=4)
    sizes = np.bincount(parts.ravel(), minlength=count)
    covered = np.bincount(parts[found], minlength=count)
    pieces = (covered * 2 >= sizes) | np.isin(np.arange(count), parts[seed])
    pieces[0] = False  # not the class
    if cut is not None:
        pieces[np.unique(parts[cut])] = False
    released = pieces[parts] & ~found
    values = np.full(labels.shape, cls, np.uint8)
    if released.any():
        values[released] = released_classes(labels, cls, origin, rankings, class_count)[released]
    return values, found | released


def _object_box(labels: np.ndarray, stroke: np.ndarray, cls: int, near: tuple[int, int, int, int],
                margin: int = 8) -> tuple[int, int, int, int] | None:
    """The box (y0, y1, x0, x1), with a margin, of the pieces of ``cls`` the stroke touches,
    when they are at most three times the stroke's neighbourhood ``near``; else None (a big
    region, e.g. the road of a street scene, is only grown, never re-outlined from a short stroke)."""
    height, width = labels.shape
    limit = min(2 * SNAP_MAX_SIDE, 3 * max(near[1] - near[0], near[3] - near[2]))
    y0, y1 = max(0, near[0] - limit), min(height, near[1] + limit)
    x0, x1 = max(0, near[2] - limit), min(width, near[3] + limit)
    window = labels[y0:y1, x0:x1] == cls
    touched = window & stroke[y0:y1, x0:x1]
    if not touched.any():
        return None
    _, parts, stats, _ = cv2.connectedComponentsWithStats(window.view(np.uint8), connectivity=4)
    ids = np.unique(parts[touched])
    left, top = stats[ids, cv2.CC_STAT_LEFT], stats[ids, cv2.CC_STAT_TOP]
    right, bottom = left + stats[ids, cv2.CC_STAT_WIDTH], top + stats[ids, cv2.CC_STAT_HEIGHT]
    box = (y0 + int(top.min()), y0 + int(bottom.max()), x0 + int(left.min()), x0 + int(right.max()))
    if box[0] == y0 > 0 or box[1] == y1 < height or box[2] == x0 > 0 or box[3] == x1 < width \
            or max(box[1] - box[0], box[3] - box[2]) > limit:
        return None
    return (max(0, box[0] - margin), min(height, box[1] + margin), max(0, box[2] - margin), min(width, box[3] + margin))


def snap_stroke(rgb: np.ndarray, labels: np.ndarray, stroke: np.ndarray, cls: int, prediction: np.ndarray | None = None,
                rankings=None, class_count: int = 256) -> tuple[tuple[int, int], np.ndarray, np.ndarray] | None:
    """The snap tool's edit for a ``stroke`` (full-image bool mask) inside an object of
    ``cls``: ((x0, y0), values, mask) over the stroke's neighbourhood, or None for no stroke."""
    ys, xs = np.nonzero(stroke)
    if ys.size == 0:
        return None
    height, width = labels.shape
    span = max(ys.max() - ys.min(), xs.max() - xs.min(), 1)
    margin = max(16, int(span * 0.6))
    y0, y1 = max(0, ys.min() - margin), min(height, ys.max() + margin + 1)
    x0, x1 = max(0, xs.min() - margin), min(width, xs.max() + margin + 1)
    box = _object_box(labels, stroke, cls, (int(y0), int(y1), int(x0), int(x1)))
    if box is not None:  # the whole object the stroke is in, so it can also shrink
        y0, y1, x0, x1 = min(y0, box[0]), max(y1, box[1]), min(x0, box[2]), max(x1, box[3])
    probable = prediction[y0:y1, x0:x1] == cls if prediction is not None else None
    seed = stroke[y0:y1, x0:x1]
    found = _snap_scaled(rgb[y0:y1, x0:x1], seed, probable)
    origin = (int(x0), int(y0))
    values, mask = reoutline(labels[y0:y1, x0:x1], found, seed, cls, origin, rankings, class_count,
                             cut_edges((y0, y1, x0, x1), labels.shape))
    return origin, values, mask


def superpixels(rgb: np.ndarray, size: int = SUPERPIXEL_SIZE) -> np.ndarray:
    """(H, W) int32 superpixel ids of an RGB tile: watershed of the colour gradient from a
    regular grid of seeds (a compact-watershed superpixel scheme; every pixel gets an id)."""
    height, width = rgb.shape[:2]
    markers = np.zeros((height, width), np.int32)
    ys = np.arange(size // 2, height, size) if height > size else np.array([height // 2])
    xs = np.arange(size // 2, width, size) if width > size else np.array([width // 2])
    grid_y, grid_x = np.meshgrid(ys, xs, indexing="ij")
    markers[grid_y.ravel(), grid_x.ravel()] = np.arange(1, grid_y.size + 1, dtype=np.int32)
    cv2.watershed(np.ascontiguousarray(rgb[..., ::-1]), markers)
    boundary = markers <= 0  # watershed lines: take the id of a neighbour
    if boundary.any():
        grown = cv2.dilate(np.where(boundary, 0, markers).astype(np.float32), np.ones((3, 3), np.uint8))
        markers[boundary] = grown[boundary].astype(np.int32)
        markers[markers <= 0] = 1
    return markers


class SuperpixelMap:
    """Superpixels of one image, computed tile by tile as the brush reaches them."""

    def __init__(self, rgb: np.ndarray, size: int = SUPERPIXEL_SIZE, tile: int = TILE) -> None:
        self.rgb, self.size, self.tile = rgb, size, tile
        self._tiles: dict[tuple[int, int], np.ndarray] = {}

    def _tile(self, row: int, col: int) -> np.ndarray:
        key = (row, col)
        if key not in self._tiles:
            t = self.tile
            self._tiles[key] = superpixels(self.rgb[row * t:(row + 1) * t, col * t:(col + 1) * t], self.size)
        return self._tiles[key]

    def covering(self, box: tuple[int, int, int, int], mask: np.ndarray) -> tuple[tuple[int, int, int, int],
                                                                                   np.ndarray]:
        """Grow the True pixels of ``mask`` (in ``box`` = (y0, y1, x0, x1)) to whole superpixels
        of the tiles they touch: (box of the result, its mask)."""
        y0, y1, x0, x1 = box
        t = self.tile
        rows, cols = range(y0 // t, (y1 - 1) // t + 1), range(x0 // t, (x1 - 1) // t + 1)
        by0, by1 = rows.start * t, min(self.rgb.shape[0], rows.stop * t)
        bx0, bx1 = cols.start * t, min(self.rgb.shape[1], cols.stop * t)
        out = np.zeros((by1 - by0, bx1 - bx0), bool)
        for row in rows:
            for col in cols:
                ids = self._tile(row, col)
                ty0, tx0 = row * t, col * t
                sy0, sy1 = max(y0, ty0), min(y1, ty0 + ids.shape[0])
                sx0, sx1 = max(x0, tx0), min(x1, tx0 + ids.shape[1])
                if sy1 <= sy0 or sx1 <= sx0:
                    continue
                hit = mask[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
                touched = np.unique(ids[sy0 - ty0:sy1 - ty0, sx0 - tx0:sx1 - tx0][hit])
                if touched.size:
                    out[ty0 - by0:ty0 - by0 + ids.shape[0], tx0 - bx0:tx0 - bx0 + ids.shape[1]] |= np.isin(ids, touched)
        return (by0, by1, bx0, bx1), out


# ---------------------------------------------------------------------------- the class picker

class ClassPicker(QFrame):
    """The region's likely classes beside the cursor: "1 road 62 %" ...; keys 1-5 or a click."""

    def __init__(self, view: ToolHost) -> None:
        super().__init__(view.viewport())
        self.view = view
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 4, 6, 4)
        self._layout.setSpacing(2)
        self.rows: list[QLabel] = []
        self.choices: list[int] = []
        self._region: tuple[tuple[int, int], np.ndarray] | None = None
        self.hide()

    def show_for(self, region: tuple[tuple[int, int], np.ndarray], ranked: list[tuple[int, float]],
                 at: QPointF) -> None:
        for row in self.rows:
            row.deleteLater()
        self.rows, self.choices, self._region = [], [c for c, _ in ranked], region
        names = self.view.document().classes.names
        for i, (cls, probability) in enumerate(ranked, 1):
            colour = QColor(*self.view.document().classes.palette[cls]).name()
            row = QLabel(f"<b>{i}</b>&nbsp;<span style='color:{colour}'>■</span>&nbsp;{names[cls]}"
                         f"&nbsp;&nbsp;{probability:.0%}", self)
            row.setTextFormat(Qt.TextFormat.RichText)
            row.mousePressEvent = lambda _event, n=i: self.pick(n)  # a click on a row picks it
            self._layout.addWidget(row)
            self.rows.append(row)
        self.adjustSize()
        self.move(int(at.x()) + 12, int(at.y()) + 12)
        self.show()
        self.raise_()

    def pick(self, number: int) -> int | None:
        """Give the region class ``number`` (1-based) of the list; returns the class."""
        if not self.isVisible() or not 1 <= number <= len(self.choices) or self._region is None:
            return None
        cls = self.choices[number - 1]
        origin, mask = self._region
        self.close_picker()
        doc = self.view.document()
        if doc is not None and doc.paint_region(mask, origin, cls) is not None:
            self.view.edited.emit()
        return cls

    def close_picker(self) -> None:
        self._region = None
        self.hide()


# ---------------------------------------------------------------------------- tools

class PickTool:
    """Click a region: the picker lists its most likely classes."""

    def __init__(self, view: ToolHost) -> None:
        self.view = view
        self.active = False

    def press(self, x: int, y: int) -> None:
        doc = self.view.document()
        if doc is None:
            return
        if doc.rankings is None:
            self.view.message.emit("No class rankings for this image yet: pre-segment it first")
            return
        region = doc.region_at(x, y)
        ranked = doc.region_classes(x, y, PICK_LIMIT)
        if region is None or not ranked:
            return
        at = self.view.mapFromScene(QPointF(x + 0.5, y + 0.5))
        self.view.picker.show_for(region, ranked, QPointF(at))

    def move(self, x: int, y: int) -> None:
        pass

    def release(self) -> None:
        pass

    def cancel(self) -> None:
        self.view.picker.close_picker()


class NextLikelyClass:
    """Key N: the region under the cursor cycles through its ranking, one class per press."""

    def __init__(self, view: ToolHost) -> None:
        self.view = view
        self._cycle: tuple[tuple[int, int], np.ndarray, list[int], int] | None = None

    def step(self, x: int, y: int) -> int | None:
        doc = self.view.document()
        if doc is None or doc.rankings is None or not (0 <= x < doc.width and 0 <= y < doc.height):
            return None
        cycle = self._cycle
        if cycle is not None and self._still_applies(doc, cycle, x, y):
            origin, mask, ranking, index = cycle
        else:
            region = doc.region_at(x, y)
            ranking = [c for c, _ in doc.region_classes(x, y, PICK_LIMIT)]
            if region is None or not ranking:
                return None
            origin, mask = region[0], doc.writable_part(region[1], region[0])  # a person's pixels stay
            current = int(doc.labels[y, x])
            index = ranking.index(current) if current in ranking else -1
        if len(ranking) < 2 and doc.labels[y, x] in ranking:
            return None  # the model knows no other class here
        index = (index + 1) % len(ranking)
        cls = ranking[index]
        if doc.paint_region(mask, origin, cls) is not None:
            self.view.edited.emit()
        self._cycle = (origin, mask, ranking, index)
        return cls

    @staticmethod
    def _still_applies(doc, cycle, x: int, y: int) -> bool:
        """The same region, still labelled as the last press left it (so presses cycle)."""
        (ox, oy), mask, ranking, index = cycle
        if not (0 <= y - oy < mask.shape[0] and 0 <= x - ox < mask.shape[1]) or not mask[y - oy, x - ox]:
            return False
        window = doc.labels[oy:oy + mask.shape[0], ox:ox + mask.shape[1]]
        return window.shape == mask.shape and bool((window[mask] == ranking[index]).all())


class _PathStroke:
    """A drag drawn as a path in the scene (nothing is painted until release)."""

    def __init__(self, view: ToolHost) -> None:
        self.view = view
        self.points: list[tuple[int, int]] = []
        self._item = QGraphicsPathItem()
        self._item.setZValue(52)
        view.scene().addItem(self._item)

    @property
    def active(self) -> bool:
        return bool(self.points)

    def _redraw(self) -> None:
        path = QPainterPath()
        if self.points:
            path.moveTo(QPointF(self.points[0][0] + 0.5, self.points[0][1] + 0.5))
            for x, y in self.points[1:]:
                path.lineTo(QPointF(x + 0.5, y + 0.5))
        pen = QPen(self.view.class_color(self.view.current_class()), max(1.0, self.view.brush_size()))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        self._item.setPen(pen)
        self._item.setOpacity(0.6)
        self._item.setPath(path)

    def press(self, x: int, y: int) -> None:
        if self.view.document() is not None:
            self.points = [(x, y)]
            self._redraw()

    def move(self, x: int, y: int) -> None:
        if self.points and (x, y) != self.points[-1]:
            self.points.append((x, y))
            self._redraw()

    def _stroke_mask(self, shape: tuple[int, int]) -> np.ndarray:
        mask = np.zeros(shape, np.uint8)
        pts = np.array(self.points, np.int32).reshape(-1, 1, 2)
        cv2.polylines(mask, [pts], False, 1, thickness=max(1, self.view.brush_size()))
        if len(self.points) == 1:
            cv2.circle(mask, self.points[0], max(1, self.view.brush_size() // 2), 1, -1)
        return mask.view(bool)

    def cancel(self) -> None:
        self.points = []
        self._redraw()


def snap_polygon(rgb: np.ndarray, labels: np.ndarray, vertices, cls: int, prediction: np.ndarray | None = None,
                 rankings=None, class_count: int = 256) -> tuple[tuple[int, int], np.ndarray, np.ndarray] | None:
    """The snap tool's edit for a rough polygon around an object of ``cls``: the polygon's
    centre is sure foreground, the rest of it (and the model's pixels of the class) probable
    foreground, a band around it probable background; the object is re-outlined (see
    :func:`reoutline`). ((x0, y0), values, mask) over the band's box, or None."""
    pts = np.asarray(vertices, np.int32).reshape(-1, 2)
    if len(pts) < 3:
        return None
    height, width = rgb.shape[:2]
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0) + 1
    band = max(3, int(0.15 * min(x1 - x0, y1 - y0)))
    x0, y0 = max(0, x0 - band), max(0, y0 - band)
    x1, y1 = min(width, x1 + band), min(height, y1 + band)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(inside, [(pts - (x0, y0)).reshape(-1, 1, 2)], 1)
    distance = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    core = distance >= max(1.0, 0.6 * float(distance.max()))  # a rough polygon's corners may be outside
    likely = inside.astype(bool)
    if prediction is not None:
        likely |= prediction[y0:y1, x0:x1] == cls
    origin = (int(x0), int(y0))
    found = _snap_scaled(rgb[y0:y1, x0:x1], core, likely)
    return (origin, *reoutline(labels[y0:y1, x0:x1], found, core, cls, origin, rankings, class_count,
                               cut_edges((y0, y1, x0, x1), labels.shape)))


class SnapTool(_PathStroke):
    """Drag inside an object: on release the object is re-outlined along the edges around
    the stroke. Or click a rough polygon around it (Enter or a double click closes it).

    GrabCut takes a few hundred milliseconds on a big photo, so it runs through the view's
    ``run_in_background`` on a copy of the labels; the stroke stays drawn until the edit
    lands. An edit made meanwhile in the same area wins: the snap is then dropped, and said.
    """

    def __init__(self, view: ToolHost) -> None:
        super().__init__(view)
        self.vertices: list[tuple[int, int]] = []

    @property
    def active(self) -> bool:
        return bool(self.points or self.vertices)

    def _redraw(self) -> None:
        super()._redraw()  # the stroke being dragged, if any
        if self.vertices:  # the polygon being clicked, closed back to its first vertex
            path = self._item.path()
            path.moveTo(QPointF(self.vertices[0][0] + 0.5, self.vertices[0][1] + 0.5))
            for x, y in self.vertices[1:] + self.vertices[:1]:
                path.lineTo(QPointF(x + 0.5, y + 0.5))
            pen = QPen(self.view.class_color(self.view.current_class()), 2.0)
            pen.setCosmetic(True)
            self._item.setPen(pen)
            self._item.setPath(path)

    def close(self) -> None:
        """Snap the clicked polygon (3 vertices at least) and paint it."""
        vertices, self.vertices, self.points = self.vertices, [], []  # the outline stays drawn until it lands
        doc, view, rgb = self.view.document(), self.view, self.view.image_array()
        if doc is None or rgb is None:
            self.cancel()
            return
        cls, prediction, rankings = view.current_class(), doc.prediction, doc.rankings
        self._snap_in_background(lambda labels: snap_polygon(rgb, labels, vertices, cls, prediction, rankings,
                                                             len(doc.classes)))

    def undo_vertex(self) -> None:
        if self.vertices:
            self.vertices.pop()
            self._redraw()

    def cancel(self) -> None:
        self.points = []
        if not self.vertices:
            super().cancel()
        else:
            self._redraw()

    def drop(self) -> None:
        """Esc: forget the polygon being clicked."""
        self.vertices = []
        self.cancel()

    def _paint(self, origin, values: np.ndarray, mask: np.ndarray) -> None:
        doc, view = self.view.document(), self.view
        x0, y0 = origin
        if view.only_over() is not None:
            mask = mask & (doc.labels[y0:y0 + mask.shape[0], x0:x0 + mask.shape[1]] == view.only_over())
        if doc.paint_mask(mask, origin, values) is not None:
            view.edited.emit()

    def release(self) -> None:
        doc, view = self.view.document(), self.view
        rgb = view.image_array()
        if not self.points or doc is None or rgb is None:
            self.cancel()
            return
        if len(self.points) == 1 or self.vertices:  # a click: one vertex of a polygon
            self.vertices.append(self.points[0] if len(self.points) == 1 else self.points[-1])
            self.points = []
            self._redraw()
            return
        stroke = self._stroke_mask(doc.shape)
        self.points = []  # the stroke stays drawn until the edit lands
        cls, prediction, rankings = view.current_class(), doc.prediction, doc.rankings
        self._snap_in_background(lambda labels: snap_stroke(rgb, labels, stroke, cls, prediction, rankings,
                                                            len(doc.classes)))

    def _snap_in_background(self, compute) -> None:
        """``compute(labels)`` -> (origin, values, mask) | None off the UI thread, on a copy
        of the labels; applied on return if the document and that area are as they were."""
        doc, view = self.view.document(), self.view
        labels = doc.labels.copy()

        def land(snapped) -> None:
            if not self.active:
                self._redraw()  # nothing being drawn: take the stroke away
            if snapped is None or view.document() is not doc:
                return
            (x0, y0), _values, mask = snapped
            box = (slice(y0, y0 + mask.shape[0]), slice(x0, x0 + mask.shape[1]))
            if not np.array_equal(doc.labels[box], labels[box]):
                view.message.emit("Snap dropped: that area was edited while it was being computed")
                return
            self._paint(*snapped)

        def failed(message: str) -> None:
            if not self.active:
                self._redraw()
            view.message.emit(f"Snap failed: {message}")

        view.run_in_background(lambda: compute(labels), land, failed)


def _snap_scaled(rgb: np.ndarray, seed: np.ndarray, probable: np.ndarray | None) -> np.ndarray:
    """:func:`snap_to_edges` on a neighbourhood shrunk to :data:`SNAP_MAX_SIDE` (GrabCut's
    time grows with the pixel count), the result scaled back."""
    height, width = seed.shape
    factor = min(1.0, SNAP_MAX_SIDE / max(height, width))
    if factor >= 1.0:
        return snap_to_edges(rgb, seed, probable)
    size = (max(2, round(width * factor)), max(2, round(height * factor)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    small_seed = cv2.resize(seed.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    small_probable = None if probable is None else cv2.resize(probable.astype(np.uint8), size,
                                                               interpolation=cv2.INTER_NEAREST).astype(bool)
    found = snap_to_edges(small, small_seed, small_probable)
    return cv2.resize(found.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool) | seed


class SuperpixelTool(StrokeTool):
    """A brush that paints every superpixel it touches (one undo step per drag)."""

    def __init__(self, view: ToolHost) -> None:
        super().__init__(view, "superpixel")
        self._map: SuperpixelMap | None = None

    def _superpixels(self) -> SuperpixelMap | None:
        rgb = self.view.image_array()
        if rgb is None:
            return None
        if self._map is None or self._map.rgb is not rgb:  # another photo: its own superpixels
            self._map = SuperpixelMap(rgb)
        return self._map

    def _paint(self, p0, p1) -> None:
        doc, view = self.view.document(), self.view
        spx = self._superpixels()
        if doc is None or spx is None:
            return
        if not doc.in_stroke:
            doc.begin_stroke()
        value = view.current_class()
        for box, mask in doc._disc_masks(p0, p1, view.brush_size() / 2.0):
            (y0, y1, x0, x1), grown = spx.covering(box, mask)
            if view.only_over() is not None:
                grown &= doc.labels[y0:y1, x0:x1] == view.only_over()
            doc.paint_mask(grown, (x0, y0), value)


__all__ = ["ClassPicker", "NextLikelyClass", "PickTool", "SnapTool", "SuperpixelMap", "SuperpixelTool",
           "released_classes", "reoutline", "snap_polygon", "snap_stroke", "snap_to_edges", "superpixels"]
