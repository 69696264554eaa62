"""The pixels every path feeds the network, and where its sliding windows go.

mmcv's keep-ratio resize (OpenCV on the uint8 image), the RGB normalisation and
mmsegmentation's window layout (docs/inference.md): shared by the predictors
(:mod:`.predictor`, :mod:`.fast`, :mod:`.onnx_engine`), the feature extractor
(:mod:`.features`) and training's transforms, so all of them see the same bits.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

MEAN_RGB = (123.675, 116.28, 103.53)
STD_RGB = (58.395, 57.12, 57.375)


def rescale_size(width: int, height: int, scale: tuple[int, int]) -> tuple[int, int]:
    """mmcv's keep-ratio rule: fit (long, short) = (max(scale), min(scale)); round half up."""
    factor = min(max(scale) / max(height, width), min(scale) / min(height, width))
    # A side that would round to 0 (a 1x5000 strip) keeps one pixel: cv2 cannot resize to 0.
    return max(1, int(width * factor + 0.5)), max(1, int(height * factor + 0.5))


def resize_keep_ratio(image: np.ndarray, scale: tuple[int, int]) -> np.ndarray:
    """Resize a uint8 image as mmcv's ``imrescale`` does (cv2 bilinear on the uint8 data)."""
    height, width = image.shape[:2]
    new_w, new_h = rescale_size(width, height, scale)
    if (new_w, new_h) == (width, height):
        return image
    return cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)


def slide_windows(height: int, width: int, crop: tuple[int, int],
                  stride: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """(y1, y2, x1, x2) of mmsegmentation's sliding windows; the last row/column is shifted
    back to end at the border, and windows never exceed the image."""
    (crop_h, crop_w), (stride_h, stride_w) = crop, stride
    rows = max(height - crop_h + stride_h - 1, 0) // stride_h + 1
    cols = max(width - crop_w + stride_w - 1, 0) // stride_w + 1
    windows = []
    for row in range(rows):
        for col in range(cols):
            y2, x2 = min(row * stride_h + crop_h, height), min(col * stride_w + crop_w, width)
            windows.append((max(y2 - crop_h, 0), y2, max(x2 - crop_w, 0), x2))
    return windows


def normalize(images: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """Stack same-sized RGB uint8 images into a normalised NCHW float32 batch on ``device``."""
    return normalize_uploaded(torch.from_numpy(np.stack(images)).to(device, non_blocking=True))


def normalize_uploaded(batch: torch.Tensor) -> torch.Tensor:
    """An NHWC uint8 batch already on its device to the normalised NCHW float32 network
    input: the one normalisation every path uses, so all feed the network the same bits."""
    batch = batch.permute(0, 3, 1, 2).float().contiguous()  # NCHW layout: bit-exact with mmseg on CPU
    mean = torch.tensor(MEAN_RGB, device=batch.device).view(1, 3, 1, 1)
    std = torch.tensor(STD_RGB, device=batch.device).view(1, 3, 1, 1)
    return (batch - mean) / std


def resize_for_network(images: list[np.ndarray], scale: tuple[int, int], flip: bool = False) -> list[np.ndarray]:
    """Keep-ratio resize with OpenCV on the host (as mmcv), then the optional horizontal flip
    (after the resize, as mmseg's test-time augmentation): the pixels every path feeds the
    network. A device-side bilinear resize moves pixels by a grey level, which flips up to
    40 % of the labels of a small-margin checkpoint; OpenCV's costs ~0.3 % of a CPU pass."""
    resized = [resize_keep_ratio(img, scale) for img in images]
    if flip:
        resized = [np.ascontiguousarray(img[:, ::-1]) for img in resized]
    return resized


def fallback_slide_geometry(entry) -> tuple[tuple[int, int], tuple[int, int]]:
    """(crop, stride) for sliding windows: the entry's own, or for whole-image entries
    their training crop with mmsegmentation's usual two-thirds stride."""
    crop = tuple(entry.crop_size)
    stride = entry.slide_stride or tuple(max(1, (2 * c) // 3) for c in crop)
    return crop, stride
