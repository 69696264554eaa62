"""Reading input images exactly the way mmsegmentation feeds them to its models.

mmsegmentation loads images with ``cv2.imread(path, cv2.IMREAD_COLOR)`` (BGR, 8-bit, alpha
dropped, 16-bit scaled down by ``>> 8``, EXIF orientation applied) and its models expect
those pixels. :func:`read_image_rgb` decodes with ``cv2.imdecode(..., IMREAD_COLOR)`` on the
file's bytes, so for every format OpenCV decodes the result is bit-identical to
``cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)`` while also working for
paths with non-ASCII characters (``cv2.imread`` cannot open those on Windows). Formats OpenCV
cannot decode fall back to Pillow, converted the same way.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["DEFAULT_MAX_MEGAPIXELS", "IMAGE_EXTENSIONS", "ImageReadError", "find_images", "max_pixels",
           "read_image_rgb"]

#: File extensions (lower case, with the dot) that :func:`find_images` picks up in folders.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})

#: Largest image read by default, in millions of pixels. Segmenting keeps a few bytes per
#: pixel per class chunk at the original size (about 3-4 GB at 100 MP); larger files are
#: refused by their header, before any decoding. ``gcnet predict --max-megapixels`` (or, for
#: every reader, the ``GCNET_MAX_MEGAPIXELS`` environment variable) changes it; 0 means no limit.
DEFAULT_MAX_MEGAPIXELS = 100.0
MAX_MEGAPIXELS_ENV = "GCNET_MAX_MEGAPIXELS"

_EXIF_ORIENTATION = 0x0112


class ImageReadError(Exception):
    """An image file could not be read; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read image {os.fspath(path)!r}: {reason}")


def max_pixels(megapixels: float | None = None) -> int | None:
    """The pixel limit for ``megapixels`` (e.g. ``gcnet predict --max-megapixels``); without it
    ``$GCNET_MAX_MEGAPIXELS``, read now, or :data:`DEFAULT_MAX_MEGAPIXELS`. None: no limit (0)."""
    if megapixels is None:
        text = os.environ.get(MAX_MEGAPIXELS_ENV, "").strip()
        try:
            megapixels = float(text) if text else DEFAULT_MAX_MEGAPIXELS
        except ValueError:
            megapixels = DEFAULT_MAX_MEGAPIXELS
    return None if megapixels <= 0 else int(megapixels * 1_000_000)


def read_image_rgb(path: str | os.PathLike[str], limit: int | None = -1) -> np.ndarray:
    """Read an image file as an (H, W, 3) uint8 RGB array, the way mmsegmentation does.

    Grayscale is replicated to three channels, alpha is dropped (not composited), 16-bit
    samples become ``value >> 8``, palette images are expanded and EXIF orientation is
    applied. Raises :class:`ImageReadError` naming the file when it is missing, empty, not an
    image, truncated/corrupt (a PNG chunk whose CRC does not match is never decoded), of an
    unsupported kind, or larger than ``limit`` pixels (default :func:`max_pixels`; None: any).
    """
    data = _read_bytes(path)
    if not data:
        raise ImageReadError(path, "the file is empty (0 bytes)")
    if _jpeg_is_truncated(data):
        raise ImageReadError(path, "the JPEG data is truncated (no end-of-image marker)")
    _check_size(path, data, max_pixels() if limit == -1 else limit)

    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error:
        bgr = None
    if bgr is not None and bgr.ndim == 3 and bgr.shape[2] == 3 and bgr.dtype == np.uint8 and bgr.size:
        if not _cv2_applies_exif_orientation():
            bgr = _apply_exif_orientation(bgr, _exif_orientation(data))
        return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    if data.startswith(_PNG_SIGNATURE):  # libpng refused it: say why rather than decode it loosely
        damage = _png_damage(data)
        if damage:
            raise ImageReadError(path, f"the PNG data is corrupt ({damage})")
    return _read_with_pillow(path, data)


