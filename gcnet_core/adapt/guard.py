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

With a single corrected image (a person who just finished their first image of a new class)
the image itself is held out in parts (:func:`held_out_parts`): a checkerboard of blocks,
fitted on one colour and scored on the other, both ways. Pixels within two cells of the
feature grid of the fitted colour are not scored (their features mix the same cells as the
pixels fitted on), so no score counts a pixel the head was fitted on, nor its neighbours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np


LEAVE_ONE_OUT_BELOW = 5
FOLDS = 3  # beyond: each round fits FOLDS heads to score and one to use
PART_BLOCKS = 4  # blocks of a single image's checkerboard along its longer side (at most)
PART_MIN_CELLS = 8  # a block's side in feature-grid cells, at least
PART_MARGIN_CELLS = 2  # grid cells around the fitted blocks that are not scored


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


def held_out_parts(image_size: tuple[int, int], grid_size: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(pixels, scored pixels)] of the two parts of a single image of ``image_size`` (H, W)
    whose features lie on a ``grid_size`` grid: the two colours of a checkerboard of square
    blocks. A part's pixels are fitted on while the other part is held out; its scored pixels
    (those farther than :data:`PART_MARGIN_CELLS` cells from the other part) are scored while
    it is held out, by a fit on the other part."""
    height, width = image_size
    cell = max(height / max(1, grid_size[0]), width / max(1, grid_size[1]))  # pixels per grid cell
    longer = max(height, width)
    side = min(max(int(np.ceil(PART_MIN_CELLS * cell)), -(-longer // PART_BLOCKS)), -(-longer // 2))  # 2+ blocks
    margin = int(np.ceil(PART_MARGIN_CELLS * cell))
    rows, cols = np.arange(height) // side, np.arange(width) // side
    colour = (rows[:, None] + cols[None, :]) % 2 == 0

    def near_a_block_edge(blocks: np.ndarray) -> np.ndarray:
        # a window of +-margin pixels that spans two blocks holds a block of the other colour
        index = np.arange(len(blocks))
        low, high = np.clip(index - margin, 0, len(blocks) - 1), np.clip(index + margin, 0, len(blocks) - 1)
        return blocks[low] != blocks[high]

    near = near_a_block_edge(rows)[:, None] | near_a_block_edge(cols)[None, :]
    return [(colour, colour & ~near), (~colour, ~colour & ~near)]


def should_adopt(candidate: Score, current: Score) -> bool:
    """True when the candidate gets more of the same held-out pixels right."""
    if candidate.total != current.total:
        raise ValueError("scores on different pixels cannot be compared")
    return candidate.total > 0 and candidate.correct > current.correct


def summary_line(corrected: int, candidate: Score, current: Score, adopted: bool, parts: bool = False) -> str:
    """The one line the window shows after a fit; ``parts``: scored on held-out parts of the
    single corrected image (:func:`held_out_parts`), not on other images."""
    images = f"{corrected} corrected image{'s' if corrected != 1 else ''}"
    scored_on = f"held-out parts of {images}" if parts else "held-out images"
    if adopted:
        return (f"live model: {images}, {candidate.accuracy:.1f} % pixels right on {scored_on} "
                f"(was {current.accuracy:.1f} %)")
    return (f"live model kept: a new fit on {images} gets {candidate.accuracy:.1f} % pixels right on {scored_on}, "
            f"not more than the current {current.accuracy:.1f} %")


def reverted_line(corrected: int, model: Score, live: Score, parts: bool = False) -> str:
    """The line when the live head in use is dropped: the model as it is got more held-out
    pixels right than it (and no new fit did better)."""
    images = f"{corrected} corrected image{'s' if corrected != 1 else ''}"
    scored_on = f"held-out parts of {images}" if parts else f"held-out images ({images})"
    return (f"live model dropped: the model as it is gets {model.accuracy:.1f} % pixels right on {scored_on}, "
            f"more than the live model's {live.accuracy:.1f} %")


__all__ = ["FOLDS", "LEAVE_ONE_OUT_BELOW", "PART_BLOCKS", "PART_MARGIN_CELLS", "PART_MIN_CELLS", "Score",
           "held_out_folds", "held_out_parts", "reverted_line", "score_labels", "should_adopt", "summary_line"]
