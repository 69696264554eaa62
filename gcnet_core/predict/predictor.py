"""Inference exactly as mmsegmentation runs it (docs/inference.md), plus confidence and batching.

Single scale: cv2 INTER_LINEAR keep-ratio resize of the uint8 image, RGB normalisation,
whole-image or sliding-window logits, a bilinear resize to the network input inside the
model and a second one to the original size, then argmax. ``tta=True`` is the 0.x
ms+flip rule behind the published ms+flip numbers: six scales of the base scale, each
also flipped, softmax probabilities averaged at the original size.

Besides the labels and their confidence, a pass gives what the annotator's tools need, at
no extra network run: the class rankings, from the logits on the network's own 1/8 grid
(not from the full-size ones: that cost a CPU pass ~10 %), and on request
(``keep_features``) the decode head's last features (:mod:`.features`) for live adaptation.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from ..files.images import read_image_rgb
from .acceleration import best_precision, cuda_math
from .features import FeatureMap, head_features, slide_feature_map, whole_feature_map
from .network_input import fallback_slide_geometry, normalize, resize_for_network, slide_windows
from .rankings import ClassRankings, network_grid, rankings_from_logits
from .stopping import check_stopped

if TYPE_CHECKING:  # plain data from gcnet_core.weights.zoo
    from ..weights.zoo import ZooEntry

TTA_RATIOS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
PRECISIONS = ("auto", "fp32", "fp16", "bf16")  # auto: fp16 fast path on CUDA, exact fp32 on the CPU

# Elements of one float32 class-chunk at original size before argmax/confidence are
# computed chunk by chunk (a 150-class 4000x6000 logit map would need 14 GB at once).
_CHUNK_ELEMENTS = 64 * 1024 * 1024


@dataclass
class SegmentationResult:
    """One image's prediction at its original size."""

    labels: np.ndarray  # (H, W) uint8 class indices
    confidence: np.ndarray  # (H, W) float32, top softmax probability
    logits: np.ndarray | None = None  # (C, H, W) float32; averaged probabilities with tta
    note: str | None = None  # how the run deviated from the plan (e.g. a memory fallback), for the user
    rankings: ClassRankings | None = None  # top-k classes per cell of a coarse grid (model-aware tools)
    features: FeatureMap | None = None  # the decode head's last features (float16), when asked for

    @property
    def uncertainty(self) -> float:
        return mean_uncertainty(self.confidence)


@dataclass
class NetworkPass:
    """What the network gave for a batch, at the network input's size (before the resize to
    each image's own size), with what it computed on the way."""

    logits: torch.Tensor  # [N, C, H', W'] float32
    coarse: torch.Tensor | None = None  # [N, C, h, w] float32 on the network's 1/8 grid (whole images)
    features: torch.Tensor | None = None  # [N, 512, h, w] conv_seg's input (whole images), when kept
    window_features: list[torch.Tensor] | None = None  # sliding windows: [N, 512, hf, wf] per window, when kept
    windows: list[tuple[int, int, int, int]] | None = None  # (y1, y2, x1, x2) of those windows


def mean_uncertainty(confidence: np.ndarray) -> float:
    """Mean of 1 - confidence over the image: how much the model would learn from a label.
    Sorting by it puts the images worth correcting first."""
    return float(1.0 - np.mean(confidence, dtype=np.float64)) if confidence.size else 0.0


