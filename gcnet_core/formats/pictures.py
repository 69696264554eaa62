"""Pictures of the labels for people: colour PNGs and overlays on the photo.

Both mirror the project's folders (``<rel>.png``, ``<rel>.jpg``). They are for looking at,
not label files, so no import reads them back.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..files.masks import colorize, overlay
from .files import FlatWriter, photo, write_encoded, write_png
from .format import Format


class ColourWriter(FlatWriter):
    """``<rel>.png``: RGB in the class colours (ignore = white)."""

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        write_png(self.out / rel.with_suffix(".png"), cv2.cvtColor(colorize(labels, self.classes), cv2.COLOR_RGB2BGR))


class OverlayWriter(FlatWriter):
    """``<rel>.jpg``: the class colours blended over the photo."""

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        blended = overlay(photo(image, labels), labels, self.classes)
        write_encoded(self.out / rel.with_suffix(".jpg"), ".jpg", cv2.cvtColor(blended, cv2.COLOR_RGB2BGR))


COLOUR = Format("color", "Colour PNG", writer=ColourWriter)
OVERLAY = Format("overlay", "Overlay JPEG", writer=OverlayWriter)
