"""The corrections a simulated annotator can make with each app tool, with what they cost.

Each correction edits the real :class:`~app.canvas.document.MaskDocument` (undo steps) with
the app's own operations and :func:`app.canvas.model_tools.snap_stroke`. Placement comes
from :mod:`.placement` (what a person sees); costs from :mod:`.costs`.

Foreseeable tools (polygon, brush, fill, pick, next) show what they will do before the
click, so the annotator may weigh them all. The snap (GrabCut) is not foreseeable: it is
tried, paid and judged (see :mod:`.annotator`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import cv2
import numpy as np

from gcnet_core.project.document import MaskDocument
from app.canvas.model_tools import PICK_LIMIT, snap_stroke
from gcnet_core.model.classes import IGNORE_INDEX

from . import placement
from .costs import Cost, brush_size_cost

FORESEEABLE = ("polygon", "brush", "fill", "pick", "next")
UNFORESEEABLE = ("snap",)
TOOL_KEYS = {"polygon": "P", "brush": "B", "fill": "F", "pick": "K", "snap": "S"}  # "next" is N, no tool


@dataclasses.dataclass(frozen=True)
class Hands:
    """What the person has selected: the tool, the class, the brush size (None: the app's start)."""

    tool: str | None = None
    cls: int | None = None
    size: int | None = None

    def select(self, tool: str, cls: int | None = None, size: int | None = None) -> tuple[Cost, Hands]:
        """The keys that select ``tool``, class ``cls`` and brush ``size``, and the hands then
        (the size reached by [ / ] steps may pass ``size`` a little)."""
        cost = Cost.of(key=int(tool != self.tool) + int(cls is not None and cls != self.cls))
        reached = self.size
        if size is not None:
            size_cost, reached = brush_size_cost(self.size, size)
            cost = cost + size_cost
        return cost, Hands(tool, self.cls if cls is None else cls, reached)


@dataclasses.dataclass
class Correction:
    """One way to fix a region: ``apply()`` makes the edit; ``hands``: the selection after it."""

    name: str
    cost: Cost
    apply: Callable[[], object]
    hands: Hands
    stroke: np.ndarray | None = None  # a snap's stroke: where it was tried


def seeded_snap(seed: int, rgb: np.ndarray, doc: MaskDocument, stroke: np.ndarray, cls: int):
    """:func:`snap_stroke` with OpenCV's random state set first, so GrabCut's k-means starts
    the same way for the same ``seed`` (the app's snap is otherwise a draw of the global state)."""
    cv2.setRNGSeed(int(seed))
    return snap_stroke(rgb, doc.labels, stroke, cls, doc.prediction, doc.rankings, len(doc.classes))


def polygon(doc: MaskDocument, region: np.ndarray, cls: int, hands: Hands) -> Correction | None:
    """Clicked around the region, cutting through pixels that are ``cls`` already; Enter
    closes each polygon (a ring takes two)."""
    polygons = placement.polygon_around(region, doc.labels, cls)
    if not polygons:
        return None
    keys, after = hands.select("polygon", cls)
    cost = keys + Cost.of(vertex=sum(len(p) for p in polygons), key=len(polygons), look=len(polygons))

    def apply():
        for vertices in polygons:
            doc.fill_polygon(vertices, cls)

    return Correction("polygon", cost, apply, after)


def trace(doc: MaskDocument, region: np.ndarray, cls: int, hands: Hands) -> Correction:
    """The last resort: the region's whole outline traced exactly with the polygon tool."""
    keys, after = hands.select("polygon", cls)
    cost = keys + Cost.of(vertex=placement.outline_vertices(region), key=1, look=1)
    return Correction("trace", cost, lambda: doc.paint_mask(region, (0, 0), cls), after)


def brushes(doc: MaskDocument, region: np.ndarray, cls: int, hands: Hands) -> list[Correction]:
    """Drags along the whole middle of the region, at its typical width and at its widest."""
    drags = placement.brush_drags(region)
    out = []
    for size in placement.brush_sizes(region):
        keys, after = hands.select("brush", cls, size)
        radius = after.size / 2.0
        widths = sum(placement.path_length(d) for d in drags) / after.size
        cost = keys + Cost.of(widths, drag=len(drags), look=1)

        def paint(radius=radius):
            for drag in drags:
                doc.begin_stroke()
                for p0, p1 in zip(drag, drag[1:] or [None]):
                    doc.paint_disc(p0, p1, radius, cls)
                doc.end_stroke()

        out.append(Correction("brush", cost, paint, after))
    return out


def fill(doc: MaskDocument, region: np.ndarray, cls: int, hands: Hands) -> Correction:
    """A click into the region: its label's whole connected area takes ``cls``."""
    x, y = placement.interior_point(region)
    keys, after = hands.select("fill", cls)
    return Correction("fill", keys + Cost.of(click=1, look=1), lambda: doc.flood_fill(x, y, cls), after)


def pick(doc: MaskDocument, region: np.ndarray, cls: int, hands: Hands) -> Correction | None:
    """Pick tool: a click on the region, then the key of ``cls`` in its ranked list (as the
    app's region tools do, the pixels a person painted keep their labels)."""
    x, y = placement.interior_point(region)
    ranked = [c for c, _ in doc.region_classes(x, y, PICK_LIMIT)]
    if doc.rankings is None or cls not in ranked:
        return None
    area = doc.region_at(x, y)
    keys, after = hands.select("pick")
    return Correction("pick", keys + Cost.of(click=1, key=1, look=1),
                      lambda: doc.paint_region(area[1], area[0], cls), after)


def next_likely(doc: MaskDocument, region: np.ndarray, cls: int, hands: Hands) -> Correction | None:
    """N with the cursor on the region, pressed until it shows ``cls`` (it cycles the ranking)."""
    x, y = placement.interior_point(region)
    ranked = [c for c, _ in doc.region_classes(x, y, PICK_LIMIT)]
    if doc.rankings is None or cls not in ranked:
        return None
    current = int(doc.labels[y, x])
    presses = (ranked.index(cls) - (ranked.index(current) if current in ranked else -1)) % len(ranked)
    area = doc.region_at(x, y)
    return Correction("next", Cost.of(point=1, key=max(1, presses), look=1),
                      lambda: doc.paint_region(area[1], area[0], cls), hands)


def snap(doc: MaskDocument, rgb: np.ndarray, region: np.ndarray, cls: int, hands: Hands,
         seed: int) -> Correction | None:
    """A snap stroke where a person would draw it: inside the smaller of the two objects the
    wrong region lies between (the object of ``cls`` it should belong to, grown over it; or
    the object it wrongly belongs to, re-outlined without it), at the current brush size
    unless that does not fit inside."""
    labels = doc.labels
    wrong_as = int(np.bincount(labels[region], minlength=256).argmax())
    if wrong_as == IGNORE_INDEX:
        return None
    grow = region | placement.touching(labels, cls, region)
    shrink = placement.touching(labels, wrong_as, region) & ~region
    target, obj = (cls, grow) if not shrink.any() or grow.sum() <= shrink.sum() else (wrong_as, shrink)
    widest = max(1, int(round(2 * placement.distance_inside(obj).max() - 1)))
    size = hands.size if hands.size is not None else 20
    keys, after = hands.select("snap", target, min(size, widest))
    path = placement.stroke_inside(obj, after.size)
    stroke = placement.stroke_mask(labels.shape, path, after.size)
    cost = keys + Cost.of(placement.path_length(path) / after.size, drag=1, look=1)

    def apply():
        snapped = seeded_snap(seed, rgb, doc, stroke, target)
        return None if snapped is None else doc.paint_mask(snapped[2], snapped[0], snapped[1])

    return Correction("snap", cost, apply, after, stroke)


def foreseeable(doc: MaskDocument, region: np.ndarray, cls: int, hands: Hands, tools) -> list[Correction]:
    """Every foreseeable correction of ``tools`` for the region."""
    out: list[Correction | None] = []
    if "polygon" in tools:
        out.append(polygon(doc, region, cls, hands))
    if "brush" in tools:
        out += brushes(doc, region, cls, hands)
    if "fill" in tools:
        out.append(fill(doc, region, cls, hands))
    if "pick" in tools:
        out.append(pick(doc, region, cls, hands))
    if "next" in tools:
        out.append(next_likely(doc, region, cls, hands))
    return [c for c in out if c is not None]


__all__ = ["FORESEEABLE", "UNFORESEEABLE", "Correction", "Hands", "foreseeable", "seeded_snap",
           "snap", "trace"]
