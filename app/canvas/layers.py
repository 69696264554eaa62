"""Numpy arrays seen as QImages, and the colour tables that turn label indices into colours.

The overlay is an indexed (``Format_Indexed8``) image: its pixel values are the class
indices and its colour table carries palette, opacity and hidden classes. Changing the
opacity or hiding a class rewrites 256 table entries, never the pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtGui import QImage

from gcnet_core.model.classes import IGNORE_INDEX, ClassSet

__all__ = [
    "confidence_color_table",
    "label_color_table",
    "outline_into",
    "uncertainty_indices",
    "wrap_indexed",
    "wrap_rgb",
]

_HEAT_RGB = (255, 40, 200)  # magenta: distinct from most palette colours and from photos


_UNKNOWN_RGB = (255, 0, 128)  # values outside the class table: kept from the file, and shown


def _argb(r: int, g: int, b: int, a: int) -> int:
    """One colour-table entry; channels are clamped, so a bad colour can never overflow Qt's uint."""
    r, g, b, a = (min(max(int(c), 0), 255) for c in (r, g, b, a))
    return (a << 24) | (r << 16) | (g << 8) | b


def label_color_table(classes: ClassSet, opacity: float, hidden: frozenset[int] | set[int] = frozenset()) -> list[int]:
    """256 ARGB entries: class colours at ``opacity`` alpha; values past the classes (unknown,
    kept from a file) in one loud colour; ignore and hidden ones clear."""
    alpha = int(round(min(max(opacity, 0.0), 1.0) * 255))
    table = [_argb(*_UNKNOWN_RGB, alpha)] * 256
    table[IGNORE_INDEX] = 0
    for idx in range(IGNORE_INDEX):
        if idx < len(classes.palette) and idx not in hidden:
            table[idx] = _argb(*classes.palette[idx], alpha)
        elif idx < len(classes.palette):
            table[idx] = 0
    return table


def confidence_color_table(max_alpha: float = 0.8) -> list[int]:
    """Index i = uncertainty i/255; alpha grows with it, so confident pixels stay clear."""
    r, g, b = _HEAT_RGB
    return [_argb(r, g, b, int(round(i * max_alpha))) for i in range(256)]


def uncertainty_indices(confidence: np.ndarray) -> np.ndarray:
    """(H, W) uint8 of ``round((1 - confidence) * 255)``, the index into the heat table."""
    out = np.empty(confidence.shape, dtype=np.float32)
    np.subtract(np.float32(1.0), confidence, out=out)
    np.multiply(out, np.float32(255.0), out=out)
    np.clip(out, 0.0, 255.0, out=out)
    return np.rint(out, out=out).astype(np.uint8)


def wrap_indexed(buffer: np.ndarray, table: list[int]) -> QImage:
    """An indexed QImage reading ``buffer`` (H, W) uint8 in place; keep ``buffer`` alive.

    A fresh wrapper per colour table means the QImage is never shared when it is modified,
    so Qt never detaches it into a private copy that would stop following ``buffer``.
    """
    if buffer.dtype != np.uint8 or buffer.ndim != 2 or buffer.strides[1] != 1:
        raise ValueError("an indexed image needs an (H, W) uint8 array with contiguous rows")
    h, w = buffer.shape
    image = QImage(buffer.data, w, h, buffer.strides[0], QImage.Format.Format_Indexed8)
    image.setColorTable(table)
    return image


def wrap_rgb(pixels: np.ndarray) -> QImage:
    """A QImage over an (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) grey uint8 array, no copy."""
    if pixels.dtype != np.uint8:
        raise ValueError(f"the image must be uint8, got {pixels.dtype}")
    if pixels.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        fmt = QImage.Format.Format_RGB888
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        fmt = QImage.Format.Format_RGBA8888
    else:
        raise ValueError(f"the image must be (H, W), (H, W, 3) or (H, W, 4), got {pixels.shape}")
    if not pixels.flags.c_contiguous:
        raise ValueError("the image array must be C-contiguous")
    h, w = pixels.shape[:2]
    return QImage(pixels.data, w, h, pixels.strides[0], fmt)


_KERNEL = np.ones((3, 3), dtype=np.uint8)


def outline_into(labels: np.ndarray, out: np.ndarray, rect: tuple[int, int, int, int] | None = None) -> None:
    """Write into ``out`` the labels on class boundaries and ignore elsewhere.

    A pixel is on a boundary when its 3x3 neighbourhood holds another label (morphological
    gradient != 0). With ``rect`` (x, y, w, h) only that area, grown by one pixel, is redone;
    the gradient is computed on one more pixel of margin so the result equals a full redo.
    """
    h, w = labels.shape
    if rect is None:
        x0, y0, x1, y1 = 0, 0, w, h
    else:
        x, y, rw, rh = rect
        x0, y0, x1, y1 = max(0, x - 1), max(0, y - 1), min(w, x + rw + 1), min(h, y + rh + 1)
    if x1 <= x0 or y1 <= y0:
        return
    sx0, sy0, sx1, sy1 = max(0, x0 - 1), max(0, y0 - 1), min(w, x1 + 1), min(h, y1 + 1)
    src = labels[sy0:sy1, sx0:sx1]
    grad = cv2.morphologyEx(src, cv2.MORPH_GRADIENT, _KERNEL)
    inner = (slice(y0 - sy0, y1 - sy0), slice(x0 - sx0, x1 - sx0))
    target = out[y0:y1, x0:x1]
    target[...] = IGNORE_INDEX
    np.copyto(target, src[inner], where=grad[inner] != 0)