def find_images(inputs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and folders into a sorted, de-duplicated list of image files.

    Paths that are not folders are kept as given, whatever their extension (and even if they
    do not exist), so that a bad file is reported when it is read rather than silently
    skipped. Folders are walked recursively for files whose extension is in
    :data:`IMAGE_EXTENSIONS` (case-insensitive); hidden folders and hidden files (names that
    start with ``.``) inside them are skipped, and symbolic links to folders are not followed.
    """
    found: dict[str, Path] = {}

    def add(p: Path) -> None:
        found.setdefault(os.path.normcase(os.path.abspath(p)), p)

    for item in inputs:
        root = Path(item)
        if not root.is_dir():
            add(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue
                if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                    p = Path(dirpath, name)
                    if p.is_file():
                        add(p)
    return sorted(found.values(), key=lambda p: p.parts)


# --------------------------------------------------------------------------- internals

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_size(path: str | os.PathLike[str], data: bytes, limit: int | None) -> None:
    """Refuse an image whose header announces more than ``limit`` pixels, before decoding it."""
    size = _header_size(path, data)
    if limit is None or size is None:
        return
    width, height = size
    if width * height > limit:
        raise ImageReadError(
            path, f"the image is too large: {width}x{height} ({width * height / 1e6:.4g} megapixels) is over "
                  f"the limit of {limit / 1e6:g} megapixels (gcnet predict --max-megapixels, or the "
                  f"{MAX_MEGAPIXELS_ENV} environment variable, sets it)")


def _header_size(path: str | os.PathLike[str], data: bytes) -> tuple[int, int] | None:
    """(width, height) from the file's header alone; None when it cannot be told cheaply."""
    if data.startswith(_PNG_SIGNATURE) and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    try:
        with Image.open(io.BytesIO(data)) as im:  # lazy: reads the header only
            return im.size
    except Image.DecompressionBombError as exc:
        raise ImageReadError(path, f"the image is too large ({exc})") from None
    except Exception:  # noqa: BLE001 - not readable here; the decoders will say why
        return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a JPEG's first start-of-frame marker."""
    i, n = 2, len(data)
    while i + 9 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            i += 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def _png_damage(data: bytes) -> str | None:
    """The first PNG chunk whose CRC does not match (or that is cut short), described; None if intact."""
    i, n = len(_PNG_SIGNATURE), len(data)
    while i + 8 <= n:
        length = int.from_bytes(data[i:i + 4], "big")
        kind = data[i + 4:i + 8]
        name = kind.decode("latin-1")
        end = i + 8 + length
        if end + 4 > n:
            return f"chunk {name} at byte {i} is cut short: the file is truncated"
        stored = int.from_bytes(data[end:end + 4], "big")
        if zlib.crc32(data[i + 4:end]) != stored:
            return f"CRC error in chunk {name} at byte {i}: its data was changed or damaged"
        if kind == b"IEND":
            return None
        i = end + 4
    return "no IEND chunk: the file is truncated"


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except IsADirectoryError:
        raise ImageReadError(path, "it is a folder, not a file") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as exc:
        raise ImageReadError(path, f"the file could not be read ({exc.strerror or exc})") from exc


def _jpeg_is_truncated(data: bytes) -> bool:
    """True for JPEG data whose main image has no end-of-image marker after its first scan.

    Older OpenCV builds decode such files with only a warning and grey-fill the missing part;
    annotating that would be pointless, so it is reported as truncated. Only the marker
    structure is walked; anything malformed is left to the decoders to judge.
    """
    if not data.startswith(b"\xff\xd8"):
        return False
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return False
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # stand-alone markers
            i += 2
            continue
        if marker == 0xD9:  # EOI before any scan: malformed, let the decoder say so
            return False
        seg_len = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker == 0xDA:  # start of the main image's first scan
            return data.find(b"\xff\xd9", i + 2 + seg_len) == -1
        i += 2 + seg_len
    return True  # the data ends before the image data starts


@functools.cache
def _cv2_applies_exif_orientation() -> bool:
    """Whether this OpenCV build's imdecode honours EXIF orientation (imread always has)."""
    exif = Image.Exif()
    exif[_EXIF_ORIENTATION] = 6  # rotate 90 degrees clockwise: a 1-high, 2-wide image turns 2x1
    out = io.BytesIO()
    Image.new("RGB", (2, 1)).save(out, format="JPEG", exif=exif)
    decoded = cv2.imdecode(np.frombuffer(out.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    return decoded is not None and decoded.shape[:2] == (2, 1)


def _exif_orientation(data: bytes) -> int:
    try:
        with Image.open(io.BytesIO(data)) as im:
            return int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # noqa: BLE001 - no readable EXIF means no rotation
        return 1


def _apply_exif_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to an (H, W, C) array, as OpenCV and Pillow do."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 1)[::-1],
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return img if op is None else np.ascontiguousarray(op(img))


@contextlib.contextmanager
def pillow_errors(path: str | os.PathLike[str]):
    """Turn Pillow's many decoding exceptions into one ImageReadError naming the file."""
    try:
        yield
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file, or an image format that cannot be decoded") from None
    except Image.DecompressionBombError as exc:
        raise ImageReadError(path, f"the image is too large ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageReadError(path, f"the image data is truncated or corrupt ({exc})") from None


def _read_with_pillow(path: str | os.PathLike[str], data: bytes) -> np.ndarray:
    with pillow_errors(path), Image.open(io.BytesIO(data)) as im:
        im.load()
        return _pillow_to_rgb(path, ImageOps.exif_transpose(im))


def _pillow_to_rgb(path: str | os.PathLike[str], im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im).astype(np.int64)
        if arr.ndim != 2:
            raise ImageReadError(path, f"unsupported image mode {mode!r}")
        gray = (np.clip(arr, 0, 65535) >> 8).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode == "F":
        raise ImageReadError(path, "unsupported image kind: floating-point samples")
    # RGBA/LA/PA lose their alpha channel (no compositing), like cv2.IMREAD_COLOR.
    rgb = np.asarray(im.convert("RGB"))
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.size == 0:
        raise ImageReadError(path, f"unsupported image mode {mode!r}")
    return np.ascontiguousarray(rgb, dtype=np.uint8)
