"""Where a person puts a tool: from what they see, never from the ground truth.

A person sees the image, the current mask and so where the mask is wrong (the visible
error region). The functions here take that region and the current labels; none of them
takes the ground truth, so a stroke or a polygon cannot be placed by knowing pixels nobody
can see. Brush and snap strokes follow the middle of a region (its medial points, the
local maxima of the distance to its edge) and are drawn at a brush width, as
:class:`app.canvas.model_tools.SnapTool` rasterises them (:func:`stroke_mask`).
"""

from __future__ import annotations

import cv2
import numpy as np

from gcnet_core.model.classes import IGNORE_INDEX

Path = list[tuple[float, float]]  # a drag: (x, y) points in image pixels
NEIGHBOURS = np.ones((3, 3), np.uint8)


def distance_inside(mask: np.ndarray) -> np.ndarray:
    """Each pixel's distance to the mask's edge (0 outside; 1 for a pixel on the edge)."""
    return cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]


def interior_point(mask: np.ndarray) -> tuple[int, int]:
    """The mask's most interior pixel (x, y): where a person clicks into a region."""
    distance = distance_inside(mask)
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    return int(x), int(y)


def medial_points(mask: np.ndarray, least: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """((N, 2) x, y, (N,) distance) of the mask's medial points at least ``least`` from its edge."""
    distance = distance_inside(mask)
    ridge = (distance > 0) & (distance >= cv2.dilate(distance, NEIGHBOURS) - 1e-3) & (distance >= least)
    ys, xs = np.nonzero(ridge)
    return np.stack([xs, ys], 1).astype(np.float64), distance[ys, xs]


def chain(points: np.ndarray, gap: float = 3.0) -> list[np.ndarray]:
    """The points ordered into drags: from the top-left one, always to the nearest not yet
    visited; a jump longer than ``gap`` pixels starts another drag."""
    if len(points) == 0:
        return []
    left = np.ones(len(points), bool)
    current = int(np.argmin(points[:, 0] + points[:, 1]))
    drags, drag = [], [current]
    left[current] = False
    while left.any():
        candidates = np.flatnonzero(left)
        gaps = np.hypot(*(points[candidates] - points[current]).T)
        current = int(candidates[np.argmin(gaps)])
        if gaps.min() > gap:
            drags.append(drag)
            drag = []
        drag.append(current)
        left[current] = False
    drags.append(drag)
    return [points[d] for d in drags]


def simplified(points: np.ndarray) -> Path:
    """A drag's points thinned to the turns a hand makes (1 px tolerance)."""
    if len(points) <= 2:
        return [tuple(p) for p in points]
    kept = cv2.approxPolyDP(points.astype(np.float32).reshape(-1, 1, 2), 1.0, False).reshape(-1, 2)
    return [tuple(map(float, p)) for p in kept]


def path_length(path: Path) -> float:
    return float(sum(np.hypot(b[0] - a[0], b[1] - a[1]) for a, b in zip(path, path[1:])))


def brush_drags(region: np.ndarray) -> list[Path]:
    """The drags that paint ``region``: along all of its middle, split where it breaks."""
    points, _ = medial_points(region)
    return [simplified(p) for p in chain(points)]


def brush_sizes(region: np.ndarray) -> list[int]:
    """Brush diameters (px) a person would paint ``region`` with: its typical width (the
    median over its middle) and its widest; 1 px at least."""
    _, distance = medial_points(region)
    if distance.size == 0:
        return [1]
    return sorted({max(1, int(round(2 * d - 1))) for d in (float(np.median(distance)), float(distance.max()))})


def stroke_inside(obj: np.ndarray, size: int) -> Path:
    """A stroke along the middle of the object ``obj`` that a brush of ``size`` px keeps
    inside it: its longest run of medial points far enough from the edge (the most interior
    point when the object is thinner than the brush)."""
    points, _ = medial_points(obj, least=size / 2.0 + 0.5)
    runs = chain(points, gap=2.0)
    if not runs:
        return [tuple(map(float, interior_point(obj)))]
    return simplified(max(runs, key=len))


def stroke_mask(shape: tuple[int, int], path: Path, size: int) -> np.ndarray:
    """The pixels a snap stroke along ``path`` at brush ``size`` covers, rasterised as the
    app's snap tool does (``_PathStroke._stroke_mask``: a polyline of the brush's thickness,
    a disc for a single point)."""
    mask = np.zeros(shape, np.uint8)
    points = np.rint(np.asarray(path)).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(mask, [points], False, 1, thickness=max(1, size))
    if len(path) == 1:
        cv2.circle(mask, tuple(int(v) for v in points[0, 0]), max(1, size // 2), 1, -1)
    return mask.view(bool)


def touching(labels: np.ndarray, cls: int, region: np.ndarray) -> np.ndarray:
    """The pieces of ``cls`` in ``labels`` that touch ``region`` (4-connected)."""
    count, parts = cv2.connectedComponents((labels == cls).astype(np.uint8), connectivity=4)
    if count <= 1:
        return np.zeros_like(region)
    ids = np.unique(parts[cv2.dilate(region.astype(np.uint8), NEIGHBOURS) > 0])
    return np.isin(parts, ids[ids > 0])


def polygon_around(region: np.ndarray, labels: np.ndarray, cls: int, split: bool = True) -> list[list[tuple[int, int]]]:
    """The polygons a person clicks to give ``region`` the class ``cls``: its outline traced
    (1 px tolerance) only where it borders other classes; where the pixels beside it are
    ``cls`` already or unlabelled, a polygon cuts straight through them (nothing to spoil).
    A region around something of another class (a ring) takes two polygons, its halves."""
    ys, xs = np.nonzero(region)
    if ys.size == 0:
        return []
    free = region | (labels == cls) | (labels == IGNORE_INDEX)  # nothing to spoil there
    hull = np.zeros(region.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.stack([xs, ys], 1).astype(np.int32)), 1)
    shape = ((hull > 0) & free) | region
    count, parts = cv2.connectedComponents(shape.astype(np.uint8), connectivity=4)
    if count > 2:  # the piece the region is in
        shape = parts == np.bincount(parts[region]).argmax()
    contours, _ = cv2.findContours(shape.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = max(contours, key=cv2.contourArea)
    filled = np.zeros(region.shape, np.uint8)
    cv2.drawContours(filled, [outline], -1, 1, -1)
    hole = (filled > 0) & ~free
    if split and hole.any():  # cut through the hole: the halves on either side
        centre = int(np.nonzero(hole)[1].mean())
        columns = np.arange(region.shape[1])[None, :]
        halves = [region & (columns < centre), region & (columns >= centre)]
        return [p for half in halves if half.any() for p in polygon_around(half, labels, cls, split=False)]
    points = cv2.approxPolyDP(outline, 1.0, True).reshape(-1, 2)
    return [[tuple(map(int, p)) for p in points]] if len(points) >= 3 else []


def outline_vertices(region: np.ndarray) -> int:
    """How many vertices tracing ``region`` exactly takes: its outline and the outline of
    every hole in it (1 px tolerance; 3 at least each)."""
    contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return sum(max(3, len(cv2.approxPolyDP(c, 1.0, True))) for c in contours)
