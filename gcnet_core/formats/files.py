"""File writing shared by the export formats: encoded PNG/JPEG, image copies, flat names, the
project's background class and the writer of the formats that mirror the project's folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from ..files.atomic import atomic_write_bytes
from ..files.images import read_image_rgb
from ..files.outputs import OUTPUT_MARKER
from ..files.probe import orientation
from ..model.classes import ClassSet


def write_png(path: Path, array: np.ndarray) -> None:
    """8/16-bit gray or BGR PNG, atomically."""
    write_encoded(path, ".png", np.ascontiguousarray(array))


def write_encoded(path: Path, ext: str, array: np.ndarray) -> None:
    params = [cv2.IMWRITE_JPEG_QUALITY, 92] if ext == ".jpg" else []
    ok, data = cv2.imencode(ext, array, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode {path.name}")
    atomic_write_bytes(path, data.tobytes())


def photo(image: Path, labels: np.ndarray) -> np.ndarray:
    """The image as RGB, checked to have the label map's size."""
    rgb = read_image_rgb(image)
    if rgb.shape[:2] != labels.shape:
        raise ValueError(f"the mask is {labels.shape[1]}x{labels.shape[0]} but the image is "
                         f"{rgb.shape[1]}x{rgb.shape[0]}")
    return rgb


def copy_image(image: Path, target: Path, labels: np.ndarray) -> None:
    """``target`` in its suffix's format, as the photo is shown (the mask's orientation): a
    byte-exact copy when the source already is one without an EXIF turn; else written from the
    decoded pixels, so a photo with an EXIF orientation is stored turned, without the tag (a
    reader that ignores the tag, as datumaro's does, sees the mask's size too)."""
    same = {".jpg": (".jpg", ".jpeg"), ".png": (".png",)}[target.suffix.lower()]
    if image.suffix.lower() in same and orientation(image) == 1:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(image, tmp)  # then an atomic rename
        tmp.replace(target)
    else:
        write_encoded(target, target.suffix.lower(), cv2.cvtColor(photo(image, labels), cv2.COLOR_RGB2BGR))


BACKGROUND_NAMES = ("background", "_background_", "__background__")


def background_index(classes: ClassSet) -> int | None:
    """The project's background class (what lies outside every object; labelme's ``_background_``),
    found by its name, case and surrounding spaces ignored; None when it has none. Each format writes it under
    its own name: ``_background_`` for labelme, ``background`` at 0 for VOC, 0 for ADE20K."""
    for index, name in enumerate(classes.names):
        if name.strip().lower() in BACKGROUND_NAMES:
            return index
    return None


def in_own_output(source: Path, path: Path) -> bool:
    """Whether ``path`` lies in one of our output folders below ``source`` (an export into a
    sub-folder of the labels holds no labels to import; ``source`` itself may be an export)."""
    return any((source / folder / OUTPUT_MARKER).is_file() for folder in path.relative_to(source).parents[:-1])


def flat_id(rel: Path) -> str:
    """A file name for a nested image in a flat layout: ``a/b.jpg`` -> ``a__b``."""
    return rel.with_suffix("").as_posix().replace("/", "__")


class FlatWriter:
    """A format that mirrors the project's folders: one file per image, at the image's relative
    path (subclasses write it in ``add``)."""

    def __init__(self, out: Path, classes: ClassSet, **_: object) -> None:
        self.out, self.classes = out, classes

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass
