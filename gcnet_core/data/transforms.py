"""Training augmentations on RGB uint8 images and uint8 label maps (docs/training.md).

Order (mmsegmentation's train pipeline): :func:`random_resize` -> :func:`random_crop`
-> :func:`random_flip` -> :func:`photometric_distortion` -> (normalise) -> pad to the crop
size. :class:`TrainTransform` chains them.

Every random choice comes from a ``numpy.random.Generator`` passed in, so a run is
reproducible from a seed and DataLoader workers can each get their own stream. The draws
are made in the same order and with the same formulas as mmsegmentation's (which uses
NumPy's global legacy generator), so a generator replaying the same numbers gives the
same pixels.

Padding: mmsegmentation pads the image *after* normalisation with 0 (so the pad is the
mean colour, not black) and the label with 255. A uint8 image cannot hold that value, so
:func:`pad_to` pads the uint8 image with 0 and :class:`TrainTransform` reports the
unpadded size in :attr:`TrainSample.valid_hw`; the trainer normalises and then calls
:func:`clear_padding` to set the padded area to 0, which is exactly mmseg's result. (1.x
VOC-aug configs pad the raw uint8 image with black instead; ``image_pad="raw"`` does that.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..model.classes import IGNORE_INDEX
from ..predict.network_input import rescale_size, resize_keep_ratio

ImageLabel = tuple[np.ndarray, np.ndarray]
IMAGE_PADS = ("normalized", "raw")


# ---------------------------------------------------------------------------- resize
def resize_pair(img: np.ndarray, lbl: np.ndarray, scale: tuple[int, int]) -> ImageLabel:
    """Keep-ratio fit into ``scale`` (mmcv rule): bilinear on the uint8 image, nearest on the label.

    Nearest keeps the label free of invented (blended) class ids.
    """
    height, width = img.shape[:2]
    new_w, new_h = rescale_size(width, height, scale)
    img = resize_keep_ratio(img, scale)
    if (new_w, new_h) != lbl.shape[::-1]:
        lbl = cv2.resize(lbl, (new_w, new_h), interpolation=cv2.INTER_NEAREST)
    return img, lbl


def random_resize(img: np.ndarray, lbl: np.ndarray, base_scale: tuple[int, int],
                  ratio_range: tuple[float, float] = (0.5, 2.0), *, rng: np.random.Generator) -> ImageLabel:
    """Scale the target ``base_scale`` by r ~ U[lo, hi), truncate to int, then keep-ratio resize."""
    low, high = ratio_range
    ratio = rng.random() * (high - low) + low  # mmcv's formula (not uniform(): same draw, same float)
    scale = (int(base_scale[0] * ratio), int(base_scale[1] * ratio))
    return resize_pair(img, lbl, scale)


# ------------------------------------------------------------------------------ crop
def random_crop_box(shape_hw: tuple[int, int], crop_hw: tuple[int, int],
                    rng: np.random.Generator) -> tuple[int, int, int, int]:
    """(y1, y2, x1, x2) of a random crop; may reach past a smaller image (slicing clips it)."""
    margin_h = max(shape_hw[0] - crop_hw[0], 0)
    margin_w = max(shape_hw[1] - crop_hw[1], 0)
    y1 = int(rng.integers(0, margin_h + 1))
    x1 = int(rng.integers(0, margin_w + 1))
    return y1, y1 + crop_hw[0], x1, x1 + crop_hw[1]


def _class_counts(lbl: np.ndarray, ignore_index: int) -> np.ndarray:
    """Pixel counts of the non-ignored classes present in ``lbl``."""
    if lbl.dtype == np.uint8:
        counts = np.bincount(lbl.ravel(), minlength=256)
        if 0 <= ignore_index < 256:
            counts[ignore_index] = 0
        return counts[counts > 0]
    values, counts = np.unique(lbl, return_counts=True)
    return counts[values != ignore_index]


def crop_is_diverse(lbl: np.ndarray, cat_max_ratio: float, ignore_index: int = IGNORE_INDEX) -> bool:
    """mmseg's acceptance test: more than one class, none above ``cat_max_ratio`` of the valid pixels."""
    counts = _class_counts(lbl, ignore_index)
    return len(counts) > 1 and counts.max() / counts.sum() < cat_max_ratio


