"""Compact per-pixel class rankings: what the model thought besides its first guess.

A full probability map (150 classes at 12 megapixels) would need gigabytes, so a
prediction keeps only the ``k`` most likely classes and their probabilities on a coarse
grid (long side at most :data:`GRID_LONG_SIDE`), probabilities quantised to 8 bits. That
is enough to rank the classes of a region (the mean probability over the region's pixels)
and costs well under a megabyte per image.

A prediction's grid is the network's own (one cell per 8 input pixels, :func:`network_grid`):
the full-size logits are only a bilinear resize of it, so ranking them told nothing more
and cost ~10 % of a CPU pass (pooling 150 full-size channels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

TOP_K = 5
GRID_LONG_SIDE = 320


@dataclass
class ClassRankings:
    """The ``k`` most likely classes per grid cell, best first, for an image of ``image_size``.

    ``classes``: (k, h, w) uint8 class ids; ``probabilities``: (k, h, w) uint8, probability
    times 255 rounded. The grid covers the whole image (cell = image size / grid size).
    """

    classes: np.ndarray
    probabilities: np.ndarray
    image_size: tuple[int, int]  # (H, W) of the image the rankings describe

    def __post_init__(self) -> None:
        self.classes = np.ascontiguousarray(self.classes, dtype=np.uint8)
        self.probabilities = np.ascontiguousarray(self.probabilities, dtype=np.uint8)
        if self.classes.ndim != 3 or self.classes.shape != self.probabilities.shape:
            raise ValueError(f"rankings need two (k, h, w) arrays of one shape, got {self.classes.shape} "
                             f"and {self.probabilities.shape}")
        self.image_size = (int(self.image_size[0]), int(self.image_size[1]))

    @property
    def k(self) -> int:
        return self.classes.shape[0]

    @property
    def grid_size(self) -> tuple[int, int]:
        return self.classes.shape[1], self.classes.shape[2]

    @property
    def nbytes(self) -> int:
        return self.classes.nbytes + self.probabilities.nbytes

    def cell_of(self, y: np.ndarray | int, x: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """Grid cell (row, column) of image pixel(s) ``(y, x)``."""
        (height, width), (rows, cols) = self.image_size, self.grid_size
        row = np.minimum(np.asarray(y) * rows // max(height, 1), rows - 1)
        col = np.minimum(np.asarray(x) * cols // max(width, 1), cols - 1)
        return row, col

    def region_ranking(self, mask: np.ndarray, origin: tuple[int, int] = (0, 0),
                       limit: int | None = None) -> list[tuple[int, float]]:
        """Classes ranked by mean probability over the True pixels of ``mask``.

        ``mask`` may be a crop of the image with its top-left pixel at ``origin`` = (x, y).
        A class outside a cell's top k counts as probability 0 there (a lower bound), so
        the figures are exact for the classes that matter. Returns (class, mean probability).
        """
        ys, xs = np.nonzero(mask)
        if ys.size == 0:
            return []
        rows, cols = self.cell_of(ys + origin[1], xs + origin[0])
        cells = self.grid_size[0] * self.grid_size[1]
        weights = np.bincount(rows * self.grid_size[1] + cols, minlength=cells).astype(np.float64)
        used = np.flatnonzero(weights)
        flat_classes = self.classes.reshape(self.k, -1)[:, used]
        flat_probs = self.probabilities.reshape(self.k, -1)[:, used].astype(np.float64) / 255.0
        totals = np.bincount(flat_classes.ravel(), weights=(flat_probs * weights[used]).ravel(), minlength=256)
        means = totals / ys.size
        order = [int(c) for c in np.argsort(-means, kind="stable") if means[c] > 0]
        return [(c, float(means[c])) for c in order[:limit]]

    def best_other(self, excluded: int, box: tuple[int, int, int, int], class_count: int = 256) -> np.ndarray:
        """The most likely class other than ``excluded`` at each pixel of ``box`` = (y0, y1,
        x0, x1), among the first ``class_count`` classes: what a pixel becomes when a person
        says "not this class" there. 255 where the model ranked no other class."""
        usable = (self.classes != excluded) & (self.classes < class_count) & (self.probabilities > 0)
        first = np.argmax(usable, axis=0)[None]
        best = np.take_along_axis(self.classes, first, axis=0)[0]
        best = np.where(usable.any(axis=0), best, 255).astype(np.uint8)
        y0, y1, x0, x1 = box
        rows, cols = self.cell_of(np.arange(y0, y1)[:, None], np.arange(x0, x1)[None, :])
        return best[rows, cols]

    def remapped(self, lut: np.ndarray) -> "ClassRankings":
        """The same rankings with class ids mapped through ``lut`` (256 entries); entries
        mapped to 255 (a class the target set lacks) get probability 0."""
        lut = np.asarray(lut, dtype=np.uint8)
        classes = lut[self.classes]
        probabilities = np.where(classes == 255, 0, self.probabilities).astype(np.uint8)
        return ClassRankings(classes, probabilities, self.image_size)


def grid_size(height: int, width: int, long_side: int = GRID_LONG_SIDE) -> tuple[int, int]:
    """The rankings grid for an image: the image's own size when small, else its long side
    shrunk to ``long_side`` keeping the ratio."""
    factor = min(1.0, long_side / max(height, width, 1))
    return max(1, round(height * factor)), max(1, round(width * factor))


def network_grid(height: int, width: int, stride: int = 8, long_side: int = GRID_LONG_SIDE) -> tuple[int, int]:
    """The grid of one cell per ``stride`` pixels of a (height, width) map (the network's
    output grid of its input; ``stride=1``: the map's own), long side at most ``long_side``."""
    rows, cols = -(-height // stride), -(-width // stride)
    factor = min(1.0, long_side / max(rows, cols, 1))
    return max(1, round(rows * factor)), max(1, round(cols * factor))


def rankings_from_logits(logits: torch.Tensor, image_size: tuple[int, int], k: int = TOP_K,
                         long_side: int = GRID_LONG_SIDE, probabilities: bool = False,
                         grid: tuple[int, int] | None = None) -> ClassRankings:
    """Rankings from a (1, C, h, w) or (C, h, w) logit map (or probability map with
    ``probabilities=True``) that covers the image; it is resized to the grid first (``grid``,
    or by default :func:`grid_size` of the image)."""
    if logits.dim() == 3:
        logits = logits[None]
    grid = tuple(grid) if grid is not None else grid_size(image_size[0], image_size[1], long_side)
    logits = logits.float()
    if tuple(logits.shape[-2:]) != grid:
        shrinking = grid[0] <= logits.shape[-2] and grid[1] <= logits.shape[-1]
        logits = F.interpolate(logits, size=grid, mode="area" if shrinking else "bilinear",
                               **({} if shrinking else {"align_corners": False}))
    probs = logits[0] if probabilities else torch.softmax(logits[0], dim=0)
    k = min(k, probs.shape[0])
    top, index = probs.topk(k, dim=0)
    quantised = torch.clamp(torch.round(top * 255.0), 0, 255).to(torch.uint8)
    return ClassRankings(index.to(torch.uint8).cpu().numpy(), quantised.cpu().numpy(), image_size)
