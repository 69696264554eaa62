"""The edited-pixels file: which pixels of an image a person labelled, as a 1-bit PNG.

Fine-tuning and the rule that protects a person's work tell human labels from model labels
by it. Every writer (the window's saver, imports) encodes it here, so the bytes are the same
whoever wrote them. Projects written before hold 8-bit PNGs of 0/255 in some places (imports
wrote those); any non-zero value reads as edited, so both encodings read back the same.
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

from ..files.masks import read_index_mask


def encode_edited(edited: np.ndarray) -> bytes:
    """``edited`` (H, W; True or non-zero = a person labelled the pixel) as 1-bit PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(edited).astype(bool)).save(buffer, format="PNG")
    return buffer.getvalue()


def read_edited(path: str | os.PathLike) -> np.ndarray:
    """The (H, W) bool array of an edited-pixels file of either encoding; the error names the file."""
    return read_index_mask(path) > 0
