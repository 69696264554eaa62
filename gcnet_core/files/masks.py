"""Label masks: indexed-PNG read/write, colouring, overlays.

A label map is an (H, W) integer array of class indices, ``255`` (:data:`IGNORE_INDEX`)
meaning "ignore / unlabelled". The canonical file format is an 8-bit indexed ("P" mode) PNG
whose pixel values are the class indices and whose embedded palette is the class palette, so
the file is both machine-readable and viewable. Every write goes through
:func:`atomic_write_bytes`: a crash or a full disk never leaves a half-written mask behind.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..model.classes import CITYSCAPES_CLASSES, IGNORE_INDEX, ClassSet, cityscapes_trainid_to_labelid_lut
from .atomic import atomic_write_bytes
from .images import ImageReadError, pillow_errors

__all__ = [
    "MASK_FORMATS",
    "MaskReadError",
    "colorize",
    "overlay",
    "read_index_mask",
    "write_index_mask",
    "write_mask",
]

#: Output formats of :func:`write_mask`.
MASK_FORMATS = ("index", "color", "overlay", "cityscapes-labelids")


class MaskReadError(ImageReadError):
    """A file could be read but is not an index mask (e.g. a colour image)."""


# --------------------------------------------------------------------------- label arrays


def _as_labels(labels: np.ndarray) -> np.ndarray:
    """Validate an (H, W) integer label map and return it as uint8."""
    arr = np.asarray(labels)
    if arr.ndim != 2:
        raise ValueError(f"a label map must be 2-D (H, W), got shape {arr.shape}")
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"a label map must have an integer dtype, got {arr.dtype}")
    if arr.dtype == np.uint8:
        return arr
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"label values must fit in 8 bits (0..255, {IGNORE_INDEX} = ignore), got range {lo}..{hi}"
            )
    return arr.astype(np.uint8)


def colorize(labels: np.ndarray, classes: ClassSet) -> np.ndarray:
    """(H, W, 3) uint8 RGB image of a label map in the class colours (ignore = white)."""
    return np.take(classes.palette_array(), _as_labels(labels), axis=0)


def overlay(image_rgb: np.ndarray, labels: np.ndarray, classes: ClassSet, alpha: float = 0.5) -> np.ndarray:
    """Blend the class colours over an RGB image: ``(1 - alpha) * image + alpha * colour``.

    Pixels labelled ``255`` (ignore) show the image unchanged. Returns (H, W, 3) uint8 RGB.
    """
    img = np.asarray(image_rgb)
    lab = _as_labels(labels)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"image_rgb must be an (H, W, 3) uint8 array, got {img.shape} {img.dtype}")
    if img.shape[:2] != lab.shape:
        raise ValueError(f"image is {img.shape[1]}x{img.shape[0]} but the label map is {lab.shape[1]}x{lab.shape[0]}")
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be within [0, 1], got {alpha}")
    color = np.take(classes.palette_array(), lab, axis=0).astype(np.float32)
    blended = img.astype(np.float32) * (1.0 - alpha) + color * alpha
    out = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    ignore = lab == IGNORE_INDEX
    out[ignore] = img[ignore]
    return out


# --------------------------------------------------------------------------- files


def _encode_index_png(labels: np.ndarray, classes: ClassSet) -> bytes:
    im = Image.fromarray(_as_labels(labels))  # mode "L"
    im.putpalette(classes.palette_array().tobytes(), rawmode="RGB")  # turns it into mode "P"
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _encode_png_cv2(img: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".png", img)
    if not ok:
        raise RuntimeError("OpenCV failed to encode a PNG")
    return encoded.tobytes()


def write_index_mask(path: str | os.PathLike[str], labels: np.ndarray, classes: ClassSet) -> None:
    """Write an 8-bit indexed PNG: pixel value = class index (255 = ignore), class palette embedded.

    Raises ValueError if the labels are not a 2-D integer array with values in 0..255.
    """
    atomic_write_bytes(path, _encode_index_png(labels, classes))


def read_index_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an index mask as an (H, W) uint8 array of class indices (255 = ignore).

    Palette PNGs give their palette indices (no conversion to colour); 8-bit grayscale files
    give their values (16-bit grayscale is accepted when all values are below 256). Raises
    :class:`MaskReadError` for colour images and other non-index files, and
    :class:`~gcnet_core.files.images.ImageReadError` (its base class) when the file is missing or
    cannot be decoded; both messages name the file.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except OSError as exc:
        raise ImageReadError(path, f"the file could not be read ({exc.strerror or exc})") from exc
    if not data:
        raise ImageReadError(path, "the file is empty (0 bytes)")
    with pillow_errors(path), Image.open(io.BytesIO(data)) as im:
        im.load()
        mode = im.mode
        arr = np.asarray(im)

    if mode in ("P", "L"):
        return np.ascontiguousarray(arr, dtype=np.uint8)
    if mode in ("PA", "LA"):  # index + alpha: the alpha channel carries no labels
        return np.ascontiguousarray(arr[..., 0], dtype=np.uint8)
    if mode == "1":
        return arr.astype(np.uint8)
    if mode == "I" or mode.startswith("I;16"):
        if arr.ndim == 2 and (arr.size == 0 or (int(arr.min()) >= 0 and int(arr.max()) <= 255)):
            return arr.astype(np.uint8)
        raise MaskReadError(path, f"it is a {mode} image with values above 255, not an 8-bit index mask")
    if mode in ("RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        raise MaskReadError(
            path,
            f"it is a colour ({mode}) image, not an index mask "
            "(expected an 8-bit palette or grayscale PNG whose pixel values are class indices)",
        )
    raise MaskReadError(path, f"unsupported image mode {mode!r} for an index mask")


def write_mask(
    path: str | os.PathLike[str],
    labels: np.ndarray,
    classes: ClassSet,
    fmt: str,
    image_rgb: np.ndarray | None = None,
) -> None:
    """Write a label map as a PNG in one of :data:`MASK_FORMATS`, atomically.

    * ``"index"``: indexed PNG of class indices with the class palette (:func:`write_index_mask`).
    * ``"color"``: RGB PNG of :func:`colorize`.
    * ``"overlay"``: RGB PNG of :func:`overlay` over ``image_rgb`` (required).
    * ``"cityscapes-labelids"``: 8-bit grayscale PNG of official Cityscapes labelIds (trainId
      mapped through the Cityscapes table, ignore -> 0); needs the Cityscapes classes.
    """
    if fmt == "index":
        data = _encode_index_png(labels, classes)
    elif fmt == "color":
        data = _encode_png_cv2(cv2.cvtColor(colorize(labels, classes), cv2.COLOR_RGB2BGR))
    elif fmt == "overlay":
        if image_rgb is None:
            raise ValueError("the 'overlay' mask format needs the image (image_rgb)")
        data = _encode_png_cv2(cv2.cvtColor(overlay(image_rgb, labels, classes), cv2.COLOR_RGB2BGR))
    elif fmt == "cityscapes-labelids":
        if tuple(classes.names) != CITYSCAPES_CLASSES:
            raise ValueError("the 'cityscapes-labelids' format needs a model with the 19 Cityscapes classes")
        label_ids = cityscapes_trainid_to_labelid_lut()[_as_labels(labels)]
        data = _encode_png_cv2(np.ascontiguousarray(label_ids))
    else:
        raise ValueError(f"unknown mask format {fmt!r}; expected one of {', '.join(MASK_FORMATS)}")
    atomic_write_bytes(path, data)
