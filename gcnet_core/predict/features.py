"""The decode head's last features: the 512-channel map ``conv_seg`` classifies, at 1/8 resolution.

Live adaptation re-fits only that classifier, so what it needs of each image is this map
(kept in half precision by :mod:`gcnet_core.project.feature_cache`), never another network pass. The pixels fed to the
network are exactly the predictor's (:mod:`gcnet_core.predict.network_input`: OpenCV keep-ratio
resize, RGB normalisation), and ``conv_seg`` of the map, resized as the predictor resizes its
logits, gives the predictor's labels (``tests/test_adapt.py`` proves it).

Slide-mode entries (the 769 Cityscapes rows) combine their windows as their logits are
combined, summed and divided by the coverage count, but on one grid for the whole network
input instead of at its full size: grid point ``k`` sits on input pixel ``k * (L - 1) / (n - 1)``
with ``n = ceil((L - 1) / 8) + 1`` points along a side of ``L`` pixels (129 x 257 for the
1025 x 2049 input), each window's features sampled there with the window's own bilinear rule,
and the grid resized to the input with ``align_corners=True``. ``conv_seg`` is linear, so at
the grid points this equals the predictor's averaged logits; between them it interpolates
those values instead of each window's own cells (windows start 1 or 2 pixels off the grid),
so labels can differ there: on the random-weight test networks, whose logits jump from cell
to cell, 10 % of the pixels do; a trained network's logits are far smoother.

For a predictor that already ran the network, :func:`head_features` is the seam: its
``conv_seg(head_features(network, x))`` is bit for bit the head's logits, so a pass can keep
the features it computed anyway (:func:`whole_feature_map`, :func:`slide_feature_map`).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from .network_input import fallback_slide_geometry, normalize, resize_for_network, slide_windows

if TYPE_CHECKING:  # plain data and modules from gcnet_core.model / gcnet_core.weights
    from ..model.segmentor import GCNet
    from ..weights.zoo import ZooEntry

#: Bumped whenever what is stored for an image changes meaning (a cache entry of another
#: format is never used).
FEATURE_FORMAT = 1
CHANNELS = 512


@dataclass(frozen=True)
class FeatureMap:
    """One image's features and how the grid maps onto its pixels (the predictor's two resizes)."""

    features: np.ndarray  # (512, h, w), float16 as kept (float32 where asked)
    input_size: tuple[int, int]  # (H', W'): the network input after the keep-ratio resize
    image_size: tuple[int, int]  # (H0, W0): the original image
    grid_corners: bool  # align_corners of the first resize (grid -> input)
    align_corners: bool  # align_corners of the second resize (input -> original)

    @property
    def grid_size(self) -> tuple[int, int]:
        return int(self.features.shape[1]), int(self.features.shape[2])

    def tensor(self) -> torch.Tensor:
        """The features as a torch tensor over the same memory, to be read only (a map read
        from the cache is a read-only buffer, which torch.from_numpy warns about)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            return torch.from_numpy(self.features)

    def float32(self) -> torch.Tensor:
        """The features as a float32 tensor (a copy, by torch's cast: numpy's takes 8 ms of a
        770x512 image's 6 MiB, torch's 1-2)."""
        return self.tensor().float()

    @property
    def nbytes(self) -> int:
        return int(self.features.nbytes)


def head_features(network: "GCNet", x: torch.Tensor) -> torch.Tensor:
    """Backbone and decode head up to ``conv_seg``'s input: [N, 512, h, w] (h, w = 1/8 of x).

    The head's own order (docs/network.md, "GCHead"), written out rather than hooked, so two
    threads may run the same network at once.
    """
    head = network.decode_head
    backbone_out = network.backbone(x)[3]
    y = head.convs[0](backbone_out)
    y = head.gc_block(y)
    y = head.convs[1](y)
    y = head.conv_cat(torch.cat([backbone_out, y], dim=1))
    return head.dropout(y)  # the identity at eval, as before conv_seg


