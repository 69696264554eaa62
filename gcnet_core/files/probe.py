"""A cheap check of an image file, for listing folders: header and structure, no decoding.

Listing a folder of thousands of photos cannot decode each one, yet a person should see at
once which files are not images at all, empty, cut short (PNG) or damaged, and a batch
should not queue them. Pillow's ``verify`` walks the file's structure (PNG chunks and
their CRCs) without decoding pixels; a fault it cannot see (a JPEG cut in its scan data)
is still reported by the full read when the image is opened.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from .images import ImageReadError, pillow_errors


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