def tta_scales(base_scale: tuple[int, int]) -> list[tuple[int, int]]:
    """The 0.x ms+flip scales: each ratio times the config's base scale, truncated."""
    return [(int(base_scale[0] * r), int(base_scale[1] * r)) for r in TTA_RATIOS]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` means the first CUDA GPU when there is one, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was asked for but no CUDA GPU is available; use --device cpu")
    return device


def resolve_precision(device: torch.device, precision: str) -> str:
    """Validate ``precision`` for ``device``; ``auto`` becomes fp16 on CUDA (see
    :func:`~gcnet_core.predict.acceleration.best_precision`) and fp32 on the CPU."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        return best_precision(device)
    return precision


def autocast_context(device: torch.device, precision: str, cache_enabled: bool = True):
    """fp32 runs as is; fp16/bf16 run the network under autocast (on the CPU too, slowly)."""
    precision = resolve_precision(device, precision)
    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype, cache_enabled=cache_enabled)


class Predictor:
    """Runs a network the way its zoo entry says (whole or slide, align_corners, scale).

    This is the exact path: CPU preprocessing with OpenCV, NCHW float32 (or autocast),
    true fp32 on CUDA (TF32 off), nothing cached. :class:`~gcnet_core.predict.fast.FastPredictor`
    overrides :meth:`prepare` and :meth:`network` to go faster on a GPU.
    """

    def __init__(self, model: torch.nn.Module, entry: "ZooEntry", precision: str = "fp32",
                 window_batch: int = 4) -> None:
        self.model = model
        self.entry = entry
        self.device = next(model.parameters()).device
        self.precision = resolve_precision(self.device, precision)  # validated early
        self.window_batch = window_batch
        self.force_slide = False  # set while a whole-image entry falls back to windows

    @property
    def align_corners(self) -> bool:
        return self.model.align_corners

    @property
    def description(self) -> str:
        return f"{self.precision}, exact"

    def math_settings(self):
        """fp32 means fp32: TF32 off (cuDNN enables it by default) and no autotuning, so the
        CUDA path gives mmsegmentation's float32 results; restored after each call."""
        if self.device.type != "cuda":
            return contextlib.nullcontext()

        return cuda_math(tf32=False, autotune=False)

    def prepare(self, images: list[np.ndarray], scale: tuple[int, int], flip: bool = False) -> torch.Tensor:
        """Keep-ratio resize with OpenCV (as mmcv), optional horizontal flip (after the resize,
        as mmseg's test-time augmentation) and normalisation: the network input."""
        return normalize(resize_for_network(images, scale, flip), self.device)

    def head_outputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Backbone + decode head at 1/8 of ``x``: ``conv_seg``'s logits (float32) and its input
        features. The fast path and the CPU engine run the same two outputs their own way.
        A pass asked to stop (:mod:`.stopping`) stops here, before the next window runs."""
        check_stopped()
        with autocast_context(self.device, self.precision):
            features = head_features(self.model, x)
            logits = self.model.decode_head.conv_seg(features)
        return logits.float(), features

    def to_input(self, logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The first bilinear resize, from the network's 1/8 grid to the network input, in float32."""
        return F.interpolate(logits, size=tuple(size), mode="bilinear", align_corners=self.align_corners)

    def run(self, x: torch.Tensor, keep_features: bool = False) -> NetworkPass:
        """One pass at the network-input size: whole image, or averaged windows (slide)."""
        if self.entry.test_mode == "slide" or self.force_slide:
            return self.slide(x, keep_features)
        coarse, features = self.head_outputs(x)
        return NetworkPass(self.to_input(coarse, x.shape[2:]), coarse, features if keep_features else None)

    def logits_at_input(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at the network-input size: one pass (whole) or averaged windows (slide)."""
        return self.run(x).logits

    def slide(self, x: torch.Tensor, keep_features: bool = False) -> NetworkPass:
        """Logits of overlapping crops summed, divided by coverage (docs/inference.md, "Slide
        mode"); with ``keep_features``, each window's features too (combined per image later)."""
        n, _, height, width = x.shape
        crop, stride = fallback_slide_geometry(self.entry)
        windows = slide_windows(height, width, crop, stride)
        total = torch.zeros((n, self.model.num_classes, height, width), device=x.device)
        count = torch.zeros((1, 1, height, width), device=x.device)
        kept: list[torch.Tensor] = []
        for start in range(0, len(windows), self.window_batch):
            group = windows[start:start + self.window_batch]
            crops = torch.cat([x[:, :, y1:y2, x1:x2] for y1, y2, x1, x2 in group])
            coarse, features = self.head_outputs(crops)
            logits = self.to_input(coarse, crops.shape[2:])
            for k, (y1, y2, x1, x2) in enumerate(group):
                total[:, :, y1:y2, x1:x2] += logits[k * n:(k + 1) * n]
                count[:, :, y1:y2, x1:x2] += 1
                if keep_features:
                    kept.append(features[k * n:(k + 1) * n])
        return NetworkPass(total / count, window_features=kept if keep_features else None,
                           windows=windows if keep_features else None)

    def to_original(self, logits: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The second bilinear resize, from the network input to the original image size."""
        if tuple(logits.shape[-2:]) == tuple(size):
            return logits
        return F.interpolate(logits, size=size, mode="bilinear", align_corners=self.align_corners)

    @torch.inference_mode()
    def predict_batch(self, images: list[np.ndarray], return_logits: bool = False,
                      keep_features: bool = False) -> list[SegmentationResult]:
        """Single-scale prediction for images that share one size (one network pass);
        ``keep_features``: each result carries the features that pass computed."""
        size = images[0].shape[:2]
        with self.math_settings():
            network_pass = self.run(self.prepare(images, self.entry.test_scale), keep_features)
            return [self.finish(network_pass, i, size, return_logits) for i in range(len(images))]

    def finish(self, network_pass: NetworkPass, index: int, size: tuple[int, int],
               return_logits: bool = False) -> SegmentationResult:
        """Image ``index`` of a pass at its original ``size``: labels and confidence from the
        resized logits, rankings from the network's grid, the features when the pass kept them."""
        logits = network_pass.logits[index:index + 1]
        result = self._labelled(logits, size, return_logits)
        result.rankings = self.rankings(network_pass, index, size)
        result.features = self.feature_map(network_pass, index, size)
        return result

    def rankings(self, network_pass: NetworkPass, index: int, size: tuple[int, int]) -> ClassRankings:
        """Class rankings on the network's 1/8 grid: its own logits there (whole images), or the
        windows' averaged logits pooled onto it (slide)."""
        if network_pass.coarse is not None:
            coarse = network_pass.coarse[index:index + 1]
            return rankings_from_logits(coarse, size, grid=network_grid(*coarse.shape[-2:], stride=1))
        logits = network_pass.logits[index:index + 1]
        return rankings_from_logits(logits, size, grid=network_grid(*logits.shape[-2:]))

    def feature_map(self, network_pass: NetworkPass, index: int, size: tuple[int, int]) -> FeatureMap | None:
        """Image ``index``'s features as kept (float16), or None when the pass kept none."""
        input_size = tuple(network_pass.logits.shape[-2:])
        if network_pass.features is not None:
            return whole_feature_map(network_pass.features[index:index + 1], size, input_size, self.align_corners)
        if network_pass.window_features is not None:
            return slide_feature_map([window[index] for window in network_pass.window_features],
                                     network_pass.windows, size, input_size, self.align_corners)
        return None

    def _labelled(self, logits: torch.Tensor, size: tuple[int, int], return_logits: bool) -> SegmentationResult:
        if return_logits:
            full = self.to_original(logits, size)[0]
            labels, confidence = _labels_and_confidence(full)
            return SegmentationResult(labels, confidence, full.cpu().numpy())
        # Class chunks keep memory bounded on huge images; resizing is per channel, so exact.
        num_classes = logits.shape[1]
        chunk = max(1, _CHUNK_ELEMENTS // (size[0] * size[1]))
        if chunk >= num_classes:  # one piece: labels from the logits, confidence from softmax's own
            full = self.to_original(logits, size)[0]  # kernel (twice as fast as exp and sum on a CPU)
            index = full.max(dim=0).indices
            return SegmentationResult(_to_labels(index), torch.softmax(full, dim=0).amax(dim=0).cpu().numpy())
        best = index = norm = None
        for start in range(0, num_classes, chunk):
            part = self.to_original(logits[:, start:start + chunk], size)[0]
            part_max, part_index = part.max(dim=0)
            part_norm = (part - part_max).exp_().sum(dim=0)  # one full-size temporary, not two
            if best is None:
                best, index, norm = part_max, part_index, part_norm
                continue
            new_best = torch.maximum(best, part_max)
            norm = norm * torch.exp(best - new_best) + part_norm * torch.exp(part_max - new_best)
            index = torch.where(part_max > best, part_index + start, index)
            best = new_best
        return SegmentationResult(_to_labels(index), (1.0 / norm).cpu().numpy().astype(np.float32))

    @torch.inference_mode()
    def predict_tta(self, image: np.ndarray, return_logits: bool = False,
                    keep_features: bool = False) -> SegmentationResult:
        """ms+flip: 6 scales x {plain, flipped}, softmax averaged at the original size; the
        features kept are the plain pass's at the test scale (what live adaptation reads)."""
        size = image.shape[:2]
        probabilities = torch.zeros((self.model.num_classes, *size), device=self.device)
        passes, features = 0, None
        with self.math_settings():
            for scale in tta_scales(self.entry.test_scale):
                for flip in (False, True):
                    keep = keep_features and not flip and tuple(scale) == tuple(self.entry.test_scale)
                    network_pass = self.run(self.prepare([image], scale, flip), keep)
                    if keep:
                        features = self.feature_map(network_pass, 0, size)
                    logits = self.to_original(network_pass.logits, size)
                    probs = torch.softmax(logits[0], dim=0)
                    probabilities += probs.flip(dims=(2,)) if flip else probs
                    passes += 1
        probabilities /= passes
        confidence, index = probabilities.max(dim=0)
        return SegmentationResult(
            _to_labels(index),
            confidence.cpu().numpy().astype(np.float32),
            probabilities.cpu().numpy() if return_logits else None,
            rankings=rankings_from_logits(probabilities, size, probabilities=True),
            features=features,
        )

    def predict(self, image: np.ndarray, tta: bool = False, return_logits: bool = False,
                keep_features: bool = False) -> SegmentationResult:
        if tta:
            return self.predict_tta(image, return_logits, keep_features)
        return self.predict_batch([image], return_logits, keep_features)[0]

    def release(self) -> None:
        """Hand back what this predictor keeps besides the network (nothing, on the exact path)."""


def _labels_and_confidence(logits: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    probabilities = torch.softmax(logits, dim=0)
    confidence, index = probabilities.max(dim=0)
    return _to_labels(index), confidence.cpu().numpy().astype(np.float32)


def _to_labels(index: torch.Tensor) -> np.ndarray:
    return index.to(torch.uint8).cpu().numpy()


def as_rgb_array(image: np.ndarray | str | Path, limit: int | None = -1) -> np.ndarray:
    """Accept an RGB uint8 array or a path (read with :func:`read_image_rgb`, refused above
    ``limit`` pixels: the default is :func:`~gcnet_core.files.images.max_pixels`, None: any)."""
    if isinstance(image, (str, Path)):
        return read_image_rgb(image, limit)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 array of shape (H, W, 3), got {image.dtype} {image.shape}")
    return image