def whole_feature_map(features: torch.Tensor, image_size: tuple[int, int], input_size: tuple[int, int],
                      align_corners: bool, dtype=np.float16) -> FeatureMap:
    """A whole-image pass's [1, 512, h, w] features as kept."""
    array = features[0].detach().to("cpu", torch.float32).numpy().astype(dtype, copy=False)
    return FeatureMap(np.ascontiguousarray(array), tuple(input_size), tuple(image_size), align_corners, align_corners)


def grid_size(length: int) -> int:
    """Points of the slide grid along a side of ``length`` input pixels (about 1/8 of it)."""
    return max(1, -(-(length - 1) // 8) + 1)


def grid_positions(length: int) -> np.ndarray:
    """Input-pixel coordinate of each slide-grid point (corner-aligned, spacing <= 8)."""
    points = grid_size(length)
    if points == 1:
        return np.zeros(1)
    return np.arange(points) * ((length - 1) / (points - 1))


def bilinear_taps(positions: np.ndarray, source: int, target: int,
                  align_corners: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low, high, fraction): the two source cells and the weight of ``high`` that torch's
    bilinear resize of ``source`` cells to ``target`` uses at each target ``positions``."""
    positions = np.asarray(positions, dtype=np.float64)
    if align_corners:
        coordinate = positions * ((source - 1) / (target - 1)) if target > 1 else np.zeros_like(positions)
    else:
        coordinate = np.maximum((positions + 0.5) * (source / target) - 0.5, 0.0)
    low = np.minimum(np.floor(coordinate).astype(np.int64), source - 1)
    high = np.minimum(low + 1, source - 1)
    return low, high, np.clip(coordinate - low, 0.0, 1.0)


def window_sampling(positions: np.ndarray, start: int, size: int, cells: int,
                    align_corners: bool) -> tuple[np.ndarray, np.ndarray]:
    """(grid rows inside the window, [rows, cells] bilinear weights): where a window's ``cells``
    features, resized to its ``size`` pixels with ``align_corners``, are at ``positions``."""
    inside = np.flatnonzero((positions >= start) & (positions <= start + size - 1))
    low, high, frac = bilinear_taps(positions[inside] - start, cells, size, align_corners)
    weights = np.zeros((len(inside), cells))
    rows = np.arange(len(inside))
    np.add.at(weights, (rows, low), 1.0 - frac)
    np.add.at(weights, (rows, high), frac)
    return inside, weights


def combine_windows(window_features: list[torch.Tensor], windows: list[tuple[int, int, int, int]],
                    input_size: tuple[int, int], align_corners: bool) -> torch.Tensor:
    """Sliding windows' [512, hf, wf] features on the input's slide grid: each window sampled
    at the grid points it covers, summed, divided by the count of windows covering each point."""
    rows, cols = grid_positions(input_size[0]), grid_positions(input_size[1])
    total = torch.zeros((window_features[0].shape[0], len(rows), len(cols)), dtype=torch.float32)
    count = torch.zeros((1, len(rows), len(cols)), dtype=torch.float32)
    for features, (y1, y2, x1, x2) in zip(window_features, windows):
        features = features.to("cpu", torch.float32)
        row_index, row_weights = window_sampling(rows, y1, y2 - y1, features.shape[1], align_corners)
        col_index, col_weights = window_sampling(cols, x1, x2 - x1, features.shape[2], align_corners)
        sampled = torch.einsum("yh,chw,xw->cyx", torch.from_numpy(row_weights).float(), features,
                               torch.from_numpy(col_weights).float())
        grid = (slice(None), torch.from_numpy(row_index)[:, None], torch.from_numpy(col_index)[None, :])
        total[grid] += sampled
        count[grid] += 1
    return total / count


def slide_feature_map(window_features: list[torch.Tensor], windows: list[tuple[int, int, int, int]],
                      image_size: tuple[int, int], input_size: tuple[int, int], align_corners: bool,
                      dtype=np.float16) -> FeatureMap:
    """A sliding-window pass's features (one [512, hf, wf] per window, in ``windows`` order) as kept."""
    grid = combine_windows(window_features, windows, input_size, align_corners)
    array = np.ascontiguousarray(grid.numpy().astype(dtype, copy=False))
    return FeatureMap(array, tuple(input_size), tuple(image_size), True, align_corners)


class FeatureExtractor:
    """Computes an image's :class:`FeatureMap` with a network as its zoo entry runs it.

    ``version`` names the weights the features come from (backbone and head, not the
    classifier they feed, so a re-fitted classifier keeps them valid) and the test geometry:
    the cache's key, computed once per extractor.
    """

    def __init__(self, network: "GCNet", entry: "ZooEntry", window_batch: int = 4) -> None:
        self.network = network
        self.entry = entry
        self.window_batch = window_batch
        self._version: str | None = None

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = feature_version(self.network, self.entry)
        return self._version

    @torch.inference_mode()
    def __call__(self, image: np.ndarray, dtype=np.float16, slide: bool | None = None) -> FeatureMap:
        """Features of one RGB uint8 image; ``slide`` forces (or stops) sliding windows."""
        slide = self.entry.test_mode == "slide" if slide is None else slide
        (resized,) = resize_for_network([image], self.entry.test_scale)
        x = normalize([resized], self.device)
        image_size, input_size = image.shape[:2], resized.shape[:2]
        training = self.network.training
        self.network.eval()
        try:
            if not slide:
                return whole_feature_map(head_features(self.network, x), image_size, input_size,
                                         self.entry.align_corners, dtype)
            crop, stride = fallback_slide_geometry(self.entry)
            windows = slide_windows(*input_size, crop, stride)
            window_features: list[torch.Tensor] = []
            for start in range(0, len(windows), self.window_batch):
                group = windows[start:start + self.window_batch]
                crops = torch.cat([x[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in group])
                window_features.extend(head_features(self.network, crops))
        finally:
            self.network.train(training)
        return slide_feature_map(window_features, windows, image_size, input_size, self.entry.align_corners, dtype)


def logits_from_features(weight: torch.Tensor, bias: torch.Tensor, feature_map: FeatureMap) -> torch.Tensor:
    """[K, H0, W0] float32 logits of a 1x1 classifier (``conv_seg``'s weight [K, 512, 1, 1] or
    [K, 512]) at the original size, resized as the predictor resizes its logits. The reference
    that :func:`gcnet_core.adapt.head.relabel` computes faster."""
    features = feature_map.float32()[None]
    logits = F.conv2d(features, weight.detach().float().reshape(weight.shape[0], -1, 1, 1), bias.detach().float())
    logits = F.interpolate(logits, size=feature_map.input_size, mode="bilinear", align_corners=feature_map.grid_corners)
    if feature_map.input_size != feature_map.image_size:
        logits = F.interpolate(logits, size=feature_map.image_size, mode="bilinear",
                               align_corners=feature_map.align_corners)
    return logits[0]


def feature_version(network: "GCNet", entry: "ZooEntry") -> str:
    """sha256 (first 24 hex digits) of every weight the features depend on (not ``conv_seg``,
    not the auxiliary head) and of the test geometry and the storage format."""
    digest = hashlib.sha256()
    crop, stride = fallback_slide_geometry(entry)
    digest.update(f"format{FEATURE_FORMAT}:{entry.test_mode}:{entry.test_scale}:{crop}:{stride}:"
                  f"{entry.align_corners};".encode())
    for name, tensor in sorted(network.state_dict().items()):
        if name.startswith(("decode_head.conv_seg.", "auxiliary_head.")):
            continue
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}:{array.dtype}:{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()[:24]


__all__ = ["CHANNELS", "FEATURE_FORMAT", "FeatureExtractor", "FeatureMap", "bilinear_taps", "combine_windows",
           "feature_version", "grid_positions", "grid_size", "head_features", "logits_from_features",
           "slide_feature_map", "whole_feature_map", "window_sampling"]
