"""Re-labelled boundaries moved onto the image's edges: a guided filter of the winning classes.

A live head's labels come from logits on the network's 1/8 grid, resized bilinearly, so its
boundaries are smooth curves that cut across the object's real edges and leave slivers of the
wrong class along them. Here each class that wins somewhere in the image gets its probability
(softmax over those classes of the resized logits), filtered with the image as the guide (He,
Sun and Tang's guided filter, colour guide, box windows from ``cv2.boxFilter``; its
coefficients at a quarter of the size, He and Sun's fast guided filter): inside a window the
output is a linear function of the pixel's colour, so a probability that falls across a
window follows the colour edge in it. The label is then the class of the largest filtered
probability. Only the winning classes (:data:`MAX_CLASSES` at most) are filtered, so it stays
cheap: about 10 ms per class for a 770x512 image on one core.

The window's radius is one grid cell (in original pixels), as far as a grid-borne boundary
can be off; ``EPSILON`` is the colour variance (of [0, 1] values) below which a window counts
as flat and keeps its mean. Far from any boundary one class holds all the probability and the
label does not change.
"""

from __future__ import annotations

from typing import Callable

import cv2
import numpy as np
import torch

from ..predict.features import FeatureMap

EPSILON = 1e-2  # colour variance of a window, in [0, 1] units, that separates an edge from noise
MAX_CLASSES = 8  # more winning classes than this: the most frequent ones are filtered, the others kept
SUBSAMPLE_PER_RADIUS = 0.5  # the filter's coefficients at 1 / (this * radius) of the size (He and Sun's fast
#                             guided filter): they vary slowly, the image they multiply keeps every edge


def cell_radius(feature_map: FeatureMap) -> int:
    """One grid cell in original pixels (at least 1): the filter's window radius."""
    cells = max(feature_map.image_size[0] / feature_map.grid_size[0],
                feature_map.image_size[1] / feature_map.grid_size[1])
    return max(1, int(round(cells)))


class ColourGuide:
    """The guide image's window statistics at the coefficients' size, computed once per image
    and used for every class; :meth:`filter` gives the filtered values at the full size."""

    def __init__(self, image: np.ndarray, radius: int, epsilon: float = EPSILON, subsample: int = 1) -> None:
        self.full = image.astype(np.float32) / 255.0  # (H, W, 3)
        self.size = (max(1, round(image.shape[1] / subsample)), max(1, round(image.shape[0] / subsample)))
        self.radius = max(1, round(radius / subsample))
        small = cv2.resize(self.full, self.size, interpolation=cv2.INTER_AREA) if subsample > 1 else self.full
        self.channels = [small[..., i] for i in range(3)]
        self.mean = [self.box(c) for c in self.channels]
        var = {(i, j): self.box(self.channels[i] * self.channels[j]) - self.mean[i] * self.mean[j]
               for i in range(3) for j in range(i, 3)}
        a, b, c = var[0, 0] + epsilon, var[0, 1], var[0, 2]
        d, e, f = var[1, 1] + epsilon, var[1, 2], var[2, 2] + epsilon
        cofactors = (d * f - e * e, c * e - b * f, b * e - c * d, a * f - c * c, b * c - a * e, a * d - b * b)
        determinant = a * cofactors[0] + b * cofactors[1] + c * cofactors[2]
        inverse = [value / determinant for value in cofactors]  # the symmetric inverse's six entries
        self.inverse = [[inverse[0], inverse[1], inverse[2]], [inverse[1], inverse[3], inverse[4]],
                        [inverse[2], inverse[4], inverse[5]]]

    def box(self, values: np.ndarray) -> np.ndarray:
        size = 2 * self.radius + 1
        return cv2.boxFilter(values, -1, (size, size), borderType=cv2.BORDER_REFLECT)

    def shrink(self, values: np.ndarray) -> np.ndarray:
        """(H, W) values at the coefficients' size."""
        if values.shape[::-1] == self.size:
            return values
        return cv2.resize(values, self.size, interpolation=cv2.INTER_AREA)

    def filter(self, values: np.ndarray) -> np.ndarray:
        """``values`` (at the coefficients' size, float32) filtered with this guide: (H, W) at the full size."""
        mean = self.box(values)
        covariance = [self.box(channel * values) - m * mean for channel, m in zip(self.channels, self.mean)]
        slope = [sum(row[j] * covariance[j] for j in range(3)) for row in self.inverse]
        offset = mean - sum(s * m for s, m in zip(slope, self.mean))
        out = self.grow(offset)
        for i, s in enumerate(slope):
            out += self.grow(s) * self.full[..., i]
        return out

    def grow(self, coefficient: np.ndarray) -> np.ndarray:
        """A coefficient's window mean, at the full size."""
        mean = self.box(coefficient)
        height, width = self.full.shape[:2]
        if (width, height) == self.size:
            return mean
        return cv2.resize(mean, (width, height), interpolation=cv2.INTER_LINEAR)


def follow_edges(logits: torch.Tensor, rows: torch.Tensor, feature_map: FeatureMap, image: np.ndarray,
                 resize: Callable[[torch.Tensor, tuple[int, int]], torch.Tensor],
                 epsilon: float = EPSILON) -> torch.Tensor:
    """[H0, W0] rows: ``rows`` (the argmax of the grid ``logits`` [R, h, w] resized) with the
    winning classes' boundaries moved onto ``image``'s edges. ``resize``: ([K, h, w], (H, W))
    -> [K, H, W] as the labels were resized, to another size. ``image``: (H0, W0, 3) uint8
    RGB; another size is refused (ValueError naming both)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[:2] != feature_map.image_size:
        raise ValueError(f"the image is {image.shape[1]}x{image.shape[0]}, its features are of a "
                         f"{feature_map.image_size[1]}x{feature_map.image_size[0]} RGB image")
    counts = torch.bincount(rows.flatten(), minlength=len(logits))
    winners = torch.nonzero(counts).flatten()
    if len(winners) < 2:
        return rows
    every = len(winners)
    if every > MAX_CLASSES:
        winners = winners[counts[winners].argsort(descending=True)[:MAX_CLASSES]].sort().values
    radius = cell_radius(feature_map)
    guide = ColourGuide(image, radius, epsilon, max(1, round(SUBSAMPLE_PER_RADIUS * radius)))
    probability = torch.softmax(resize(logits[winners], guide.size[::-1]), dim=0).numpy()
    best, chosen = guide.filter(np.ascontiguousarray(probability[0])), np.zeros(rows.shape, np.int64)
    for k in range(1, len(winners)):  # the first largest, as argmax, without keeping every class's map
        filtered = guide.filter(np.ascontiguousarray(probability[k]))
        larger = filtered > best
        chosen[larger] = k
        np.maximum(best, filtered, out=best)
    refined = winners[torch.from_numpy(chosen)]
    if len(winners) < every:  # a class not filtered keeps its pixels
        filtered_class = torch.zeros(len(logits), dtype=torch.bool)
        filtered_class[winners] = True
        kept = ~filtered_class[rows]
        refined[kept] = rows[kept]
    return refined


__all__ = ["EPSILON", "ColourGuide", "cell_radius", "follow_edges"]
