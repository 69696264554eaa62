"""A cheap look at an image file, for listing folders: header and structure, no decoding.

Listing a folder of thousands of photos cannot decode each one, yet a person should see at
once which files are not images at all, empty, cut short (PNG) or damaged, and a batch
should not queue them. Pillow's ``verify`` walks the file's structure (PNG chunks and
their CRCs) without decoding pixels; a fault it cannot see (a JPEG cut in its scan data)
is still reported by the full read when the image is opened.

The size of an image is the one rule of the whole program: as it is shown, with its EXIF
orientation applied (orientations 5-8 swap width and height), as :func:`read_image_rgb`,
OpenCV's ``imread`` and labelme turn the photo; the window shows it so, masks have that size,
imports are checked against it and exports write it.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from .images import ImageReadError, pillow_errors

EXIF_ORIENTATION = 0x0112  # the EXIF tag: 1 as stored, 2-8 mirrored and/or turned
TURNED = (5, 6, 7, 8)  # the orientations that swap width and height


def image_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be used as an image (one line), or None when it looks fine."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            return "the file is empty"
        with pillow_errors(path), Image.open(path) as im:
            im.verify()
    except ImageReadError as error:
        return error.reason
    except OSError as error:
        return f"the file could not be read ({error.strerror or error})"
    return None


def orientation(path: str | os.PathLike[str]) -> int:
    """The EXIF orientation of ``path`` (1-8; 1 when it has none or cannot be read)."""
    try:
        with Image.open(path) as im:
            value = int(im.getexif().get(EXIF_ORIENTATION, 1))
    except (OSError, ValueError, SyntaxError):
        return 1
    return value if 1 <= value <= 8 else 1


def displayed_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(height, width) of ``path`` as it is shown (its EXIF orientation applied), from the header
    alone; :class:`ImageReadError` naming the file when the header cannot be read."""
    try:
        with Image.open(path) as im:
            return shown_size(im)
    except (OSError, ValueError, SyntaxError) as error:
        raise ImageReadError(path, f"cannot read its size ({error})") from None


def shown_size(im: Image.Image) -> tuple[int, int]:
    """(height, width) of an opened image as it is shown (its EXIF orientation applied)."""
    width, height = im.size
    return (width, height) if im.getexif().get(EXIF_ORIENTATION, 1) in TURNED else (height, width)