def random_crop(img: np.ndarray, lbl: np.ndarray, crop_hw: tuple[int, int], cat_max_ratio: float = 0.75,
                ignore_index: int = IGNORE_INDEX, *, rng: np.random.Generator) -> ImageLabel:
    """Crop ``crop_hw`` (h, w); with cat_max_ratio < 1 retry up to 10 times for a mixed crop.

    If no tried crop passes, the last one sampled is used. A side smaller than the crop is
    kept whole (not enlarged): padding comes later.
    """
    box = random_crop_box(lbl.shape[:2], crop_hw, rng)
    if cat_max_ratio < 1.0:
        for _ in range(10):
            y1, y2, x1, x2 = box
            if crop_is_diverse(lbl[y1:y2, x1:x2], cat_max_ratio, ignore_index):
                break
            box = random_crop_box(lbl.shape[:2], crop_hw, rng)
    y1, y2, x1, x2 = box
    return img[y1:y2, x1:x2], lbl[y1:y2, x1:x2]


# ------------------------------------------------------------------------------ flip
def random_flip(img: np.ndarray, lbl: np.ndarray, prob: float = 0.5, *, rng: np.random.Generator) -> ImageLabel:
    """Horizontal flip of image and label together with probability ``prob``."""
    if rng.random() < prob:
        return img[:, ::-1], lbl[:, ::-1]
    return img, lbl


# ------------------------------------------------------------------------ photometric
def _scale_shift(values: np.ndarray, alpha: float = 1.0, beta: float = 0.0) -> np.ndarray:
    """``values * alpha + beta`` in float32, clipped to [0, 255] and truncated to uint8.

    alpha and beta are rounded to float32 first, as NumPy 1.x did in mmseg (NumPy 2 would
    otherwise compute in float64 and occasionally truncate to a different integer).
    """
    out = values.astype(np.float32) * np.float32(alpha) + np.float32(beta)
    return np.clip(out, 0, 255).astype(np.uint8)


def _brightness(img: np.ndarray, rng: np.random.Generator, delta: float) -> np.ndarray:
    if rng.integers(2):
        return _scale_shift(img, beta=rng.uniform(-delta, delta))
    return img


