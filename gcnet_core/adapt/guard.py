"""Adopted only when it is better: held-out scores of a new head against the current one.

A new head is judged on corrected images it was not fitted on. The corrected images are
dealt into folds (each image its own fold, leave-one-out, while there are fewer than
:data:`LEAVE_ONE_OUT_BELOW`; beyond, :data:`FOLDS` folds, an image's fold fixed by its token so
that it stays when images are added: a round re-fits only the folds that changed), and for
each fold the new way (a head fitted on every other corrected image) and the current way
(the current head itself where it never saw the fold's images, else a head fitted on its own
images less the fold) label the fold's pixels
(:func:`gcnet_core.adapt.job.adapt_project`). The new head is adopted only when it gets more
of the same pixels right: **pixel accuracy decides** (it is what a person fixes by hand);
mIoU is reported beside it; an equal score keeps the current head. The pixels are a uniform
sample of each image's labelled pixels (:data:`~gcnet_core.adapt.head.CHECK_PIXELS`), so a
score costs a matrix product, not a re-labelled image.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np


LEAVE_ONE_OUT_BELOW = 5
FOLDS = 3  # beyond: each round fits FOLDS heads to score and one to use


@dataclass(frozen=True)
class Score:
    """Pixels right among the labelled pixels (ignore skipped), and per-class overlaps."""

    correct: int
    total: int
    intersection: np.ndarray  # (K,) int64
    union: np.ndarray  # (K,) int64

    @classmethod
    def empty(cls, num_classes: int) -> "Score":
        zeros = np.zeros(num_classes, np.int64)
        return cls(0, 0, zeros, zeros.copy())

    @property
    def accuracy(self) -> float:
        """Percent of the labelled pixels predicted right (0 when none were scored)."""
        return 100.0 * self.correct / self.total if self.total else 0.0

    @property
    def miou(self) -> float:
        """Mean IoU in percent over the classes present in the labels or the predictions."""
        present = self.union > 0
        return float(100.0 * np.mean(self.intersection[present] / self.union[present])) if present.any() else 0.0

    def __add__(self, other: "Score") -> "Score":
        return Score(self.correct + other.correct, self.total + other.total,
                     self.intersection + other.intersection, self.union + other.union)


def score_labels(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> Score:
    """Score one image: ``labels`` == 255 (and ids >= ``num_classes``) are not counted; a
    prediction of 255 (none of the project's classes) counts wrong."""
    scored = labels < num_classes
    truth, guess = labels[scored].astype(np.int64), predicted[scored].astype(np.int64)
    right = truth == guess
    intersection = np.bincount(truth[right], minlength=num_classes)[:num_classes]
    truth_count = np.bincount(truth, minlength=num_classes)[:num_classes]
    valid_guess = guess[guess < num_classes]
    guess_count = np.bincount(valid_guess, minlength=num_classes)[:num_classes]
    return Score(int(right.sum()), int(scored.sum()), intersection, truth_count + guess_count - intersection)


def held_out_folds(tokens: Sequence[str]) -> list[list[str]]:
    """Leave-one-out below :data:`LEAVE_ONE_OUT_BELOW` images; else :data:`FOLDS` folds, each
    image's fixed by a hash of its token (empty folds dropped)."""
    if len(tokens) < LEAVE_ONE_OUT_BELOW:
        return [[token] for token in tokens]
    folds: list[list[str]] = [[] for _ in range(FOLDS)]
    for token in tokens:
        folds[int(hashlib.blake2b(token.encode(), digest_size=4).hexdigest(), 16) % FOLDS].append(token)
    return [fold for fold in folds if fold]


def should_adopt(candidate: Score, current: Score) -> bool:
    """True when the candidate gets more of the same held-out pixels right."""
    if candidate.total != current.total:
        raise ValueError("scores on different pixels cannot be compared")
    return candidate.total > 0 and candidate.correct > current.correct


def summary_line(corrected: int, candidate: Score, current: Score, adopted: bool) -> str:
    """The one line the window shows after a fit."""
    images = f"{corrected} corrected image{'s' if corrected != 1 else ''}"
    if adopted:
        return (f"live model: {images}, {candidate.accuracy:.1f} % pixels right on held-out images "
                f"(was {current.accuracy:.1f} %)")
    return (f"live model kept: a new fit on {images} gets {candidate.accuracy:.1f} % pixels right on held-out "
            f"images, not more than the current {current.accuracy:.1f} %")


__all__ = ["FOLDS", "LEAVE_ONE_OUT_BELOW", "Score", "held_out_folds", "score_labels", "should_adopt", "summary_line"]
