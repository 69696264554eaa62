"""The simulated annotator: fixes the largest wrong region, again and again, until
:data:`TARGET` of the pixels are right.

For each region it weighs every foreseeable correction (:mod:`.tools`) by what it costs
plus the work it leaves (:func:`remaining_seconds`: tracing every region still wrong), as
a person who sees the polygon, the brush cursor or the region before the click can. The
snap is not foreseeable: it is tried when it would beat the best foreseeable fix if it
worked, paid whatever it does, kept when it leaves less work than undoing it (Ctrl+Z) and
taking that fix, and never tried again where it failed. Edits are applied once: a
foreseeable one is replayed exactly as it was weighed (checked), a snap is never re-run.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import cv2
import numpy as np

from gcnet_core.project.document import MaskDocument
from gcnet_core.model.classes import IGNORE_INDEX

from . import placement, tools
from .costs import SECONDS, Cost

TARGET = 0.98


@dataclasses.dataclass
class Effort:
    """What one image took: the cost of every action, the corrections kept by name, the
    unforeseeable attempts (kept or not) and those undone, the pixel accuracy reached."""

    cost: Cost = dataclasses.field(default_factory=Cost)
    corrections: Counter = dataclasses.field(default_factory=Counter)
    attempts: Counter = dataclasses.field(default_factory=Counter)
    undone: Counter = dataclasses.field(default_factory=Counter)
    accuracy: float = 0.0

    @property
    def actions(self) -> int:
        return self.cost.actions

    @property
    def seconds(self) -> float:
        return self.cost.seconds


def trace_seconds(region: np.ndarray) -> float:
    """What tracing ``region`` with the polygon tool takes: a look, its vertices, Enter."""
    return SECONDS["look"] + SECONDS["vertex"] * placement.outline_vertices(region) + SECONDS["key"]


def wrong_regions(labels: np.ndarray, gt: np.ndarray, valid: np.ndarray):
    """(true class, region mask) of each 4-connected region of wrong pixels of one true class."""
    wrong = (labels != gt) & valid
    for cls in np.unique(gt[wrong]):
        count, parts = cv2.connectedComponents((wrong & (gt == cls)).astype(np.uint8), connectivity=4)
        for k in range(1, count):
            yield int(cls), parts == k


def remaining_seconds(labels: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> float:
    """The work still visible: tracing the wrong regions, largest first, until :data:`TARGET`
    of the pixels would be right (the small rest is never fixed, as the annotator stops there)."""
    regions = sorted((region for _, region in wrong_regions(labels, gt, valid)), key=lambda r: -int(r.sum()))
    wrong, allowed = int(sum(r.sum() for r in regions)), (1.0 - TARGET) * int(valid.sum())
    seconds = 0.0
    for region in regions:
        if wrong <= allowed:
            break
        seconds += trace_seconds(region)
        wrong -= int(region.sum())
    return seconds


class Annotator:
    """Works on ``doc`` with ``tool_names`` (see :data:`tools.FORESEEABLE`, :data:`tools.UNFORESEEABLE`)
    until the labels match ``gt`` on :data:`TARGET` of its valid pixels. ``seed``: GrabCut's."""

    def __init__(self, rgb: np.ndarray, gt: np.ndarray, doc: MaskDocument, tool_names: tuple[str, ...],
                 seed: int = 0) -> None:
        unknown = set(tool_names) - set(tools.FORESEEABLE) - set(tools.UNFORESEEABLE)
        if unknown:
            raise ValueError(f"unknown tools: {sorted(unknown)}")
        self.rgb, self.gt, self.doc, self.tool_names, self.seed = rgb, gt, doc, tuple(tool_names), int(seed)
        self.valid = gt != IGNORE_INDEX
        self.effort = Effort()
        self.hands = tools.Hands()
        self.failed = np.zeros(gt.shape, bool)  # where a snap was tried and undone
        self.attempt = 0

    def accuracy(self) -> float:
        return float(((self.doc.labels == self.gt) & self.valid).sum() / max(1, self.valid.sum()))

    def remaining(self) -> float:
        return remaining_seconds(self.doc.labels, self.gt, self.valid)

    def run(self, limit: int = 300) -> Effort:
        for _ in range(limit):
            if self.accuracy() >= TARGET:
                break
            region = self.largest_wrong()
            if region is None:
                break
            self.fix(*region)
        self.effort.accuracy = self.accuracy()
        return self.effort

    def largest_wrong(self) -> tuple[int, np.ndarray] | None:
        regions = list(wrong_regions(self.doc.labels, self.gt, self.valid))
        return max(regions, key=lambda r: int(r[1].sum())) if regions else None

    def _undo_to(self, count: int) -> None:
        while self.doc.undo_count > count:
            self.doc.undo()

    def _weigh(self, correction: tools.Correction) -> float | None:
        """The work left after ``correction`` (applied, measured, undone); None if it changes nothing."""
        start = self.doc.undo_count
        correction.apply()
        if self.doc.undo_count == start:
            return None
        left = self.remaining()
        self._undo_to(start)
        return left

    def best_foreseeable(self, cls: int, region: np.ndarray, before: float):
        """(score, correction, work left) of the foreseeable correction with the least cost +
        work left; the exact trace when none leaves less work than there is now."""
        best = None
        for correction in tools.foreseeable(self.doc, region, cls, self.hands, self.tool_names):
            left = self._weigh(correction)
            if left is not None and left < before:
                score = correction.cost.seconds + left
                if best is None or score < best[0]:
                    best = (score, correction, left)
        if best is None:
            correction = tools.trace(self.doc, region, cls, self.hands)
            left = self._weigh(correction)
            best = (correction.cost.seconds + left, correction, left)
        return best

    def _keep(self, correction: tools.Correction, counted: bool = True) -> None:
        self.effort.cost = self.effort.cost + correction.cost
        if counted:
            self.effort.corrections[correction.name] += 1
        self.hands = correction.hands

    def fix(self, cls: int, region: np.ndarray) -> None:
        before = self.remaining()
        score, best, left = self.best_foreseeable(cls, region, before)
        if "snap" in self.tool_names:
            tried = self._try_snap(cls, region, before, score)
            if tried is True:
                return
            if tried is not None:  # tried and undone: the fix, from the selection the snap left
                score, best, left = tried
        start = self.doc.undo_count
        best.apply()
        if self.doc.undo_count == start or not np.isclose(self.remaining(), left):
            raise RuntimeError(f"{best.name} did not repeat the edit it was weighed by")
        self._keep(best)

    def _try_snap(self, cls: int, region: np.ndarray, before: float, best_score: float):
        """Try the snap if it could beat ``best_score``: None when not tried, True when its
        result is kept, else the best foreseeable fix from the selection the attempt left."""
        snap = tools.snap(self.doc, self.rgb, region, cls, self.hands, self.seed * 100_003 + self.attempt)
        if snap is None or (snap.stroke & self.failed).any():
            return None
        if snap.cost.seconds + before - trace_seconds(region) >= best_score:  # not worth it even if perfect
            return None
        self.attempt += 1
        self.effort.attempts["snap"] += 1
        self._keep(snap, counted=False)  # paid whatever it does
        alternative = self.best_foreseeable(cls, region, before)  # what undoing it leads to
        start = self.doc.undo_count
        snap.apply()
        if self.doc.undo_count > start:
            _, fix, fix_left = alternative
            if self.remaining() < SECONDS["key"] + fix.cost.seconds + fix_left:
                self.effort.corrections["snap"] += 1
                return True
            self._undo_to(start)
            self.effort.cost = self.effort.cost + Cost.of(key=1)  # Ctrl+Z
            self.effort.undone["snap"] += 1
        self.failed |= snap.stroke
        return alternative