def _contrast(img: np.ndarray, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    if rng.integers(2):
        return _scale_shift(img, alpha=rng.uniform(low, high))
    return img


def _saturation(img: np.ndarray, rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    """Scale the S channel of OpenCV's HSV.

    RGB2HSV on RGB gives the same HSV as BGR2HSV on the BGR image (and HSV2RGB the same
    pixels in RGB order), so this equals mmseg's BGR operation exactly.
    """
    if rng.integers(2):
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        hsv[:, :, 1] = _scale_shift(hsv[:, :, 1], alpha=rng.uniform(low, high))
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return img


def _hue(img: np.ndarray, rng: np.random.Generator, delta: int) -> np.ndarray:
    """Shift OpenCV's hue (0..179) by an integer in [-delta, delta) (NumPy's randint), mod 180."""
    if rng.integers(2):
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        hsv[:, :, 0] = (hsv[:, :, 0].astype(np.int64) + int(rng.integers(-delta, delta))) % 180
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return img


def photometric_distortion(img: np.ndarray, *, rng: np.random.Generator, brightness_delta: float = 32,
                           contrast_range: tuple[float, float] = (0.5, 1.5),
                           saturation_range: tuple[float, float] = (0.5, 1.5), hue_delta: int = 18) -> np.ndarray:
    """mmseg's PhotoMetricDistortion on an RGB uint8 image, each step with p = 0.5.

    As docs/training.md, "Augmentations" gives it. Brightness, then contrast either first
    (mode 1) or last (mode 0, as mmseg's code does, whatever its docstring says), with
    saturation and hue in between.
    """
    img = _brightness(np.ascontiguousarray(img), rng, brightness_delta)
    contrast_first = bool(rng.integers(2))
    if contrast_first:
        img = _contrast(img, rng, *contrast_range)
    img = _saturation(img, rng, *saturation_range)
    img = _hue(img, rng, hue_delta)
    if not contrast_first:
        img = _contrast(img, rng, *contrast_range)
    return img


# ------------------------------------------------------------------------------- pad
def pad_to(img: np.ndarray, lbl: np.ndarray, crop_hw: tuple[int, int], pad_val: int = 0,
           seg_pad_val: int = IGNORE_INDEX) -> ImageLabel:
    """Pad bottom/right up to ``crop_hw``: image with ``pad_val``, label with ``seg_pad_val`` (ignored).

    The image pad is raw uint8 0 (black); to get mmseg's normalised-0 pad, keep the
    unpadded size and call :func:`clear_padding` after normalising.
    """
    pad_h = max(crop_hw[0] - img.shape[0], 0)
    pad_w = max(crop_hw[1] - img.shape[1], 0)
    if pad_h == 0 and pad_w == 0:
        return img, lbl
    img = np.pad(img, ((0, pad_h), (0, pad_w), (0, 0)), constant_values=pad_val)
    lbl = np.pad(lbl, ((0, pad_h), (0, pad_w)), constant_values=seg_pad_val)
    return img, lbl


def clear_padding(x: Any, valid_hw: tuple[int, int]) -> Any:
    """Zero everything below/right of ``valid_hw`` in place (last two dims are H, W).

    Works on numpy arrays and torch tensors (e.g. a normalised CHW image).
    """
    height, width = int(valid_hw[0]), int(valid_hw[1])
    x[..., height:, :] = 0
    x[..., :, width:] = 0
    return x


# ------------------------------------------------------------------------- pipeline
@dataclass
class TrainSample:
    """An augmented crop; ``valid_hw`` is the part that is image, not padding."""

    image: np.ndarray  # (crop_h, crop_w, 3) uint8 RGB
    label: np.ndarray  # (crop_h, crop_w) uint8, 255 = ignore
    valid_hw: tuple[int, int]


def sample_rng(seed: int, *keys: int) -> np.random.Generator:
    """An independent generator per (seed, epoch, index...), reproducible whatever the worker count."""
    return np.random.default_rng([int(seed), *(int(k) for k in keys)])


class TrainTransform:
    """mmseg's training pipeline: resize -> crop -> flip -> photometric -> pad to crop size.

    As docs/training.md, "Training pipeline" gives it.

    ``seed`` makes the internal generator reproducible; a call may also pass its own
    ``rng`` (see :func:`sample_rng`). ``image_pad``: ``"normalized"`` (0.x everywhere, 1.x
    except VOC: the trainer clears ``valid_hw``'s outside after normalising) or ``"raw"``
    (1.x VOC-aug: black uint8 pad, ``valid_hw`` is the whole crop).
    """

    def __init__(self, base_scale: tuple[int, int], crop_hw: tuple[int, int], seed: int | None = None,
                 ratio_range: tuple[float, float] = (0.5, 2.0), cat_max_ratio: float = 0.75,
                 flip_prob: float = 0.5, ignore_index: int = IGNORE_INDEX, image_pad: str = "normalized") -> None:
        if image_pad not in IMAGE_PADS:
            raise ValueError(f"image_pad must be one of {IMAGE_PADS}, not {image_pad!r}")
        self.base_scale = tuple(base_scale)
        self.crop_hw = tuple(crop_hw)
        self.ratio_range = tuple(ratio_range)
        self.cat_max_ratio = cat_max_ratio
        self.flip_prob = flip_prob
        self.ignore_index = ignore_index
        self.image_pad = image_pad
        self.rng = np.random.default_rng(seed)

    def sample(self, img: np.ndarray, lbl: np.ndarray, rng: np.random.Generator | None = None) -> TrainSample:
        """Augment one pair; the result is exactly ``crop_hw``, with its unpadded size."""
        if img.shape[:2] != lbl.shape[:2]:
            raise ValueError(f"image {img.shape[:2]} and label {lbl.shape[:2]} differ in size")
        rng = self.rng if rng is None else rng
        img, lbl = random_resize(img, lbl, self.base_scale, self.ratio_range, rng=rng)
        img, lbl = random_crop(img, lbl, self.crop_hw, self.cat_max_ratio, self.ignore_index, rng=rng)
        img, lbl = random_flip(img, lbl, self.flip_prob, rng=rng)
        img = photometric_distortion(img, rng=rng)
        valid_hw = img.shape[:2] if self.image_pad == "normalized" else self.crop_hw
        img, lbl = pad_to(img, lbl, self.crop_hw, seg_pad_val=self.ignore_index)
        return TrainSample(np.ascontiguousarray(img), np.ascontiguousarray(lbl), tuple(valid_hw))

    def __call__(self, img: np.ndarray, lbl: np.ndarray, rng: np.random.Generator | None = None) -> ImageLabel:
        """(image, label) of exactly ``crop_hw``; use :meth:`sample` to also get ``valid_hw``."""
        out = self.sample(img, lbl, rng)
        return out.image, out.label


__all__ = [
    "IMAGE_PADS",
    "TrainSample",
    "TrainTransform",
    "clear_padding",
    "crop_is_diverse",
    "pad_to",
    "photometric_distortion",
    "random_crop",
    "random_crop_box",
    "random_flip",
    "random_resize",
    "resize_pair",
    "sample_rng",
]
