"""The label mask being edited, with its edit history; pure numpy (no Qt).

The canvas draws it and the annotation session saves it, but every change goes through this
class so that
(1) each stroke is exactly one undo step, (2) the history stores only the bounding rectangle
of what a step changed (as napari's labels layer does), so hundreds of steps on a 12-megapixel
mask cost little memory, and (3) listeners learn which rectangle to repaint.

Coordinates: ``x`` is the column, ``y`` the row; a point ``(x, y)`` is the centre of pixel
``labels[y, x]``. Rectangles handed out are ``(x, y, w, h)`` tuples.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence

import cv2
import numpy as np

from ..model.classes import IGNORE_INDEX, ClassSet
from .overwrite import may_overwrite

__all__ = ["MaskDocument", "Rect"]

Rect = tuple[int, int, int, int]
"""``(x, y, w, h)`` in image pixels."""

_Box = tuple[int, int, int, int]  # (y0, y1, x0, x1), half-open, internal


def _box_to_rect(box: _Box) -> Rect:
    y0, y1, x0, x1 = box
    return (x0, y0, x1 - x0, y1 - y0)


def _union(a: _Box | None, b: _Box) -> _Box:
    if a is None:
        return b
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


def _tight_box(mask: np.ndarray) -> _Box | None:
    """Bounding box of the True pixels of a 2-D mask, or None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)


class _Tile:
    """Old and new contents of one rectangle; edited flags bit-packed (1 bit per pixel)."""

    __slots__ = ("box", "old_labels", "new_labels", "old_edited", "new_edited")

    def __init__(self, box: _Box, old_labels, new_labels, old_edited, new_edited) -> None:
        self.box = box
        self.old_labels = old_labels
        self.new_labels = new_labels
        self.old_edited = np.packbits(old_edited, axis=None)
        self.new_edited = np.packbits(new_edited, axis=None)

    @property
    def nbytes(self) -> int:
        return self.old_labels.nbytes + self.new_labels.nbytes + self.old_edited.nbytes + self.new_edited.nbytes

    def write_into(self, labels: np.ndarray, edited: np.ndarray, new: bool) -> None:
        y0, y1, x0, x1 = self.box
        labels[y0:y1, x0:x1] = self.new_labels if new else self.old_labels
        bits = self.new_edited if new else self.old_edited
        edited[y0:y1, x0:x1] = np.unpackbits(bits, count=(y1 - y0) * (x1 - x0)).reshape(y1 - y0, x1 - x0).view(bool)


class _Step:
    """One undo step: usually the single tight rectangle a stroke changed.

    A long diagonal stroke would make that rectangle mostly untouched pixels, so then the
    step keeps the stroke's own small rectangles instead (undone newest first).
    """

    __slots__ = ("box", "tiles", "by_person")

    def __init__(self, box: _Box, tiles: list[_Tile], by_person: bool = True) -> None:
        self.box = box
        self.tiles = tiles
        self.by_person = by_person  # False for a model's output (a pre-segmentation)

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tiles)

    def write_into(self, labels: np.ndarray, edited: np.ndarray, new: bool) -> None:
        for tile in (self.tiles if new else reversed(self.tiles)):
            tile.write_into(labels, edited, new)


class _Stroke:
    """Patches (old contents) of every rectangle written since ``begin_stroke``."""

    __slots__ = ("patches", "box", "by_person")

    def __init__(self, by_person: bool = True) -> None:
        self.patches: list[tuple[_Box, np.ndarray, np.ndarray]] = []
        self.box: _Box | None = None
        self.by_person = by_person


