"""Re-labelled boundaries moved onto the image's edges: a guided filter of the winning classes.

A live head's labels come from logits on the network's 1/8 grid, resized bilinearly, so its
boundaries are smooth curves that cut across the object's real edges and leave slivers of the
wrong class along them. Here each class that wins somewhere in the image gets its probability
(softmax over those classes of the resized logits), filtered with the image as the guide (He,
Sun and Tang's guided filter, colour guide, box windows from ``cv2.boxFilter``): inside a
window the output is a linear function of the pixel's colour, so a probability that falls
across a window follows the colour edge in it. The label is then the class of the largest
filtered probability. Only the few winning classes are filtered, so it stays cheap.

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
MAX_CLASSES = 12  # more winning classes than this: the most frequent ones are filtered, the others kept


def cell_radius(feature_map: FeatureMap) -> int:
    """One grid cell in original pixels (at least 1): the filter's window radius."""
    cells = max(feature_map.image_size[0] / feature_map.grid_size[0],
                feature_map.image_size[1] / feature_map.grid_size[1])
    return max(1, int(round(cells)))


class ColourGuide:
    """The guide image's window statistics, computed once and used for every class."""

    def __init__(self, image: np.ndarray, radius: int, epsilon: float = EPSILON) -> None:
        self.radius = radius
        self.image = image.astype(np.float32) / 255.0  # (H, W, 3)
        self.mean = self.box(self.image)
        channels = [self.image[..., i] for i in range(3)]
        covariance = np.empty(self.image.shape[:2] + (3, 3), np.float32)
        for i in range(3):
            for j in range(i, 3):
                value = self.box(channels[i] * channels[j]) - self.mean[..., i] * self.mean[..., j]
                covariance[..., i, j] = covariance[..., j, i] = value
        covariance += epsilon * np.eye(3, dtype=np.float32)
        self.inverse = np.linalg.inv(covariance)  # (H, W, 3, 3)

    def box(self, values: np.ndarray) -> np.ndarray:
        size = 2 * self.radius + 1
        return cv2.boxFilter(values, -1, (size, size), borderType=cv2.BORDER_REFLECT)

    def filter(self, values: np.ndarray) -> np.ndarray:
        """(H, W) float32 ``values`` filtered with this guide."""
        mean = self.box(values)
        covariance = self.box(self.image * values[..., None]) - self.mean * mean[..., None]  # (H, W, 3)
        a = np.einsum("hwij,hwj->hwi", self.inverse, covariance)
        b = mean - np.einsum("hwi,hwi->hw", a, self.mean)
        return np.einsum("hwi,hwi->hw", self.box(a), self.image) + self.box(b)


def follow_edges(logits: torch.Tensor, rows: torch.Tensor, feature_map: FeatureMap, image: np.ndarray,
                 resize: Callable[[torch.Tensor], torch.Tensor], epsilon: float = EPSILON) -> torch.Tensor:
    """[H0, W0] rows: ``rows`` (the argmax of the grid ``logits`` [R, h, w] resized) with the
    winning classes' boundaries moved onto ``image``'s edges. ``resize``: [K, h, w] -> [K, H0, W0]
    as the labels were resized. ``image``: (H0, W0, 3) uint8 RGB; another size is refused
    (ValueError naming both)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[:2] != feature_map.image_size:
        raise ValueError(f"the image is {image.shape[1]}x{image.shape[0]}, its features are of a "
                         f"{feature_map.image_size[1]}x{feature_map.image_size[0]} RGB image")
    winners, counts = torch.unique(rows, return_counts=True)
    if len(winners) < 2:
        return rows
    every = winners
    if len(winners) > MAX_CLASSES:
        winners = winners[counts.argsort(descending=True)[:MAX_CLASSES]].sort().values
    probability = torch.softmax(resize(logits[winners]), dim=0).numpy()
    guide = ColourGuide(image, cell_radius(feature_map), epsilon)
    filtered = np.stack([guide.filter(p) for p in probability])
    refined = winners[torch.from_numpy(filtered.argmax(axis=0))]
    if len(winners) < len(every):  # a class not filtered keeps its pixels
        kept = ~torch.isin(rows, winners)
        refined[kept] = rows[kept]
    return refined


__all__ = ["EPSILON", "ColourGuide", "cell_radius", "follow_edges"]