class MaskDocument:
    """An (H, W) uint8 label map (255 = ignore) plus who edited what and the undo history.

    ``labels``: class index per pixel. ``edited``: True where a person set the label (kept
    when a new prediction arrives, and tells fine-tuning human labels from model labels).
    ``prediction`` / ``confidence``: the model's output, when there is one.

    Write only through the operations below (or ``begin_stroke``/``apply``/``end_stroke``);
    writing to the arrays directly bypasses undo and the listeners.
    """

    def __init__(
        self,
        labels: np.ndarray,
        classes: ClassSet,
        *,
        prediction: np.ndarray | None = None,
        confidence: np.ndarray | None = None,
        edited: np.ndarray | None = None,
        undo_limit: int = 200,
        undo_max_bytes: int = 512 * 1024 * 1024,
    ) -> None:
        labels = np.asarray(labels)
        if labels.ndim != 2:
            raise ValueError(f"labels must be 2-D (H, W), got shape {labels.shape}")
        self.labels: np.ndarray = np.array(labels, dtype=np.uint8, order="C", copy=True)
        self.classes = classes
        shape = self.labels.shape
        if edited is None:
            self.edited = np.zeros(shape, dtype=bool)
        else:
            self.edited = np.array(edited, dtype=bool, order="C", copy=True)
            self._check_shape(self.edited, "edited")
        self.prediction: np.ndarray | None = None
        self.confidence: np.ndarray | None = None
        self.rankings = None  # gcnet_core.predict.rankings.ClassRankings: the model's top-k per cell
        self.preview = False  # the model output is a coarse preview; the full one is on its way
        self._set_model_output(prediction, confidence)
        if undo_limit < 1:
            raise ValueError("undo_limit must be at least 1")
        self.undo_limit = int(undo_limit)
        self.undo_max_bytes = int(undo_max_bytes)
        self.revision = 0
        self._undo: deque[_Step] = deque()
        self._redo: list[_Step] = []
        self._stroke: _Stroke | None = None
        self._listeners: list[Callable[[Rect], None]] = []
        # Identity of the state the history is at, so undoing back to the saved state is clean.
        self._base_token: object = object()
        self._clean_token: object = self._base_token
        self._opening_token: object = self._base_token  # the labels as loaded
        self._person_dropped = False  # a person's step fell off the bottom of the history
        self._region_step: tuple[object, _Box, np.ndarray] | None = None  # (step, box, pixels) of the last region tool

    @classmethod
    def blank(cls, height: int, width: int, classes: ClassSet, **kwargs) -> MaskDocument:
        """A document where every pixel is ignore (255): the start of a new annotation."""
        return cls(np.full((height, width), IGNORE_INDEX, dtype=np.uint8), classes, **kwargs)

    # ------------------------------------------------------------------ basics

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape  # type: ignore[return-value]

    @property
    def width(self) -> int:
        return self.labels.shape[1]

    @property
    def height(self) -> int:
        return self.labels.shape[0]

    @property
    def full_rect(self) -> Rect:
        return (0, 0, self.width, self.height)

    def _check_shape(self, arr: np.ndarray, name: str) -> None:
        if arr.shape != self.labels.shape:
            raise ValueError(f"{name} has shape {arr.shape}, the labels have {self.labels.shape}")

    def keep_model_output(self, prediction: np.ndarray | None, confidence: np.ndarray | None = None,
                          rankings=None, preview: bool = False) -> None:
        """Hold a model output for the model-aware tools without changing any label (no undo step)."""
        self._set_model_output(prediction, confidence, rankings, preview)

    def _set_model_output(self, prediction, confidence, rankings=None, preview: bool = False) -> None:
        if prediction is not None:
            prediction = np.ascontiguousarray(prediction, dtype=np.uint8)
            if not prediction.flags.writeable:  # cv2.floodFill refuses read-only arrays
                prediction = prediction.copy()
            self._check_shape(prediction, "prediction")
        if confidence is not None:
            confidence = np.ascontiguousarray(confidence, dtype=np.float32)
            self._check_shape(confidence, "confidence")
        if rankings is not None and tuple(rankings.image_size) != self.labels.shape:
            raise ValueError(f"rankings are for {rankings.image_size}, the labels have {self.labels.shape}")
        self.prediction = prediction
        self.confidence = confidence
        self.rankings = rankings
        self.preview = bool(preview) and prediction is not None

    # ------------------------------------------------------------------ listeners, dirty state

    def add_listener(self, callback: Callable[[Rect], None]) -> None:
        """Call ``callback((x, y, w, h))`` after every change, with the rectangle that changed
        (for an operation of its own, once its undo step is in the history)."""
        if callback not in self._listeners:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[Rect], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _notify(self, box: _Box) -> None:
        self.revision += 1
        rect = _box_to_rect(box)
        for callback in list(self._listeners):
            callback(rect)

    def _token(self) -> object:
        return self._undo[-1] if self._undo else self._base_token

    @property
    def dirty(self) -> bool:
        """True when the labels differ from the state last marked clean (saved)."""
        if self._stroke is not None and self._stroke.patches:
            return True
        return self._token() is not self._clean_token

    def mark_clean(self) -> None:
        """Record the current state as saved (undoing back to it makes the document clean again)."""
        self._clean_token = self._token()

    # ------------------------------------------------------------------ strokes and history

    @property
    def in_stroke(self) -> bool:
        return self._stroke is not None

    def begin_stroke(self, by_person: bool = True) -> None:
        """Start collecting writes into one undo step (a no-op when one is already open);
        ``by_person=False`` marks it as a model's output."""
        if self._stroke is None:
            self._stroke = _Stroke(by_person)

    def apply(self, rect_slice: tuple[slice, slice], new_values, mask: np.ndarray | None = None,
              edited: bool | None = True) -> Rect | None:
        """Write ``new_values`` into ``labels[rect_slice]`` where ``mask`` is True.

        ``rect_slice`` is ``(rows, cols)``, inside the image. ``new_values``: a scalar or an
        array of the rectangle's shape. ``edited``: True marks written pixels as edited by a
        person, False clears the flag, None leaves it. Outside an open stroke the write is a
        step of its own. Returns the rectangle written (``(x, y, w, h)``) or None.
        """
        box = self._slice_box(rect_slice)
        if box is None:
            return None
        own = self._stroke is None
        if own:
            self.begin_stroke()
        written = self._write(box, new_values, mask, edited)
        if own:
            self._close_stroke()
        if written:
            self._notify(box)  # a step of its own is in the history first: listeners see can_undo/can_redo as they are
        return _box_to_rect(box) if written else None

    def _slice_box(self, rect_slice: tuple[slice, slice]) -> _Box | None:
        rows, cols = rect_slice
        h, w = self.labels.shape
        y0, y1, ys = rows.indices(h)
        x0, x1, xs = cols.indices(w)
        if ys != 1 or xs != 1:
            raise ValueError("apply() needs a contiguous rectangle (slice steps of 1)")
        if (rows.start is not None and rows.start < 0) or (cols.start is not None and cols.start < 0) or \
                (rows.stop is not None and rows.stop > h) or (cols.stop is not None and cols.stop > w):
            raise ValueError(f"rectangle {rect_slice} is not inside the {w}x{h} image")
        if y1 <= y0 or x1 <= x0:
            return None
        return (y0, y1, x0, x1)

    def _write(self, box: _Box, new_values, mask: np.ndarray | None, edited: bool | None) -> bool:
        """Save the rectangle's old contents into the open stroke, then write. No notification."""
        y0, y1, x0, x1 = box
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (y1 - y0, x1 - x0):
                raise ValueError(f"mask shape {mask.shape} does not match the rectangle {(y1 - y0, x1 - x0)}")
            if not mask.any():
                return False
        lab = self.labels[y0:y1, x0:x1]
        ed = self.edited[y0:y1, x0:x1]
        stroke = self._stroke
        assert stroke is not None
        stroke.patches.append((box, lab.copy(), ed.copy()))
        stroke.box = _union(stroke.box, box)
        if mask is None:
            lab[...] = new_values
            if edited is not None:
                ed[...] = edited
        else:
            np.copyto(lab, np.asarray(new_values, dtype=np.uint8), where=mask)
            if edited is True:
                ed |= mask
            elif edited is False:
                ed &= ~mask
        return True

    def end_stroke(self) -> Rect | None:
        """Close the open stroke into one undo step holding only what it changed: the tight
        rectangle of changed pixels, or the stroke's own rectangles when they cover less.

        Returns the step's bounding rectangle, or None when the stroke changed nothing (then
        no step is kept). Listeners learn that the stroke ended (undo is possible now).
        """
        box = self._close_stroke()
        if box is None:
            return None
        self._notify(box)
        return _box_to_rect(box)

    def _close_stroke(self) -> _Box | None:
        stroke, self._stroke = self._stroke, None
        if stroke is None or not stroke.patches:
            return None
        by0, by1, bx0, bx1 = stroke.box
        patch_area = sum((y1 - y0) * (x1 - x0) for (y0, y1, x0, x1), _, _ in stroke.patches)
        if len(stroke.patches) > 1 and patch_area < (by1 - by0) * (bx1 - bx0):
            step = self._tiled_step(stroke)
        else:
            step = self._box_step(stroke)
        if step is None:
            return None
        step.by_person = stroke.by_person
        self._push(step)
        return step.box

    def _box_step(self, stroke: _Stroke) -> _Step | None:
        """The stroke as one rectangle, cropped to the pixels that really changed."""
        by0, by1, bx0, bx1 = stroke.box
        new_l = self.labels[by0:by1, bx0:bx1]
        new_e = self.edited[by0:by1, bx0:bx1]
        if len(stroke.patches) == 1:
            _, old_l, old_e = stroke.patches[0]  # the patch is exactly the union box
        else:
            old_l, old_e = new_l.copy(), new_e.copy()
            for (y0, y1, x0, x1), pl, pe in reversed(stroke.patches):
                old_l[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0] = pl
                old_e[y0 - by0:y1 - by0, x0 - bx0:x1 - bx0] = pe
        changed = old_l != new_l
        changed |= old_e != new_e
        tight = _tight_box(changed)
        if tight is None:
            return None
        ty0, ty1, tx0, tx1 = tight
        crop = (slice(ty0, ty1), slice(tx0, tx1))
        box = (by0 + ty0, by0 + ty1, bx0 + tx0, bx0 + tx1)
        whole = tight == (0, by1 - by0, 0, bx1 - bx0)
        old_keep = old_l if whole and old_l.base is None else old_l[crop].copy()  # never pin a larger base
        return _Step(box, [_Tile(box, old_keep, new_l[crop].copy(), old_e[crop], new_e[crop])])

    def _tiled_step(self, stroke: _Stroke) -> _Step | None:
        """The stroke as its own rectangles: old contents as each write found them, new
        contents as the stroke left them. None when it changed nothing overall (then the
        earliest tile covering each pixel holds its initial value, equal to its final one)."""
        tiles = []
        changed = False
        for box, old_l, old_e in stroke.patches:
            y0, y1, x0, x1 = box
            new_l = self.labels[y0:y1, x0:x1].copy()
            new_e = self.edited[y0:y1, x0:x1].copy()
            changed = changed or not (np.array_equal(old_l, new_l) and np.array_equal(old_e, new_e))
            tiles.append(_Tile(box, old_l, new_l, old_e, new_e))
        return _Step(stroke.box, tiles) if changed else None

    def _push(self, step: _Step) -> None:
        self._undo.append(step)
        self._redo.clear()
        total = self.history_nbytes
        while len(self._undo) > 1 and (len(self._undo) > self.undo_limit or total > self.undo_max_bytes):
            dropped = self._undo.popleft()
            total -= dropped.nbytes
            self._person_dropped |= dropped.by_person
            self._base_token = dropped  # the oldest reachable state is now the one after it

    def _restore(self, step: _Step, new: bool) -> Rect:
        step.write_into(self.labels, self.edited, new)
        self._notify(step.box)
        return _box_to_rect(step.box)

    def undo(self) -> Rect | None:
        """Revert the last step (closing an open stroke first); returns the rectangle to repaint."""
        self.end_stroke()
        if not self._undo:
            return None
        step = self._undo.pop()
        self._redo.append(step)
        return self._restore(step, new=False)

    def redo(self) -> Rect | None:
        """Re-apply the last undone step; returns the rectangle to repaint."""
        self.end_stroke()
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(step)
        return self._restore(step, new=True)

    @property
    def last_step(self) -> object:
        """An opaque token of the step the history is at now: it changes with every new step,
        undo and redo (what :meth:`join_last_step` checks)."""
        return self._token()

    def join_last_step(self, labels: np.ndarray, token: object) -> Rect | None:
        """Give the pixels nobody edited ``labels`` as part of the last undo step, so one undo
        takes back that step and this together (live adaptation's answer to a stroke). Only
        while the history is still at ``token`` (:attr:`last_step`) and no stroke is open;
        the edited flags stay. Returns the rectangle that changed, or None."""
        if self._stroke is not None or not self._undo or self._token() is not token:
            return None
        self._check_shape(np.asarray(labels), "labels")
        step = self._undo[-1]
        self._stroke = _Stroke(step.by_person)
        protected = may_overwrite(self.edited).protected
        self._write((0, self.height, 0, self.width), labels, None if protected is None else ~protected, None)
        stroke, self._stroke = self._stroke, None
        joined = self._box_step(stroke) if stroke.patches else None
        if joined is None:
            return None
        step.tiles.extend(joined.tiles)  # undone first (tiles are undone newest first)
        step.box = _union(step.box, joined.box)
        if self._clean_token is step:
            self._clean_token = object()  # saved before the join: unsaved again
        self._notify(joined.box)
        return _box_to_rect(joined.box)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) or (self._stroke is not None and bool(self._stroke.patches))

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def at_opening(self) -> bool:
        """True when every change since the document was made has been undone."""
        if self._stroke is not None and self._stroke.patches:
            return False
        return self._token() is self._opening_token

    @property
    def person_changed(self) -> bool:
        """True when a change still applied (or dropped from the history) came from a
        person rather than from a model's prediction."""
        if self._stroke is not None and self._stroke.patches and self._stroke.by_person:
            return True
        return self._person_dropped or any(step.by_person for step in self._undo)

    @property
    def undo_count(self) -> int:
        return len(self._undo)

    @property
    def history_nbytes(self) -> int:
        """Memory held by the undo and redo stacks (the diffs only)."""
        return sum(s.nbytes for s in self._undo) + sum(s.nbytes for s in self._redo)

    # ------------------------------------------------------------------ operations

    def _step(self, writes: Iterable[tuple[_Box, object, np.ndarray | None, bool | None]]) -> Rect | None:
        """Run writes as one step (or as part of the open stroke); returns the rect written."""
        own = self._stroke is None
        if own:
            self.begin_stroke()
        done: _Box | None = None
        written: list[_Box] = []
        for box, values, mask, edited in writes:
            if self._write(box, values, mask, edited):
                if own:
                    written.append(box)  # told once the step is in the history (undo/redo state included)
                else:
                    self._notify(box)  # inside a stroke: repainted as it is drawn
                done = _union(done, box)
        if not own:
            return _box_to_rect(done) if done is not None else None
        step_box = self._close_stroke()
        for box in written:
            self._notify(box)
        return _box_to_rect(step_box) if step_box is not None else None

    def _disc_masks(self, p0, p1, radius: float):
        """Yield (box, mask) of the pixels within ``radius`` of the segment p0-p1, in pieces.

        Long segments are cut into pieces a few radii long so each rectangle stays small
        (a diagonal's bounding box would otherwise be mostly empty).
        """
        ax, ay = float(p0[0]), float(p0[1])
        bx, by = (ax, ay) if p1 is None else (float(p1[0]), float(p1[1]))
        r = max(float(radius), 0.5)
        length = math.hypot(bx - ax, by - ay)
        pieces = max(1, math.ceil(length / max(4.0 * r, 16.0)))
        h, w = self.labels.shape
        r2 = r * r + 1e-6
        for i in range(pieces):
            sx, sy = ax + (bx - ax) * i / pieces, ay + (by - ay) * i / pieces
            ex, ey = ax + (bx - ax) * (i + 1) / pieces, ay + (by - ay) * (i + 1) / pieces
            x0 = max(0, math.floor(min(sx, ex) - r))
            x1 = min(w, math.floor(max(sx, ex) + r) + 1)
            y0 = max(0, math.floor(min(sy, ey) - r))
            y1 = min(h, math.floor(max(sy, ey) + r) + 1)
            if x1 <= x0 or y1 <= y0:
                continue
            xx = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(sx)
            yy = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(sy)
            dx, dy = ex - sx, ey - sy
            seg2 = dx * dx + dy * dy
            if seg2 > 0:
                t = np.clip((xx * np.float32(dx) + yy * np.float32(dy)) * np.float32(1.0 / seg2), 0.0, 1.0)
                xx = xx - t * np.float32(dx)
                yy = yy - t * np.float32(dy)
            mask = (xx * xx + yy * yy) <= np.float32(r2)
            yield (y0, y1, x0, x1), mask

    def paint_disc(self, p0: Sequence[float], p1: Sequence[float] | None, radius: float, value: int,
                   only_over: int | None = None) -> Rect | None:
        """Paint every pixel within ``radius`` of the segment p0-p1 (a disc when p1 is None).

        A brush stroke is a sequence of such segments inside one ``begin_stroke``/``end_stroke``.
        ``value`` 255 erases. ``only_over``: change only pixels whose label is that class.
        """
        value = int(value)

        def writes():
            for box, mask in self._disc_masks(p0, p1, radius):
                if only_over is not None:
                    y0, y1, x0, x1 = box
                    mask &= self.labels[y0:y1, x0:x1] == only_over
                yield box, value, mask, True

        return self._step(writes())

    def fill_polygon(self, points: Sequence[Sequence[float]], value: int, only_over: int | None = None) -> Rect | None:
        """Fill the polygon with vertices ``points`` (pixel centres) with ``value``."""
        pts = np.rint(np.asarray(points, dtype=np.float64)).astype(np.int64)
        if pts.ndim != 2 or pts.shape[0] < 3 or pts.shape[1] != 2:
            raise ValueError("a polygon needs at least 3 (x, y) vertices")
        h, w = self.labels.shape
        x0, y0 = max(0, int(pts[:, 0].min())), max(0, int(pts[:, 1].min()))
        x1, y1 = min(w, int(pts[:, 0].max()) + 1), min(h, int(pts[:, 1].max()) + 1)
        if x1 <= x0 or y1 <= y0:
            return None
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        local = np.clip(pts - (x0, y0), -(1 << 20), 1 << 20).astype(np.int32)
        cv2.fillPoly(mask, [local.reshape(-1, 1, 2)], 1)
        sel = mask.view(bool)
        if only_over is not None:
            sel &= self.labels[y0:y1, x0:x1] == only_over
        return self._step([((y0, y1, x0, x1), int(value), sel, True)])

    def _region(self, source: np.ndarray, x: int, y: int, connectivity: int) -> tuple[_Box, np.ndarray] | None:
        """The connected region of ``source`` with the value at (x, y): (box, mask in the box)."""
        h, w = source.shape
        if not (0 <= x < w and 0 <= y < h):
            return None
        if connectivity not in (4, 8):
            raise ValueError("connectivity must be 4 or 8")
        flood = np.zeros((h + 2, w + 2), dtype=np.uint8)
        flags = connectivity | (1 << 8) | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE
        _, _, _, (rx, ry, rw, rh) = cv2.floodFill(source, flood, (int(x), int(y)), 0, 0, 0, flags)
        mask = flood[1 + ry:1 + ry + rh, 1 + rx:1 + rx + rw].view(bool)
        return (ry, ry + rh, rx, rx + rw), mask

    def flood_fill(self, x: int, y: int, value: int, connectivity: int = 4,
                   only_over: int | None = None) -> Rect | None:
        """Give ``value`` to the connected region of pixels sharing the label at (x, y)."""
        if only_over is not None and 0 <= y < self.height and 0 <= x < self.width \
                and self.labels[y, x] != only_over:
            return None
        region = self._region(self.labels, x, y, connectivity)
        if region is None:
            return None
        box, mask = region
        return self._step([(box, int(value), mask, True)])

    def relabel_region(self, x: int, y: int, value: int, connectivity: int = 4) -> Rect | None:
        """Give ``value`` to the region the *model* predicted at (x, y) (the labels' region
        when there is no prediction): fixes a whole mis-classified segment in one click.
        Pixels a person edited keep their labels (:meth:`paint_region`)."""
        source = self.prediction if self.prediction is not None else self.labels
        region = self._region(source, x, y, connectivity)
        if region is None:
            return None
        (y0, _y1, x0, _x1), mask = region
        return self.paint_region(mask, (x0, y0), value)

    def writable_part(self, mask: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
        """The part of ``mask`` (top-left at ``origin`` = (x, y), clipped to the image) that a
        region tool may change: :func:`~gcnet_core.project.overwrite.may_overwrite` keeps every
        pixel a person edited, except those the last region step set while nothing else
        changed since (so choosing again, e.g. pressing N once more, changes them again)."""
        placed = self._placed(mask, origin)
        if placed is None:
            return np.zeros((0, 0), bool)
        box, local = placed
        y0, y1, x0, x1 = box
        edited = self.edited[y0:y1, x0:x1]
        last = self._region_step
        if last is not None and last[0] is self._token() and self._stroke is None:
            (ly0, ly1, lx0, lx1), set_by_it = last[1], last[2]
            oy0, oy1, ox0, ox1 = max(y0, ly0), min(y1, ly1), max(x0, lx0), min(x1, lx1)
            if oy1 > oy0 and ox1 > ox0:
                edited = edited.copy()
                edited[oy0 - y0:oy1 - y0, ox0 - x0:ox1 - x0] &= ~set_by_it[oy0 - ly0:oy1 - ly0, ox0 - lx0:ox1 - lx0]
        writable = may_overwrite(edited).writable(edited.shape)
        ox, oy = int(origin[0]), int(origin[1])
        out = np.zeros(np.shape(mask), bool)
        out[y0 - oy:y1 - oy, x0 - ox:x1 - ox] = local & writable
        return out

    def paint_region(self, mask: np.ndarray, origin: tuple[int, int], value: int) -> Rect | None:
        """What the region tools (relabel, pick, next likely class) write: :meth:`paint_mask`
        of the :meth:`writable_part` of ``mask``, one step, the pixels count as a person's."""
        writable = self.writable_part(mask, origin)
        rect = self.paint_mask(writable, origin, value) if writable.any() else None
        if rect is not None and self._stroke is None:
            box, local = self._placed(writable, origin)
            self._region_step = (self._token(), box, local.copy())
        return rect

    def region_at(self, x: int, y: int, connectivity: int = 4) -> tuple[tuple[int, int], np.ndarray] | None:
        """The connected region of the labels at (x, y): ((x0, y0) origin, mask of its box)."""
        region = self._region(self.labels, x, y, connectivity)
        if region is None:
            return None
        (y0, _y1, x0, _x1), mask = region
        return (x0, y0), mask

    def region_classes(self, x: int, y: int, limit: int = 5) -> list[tuple[int, float]]:
        """The classes the model found most likely over the region at (x, y), best first, as
        (class, mean probability); empty without rankings. Ignore is never offered."""
        region = self.region_at(x, y)
        if region is None or self.rankings is None:
            return []
        origin, mask = region
        ranked = self.rankings.region_ranking(mask, origin)
        return [(c, p) for c, p in ranked if c < len(self.classes)][:limit]

    def paint_mask(self, mask: np.ndarray, origin: tuple[int, int], value: int | np.ndarray) -> Rect | None:
        """Give ``value`` to the True pixels of ``mask`` placed at ``origin`` = (x, y): one
        step, the pixels count as a person's (the model-aware tools end here). ``value`` is
        one class, or an array of the mask's shape giving each pixel its own class."""
        placed = self._placed(mask, origin)
        if placed is None:
            return None
        box, local = placed
        if np.ndim(value) == 0:
            return self._step([(box, int(value), local, True)])
        y0, y1, x0, x1 = box
        ox, oy = int(origin[0]), int(origin[1])
        values = np.asarray(value, dtype=np.uint8)[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        return self._step([(box, values, local, True)])

    def _placed(self, mask: np.ndarray, origin: tuple[int, int]) -> tuple[_Box, np.ndarray] | None:
        """A boolean ``mask`` whose top-left sits at ``origin`` = (x, y), clipped to the image:
        (its box, the part of the mask inside it), or None when nothing of it is inside."""
        mask = np.asarray(mask, dtype=bool)
        ox, oy = int(origin[0]), int(origin[1])
        h, w = self.labels.shape
        x0, y0 = max(0, ox), max(0, oy)
        x1, y1 = min(w, ox + mask.shape[1]), min(h, oy + mask.shape[0])
        if x1 <= x0 or y1 <= y0:
            return None
        return (y0, y1, x0, x1), mask[y0 - oy:y1 - oy, x0 - ox:x1 - ox]

    def replace_class(self, old: int, new: int) -> Rect | None:
        """Every pixel labelled ``old`` becomes ``new``."""
        hit = self.labels == int(old)
        box = _tight_box(hit)
        if box is None or int(old) == int(new):
            return None
        y0, y1, x0, x1 = box
        return self._step([(box, int(new), hit[y0:y1, x0:x1], True)])

    def accept_prediction(self, mask: np.ndarray, origin: tuple[int, int] = (0, 0)) -> Rect | None:
        """Copy the prediction into the pixels of ``mask`` (placed with its top-left at ``origin``
        = (x, y)); those pixels count as checked by a person."""
        if self.prediction is None:
            return None
        placed = self._placed(mask, origin)
        if placed is None:
            return None
        (y0, y1, x0, x1), local = placed
        return self._step([((y0, y1, x0, x1), self.prediction[y0:y1, x0:x1], local, True)])

    def accept_prediction_stroke(self, p0: Sequence[float], p1: Sequence[float] | None, radius: float) -> Rect | None:
        """:meth:`accept_prediction` under a brush segment (the "accept" tool)."""
        if self.prediction is None:
            return None
        pred = self.prediction

        def writes():
            for (y0, y1, x0, x1), mask in self._disc_masks(p0, p1, radius):
                yield (y0, y1, x0, x1), pred[y0:y1, x0:x1], mask, True

        return self._step(writes())

    def ignore_below_confidence(self, threshold: float, include_edited: bool = False) -> Rect | None:
        """Set pixels whose model confidence is below ``threshold`` to ignore (255).

        Pixels a person edited are kept unless ``include_edited``; the edited flags are left
        as they were (the decision comes from the model's confidence).
        """
        if self.confidence is None:
            return None
        hit = self.confidence < np.float32(threshold)
        hit &= self.labels != IGNORE_INDEX
        if not include_edited:
            hit &= ~self.edited
        box = _tight_box(hit)
        if box is None:
            return None
        y0, y1, x0, x1 = box
        return self._step([(box, IGNORE_INDEX, hit[y0:y1, x0:x1], None)])

    def set_prediction(self, labels: np.ndarray, confidence: np.ndarray | None = None,
                       overwrite_edited: bool = False, rankings=None, preview: bool = False) -> Rect | None:
        """Take a new model output: labels become the prediction except where a person edited
        (:func:`~gcnet_core.project.overwrite.may_overwrite`), unless ``overwrite_edited``,
        which also clears the edited flags.

        Undoing it restores the labels and flags; the stored prediction/confidence stay the new
        ones (they describe the model, not the annotation). Listeners always hear about the
        whole image, since the confidence changed everywhere. ``rankings`` and ``preview``
        travel with the output (see :meth:`keep_model_output`).
        """
        self._set_model_output(labels, confidence, rankings, preview)
        pred = self.prediction
        own = self._stroke is None
        if own:
            self.begin_stroke(by_person=False)
        full = (0, self.height, 0, self.width)
        protected = None if overwrite_edited else may_overwrite(self.edited).protected
        if protected is None:
            self._write(full, pred, None, False if overwrite_edited else None)
        else:
            self._write(full, pred, ~protected, None)
        if own:
            step_box = self._close_stroke()
            rect = _box_to_rect(step_box) if step_box is not None else None
        else:
            rect = self.full_rect
        self._notify(full)
        return rect

    # ------------------------------------------------------------------ statistics

    def class_pixel_share(self) -> np.ndarray:
        """Fraction of all pixels in each class (length = number of classes; ignore is the rest)."""
        counts = np.bincount(self.labels.ravel(), minlength=256)
        return counts[: len(self.classes)] / max(1, self.labels.size)
