"""Export a project's label maps into the formats other tools read (no Qt).

Formats (``--format``), each written under the output folder ``out``; ``<rel>`` is the image
path relative to the project root without its suffix, ``<base>`` its name without
``_leftImg8bit``:

* ``index``      ``<rel>.png``: 8-bit indexed PNG, value = class index, class palette embedded;
                 plus ``classes.txt`` (one class name per line)
* ``color``      ``<rel>.png``: RGB PNG in the class colours (ignore = white)
* ``gray``       ``<rel>.png``: 8-bit grayscale PNG of class indices (255 = ignore); ``classes.txt``
* ``labelids``   ``<dir>/<base>_gtFine_labelIds.png``: official Cityscapes labelIds (ignore -> 0)
* ``trainids``   ``<dir>/<base>_gtFine_labelTrainIds.png``: Cityscapes trainIds (255 = ignore)
* ``cityscapes`` ``gtFine/<split>/<city>/<base>_gtFine_{labelIds,labelTrainIds,color,instanceIds}.png``
                 (+ ``leftImg8bit/<split>/<city>/<base>_leftImg8bit.png`` with ``with_images``)
* ``ade20k``     ``images/<split>/<id>.jpg`` + ``annotations/<split>/<id>.png`` (class + 1, 0 = other)
* ``overlay``    ``<rel>.jpg``: the class colours blended over the photo (JPEG)
* ``voc``        ``SegmentationClass/<id>.png`` + ``JPEGImages/<id>.jpg`` +
                 ``ImageSets/Segmentation/<split>.txt``; ``<id>`` is ``<rel>`` with ``/`` -> ``__``
* ``coco``       ``annotations.json``: COCO instances-style JSON, one RLE annotation per class
                 present in an image; category id = class index + 1, with ``supercategory``
* ``labelme``    ``<rel>.json``: labelme files, ``imagePath`` relative, mask (or polygon) shapes

The foreign layouts' writers live beside their readers (``formats/voc.py`` ...). The Cityscapes
formats need the 19 Cityscapes classes, checked before anything is written.
:func:`export_images` only writes files; :func:`mark_exported` then moves *corrected* images to
the ``exported`` state (predicted-only images stay as they are), so a GUI can run the first
in a worker thread and the second on its own copy of the project.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..files.class_list import write_class_list
from ..files.images import ImageReadError
from ..files.masks import colorize, overlay, read_index_mask, write_index_mask
from ..model.classes import CITYSCAPES_CLASSES, IGNORE_INDEX, ClassSet, cityscapes_trainid_to_labelid_lut
from ..project.store import Project
from . import ade20k, cityscapes, coco, labelme, voc
from .files import photo, write_encoded, write_png

EXPORT_FORMATS = ("index", "color", "gray", "labelids", "trainids", "cityscapes", "ade20k", "overlay", "voc",
                  "coco", "labelme")
FORMAT_TITLES = {
    "index": "Indexed PNG with palette",
    "color": "Colour PNG",
    "gray": "Grayscale class-index PNG",
    "labelids": "Cityscapes labelIds",
    "trainids": "Cityscapes trainIds",
    "cityscapes": "Cityscapes layout (gtFine, all four kinds)",
    "ade20k": "ADE20K layout (images/, annotations/, class + 1)",
    "overlay": "Overlay JPEG",
    "voc": "Pascal VOC layout",
    "coco": "COCO JSON (RLE masks)",
    "labelme": "labelme JSON (one file per image)",
}
_CITYSCAPES_FORMATS = ("labelids", "trainids", "cityscapes")

Progress = Callable[[int, int, Path], None]  # (done, total, image just handled)


class ExportCancelled(Exception):
    """Raised from a progress callback to stop an export between two images."""


@dataclass
class ExportReport:
    """What an export wrote and what it could not."""

    out: Path
    fmt: str
    written: list[Path] = field(default_factory=list)  # source images exported
    failed: list[tuple[Path, str]] = field(default_factory=list)


def check_format(fmt: str, classes: ClassSet) -> None:
    """Raise ValueError for an unknown format or one the class set cannot be written in."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    if fmt in _CITYSCAPES_FORMATS and tuple(classes.names) != CITYSCAPES_CLASSES:
        raise ValueError(f"the {fmt!r} format needs the 19 Cityscapes classes; this project has "
                         f"{len(classes)} other classes")


def corrected_images(project: Project) -> list[Path]:
    """Images a person has checked: state ``corrected`` or already ``exported``."""
    return project.images_with_state("corrected", "exported")


def export_images(project: Project, images: Sequence[str | Path], fmt: str, out: str | Path,
                  progress: Progress | None = None, split: str = "train", with_images: bool = False,
                  labelme_shapes: str = "mask") -> ExportReport:
    """Write the label maps of ``images`` (paths or project-relative names) in ``fmt`` under ``out``.

    Images without a label file, or whose photo cannot be read where the format needs it,
    are reported in ``failed`` and skipped. Every file is written atomically. ``split`` names
    the split of the dataset layouts, ``with_images`` copies the images into the Cityscapes
    layout, ``labelme_shapes`` is ``mask`` (exact) or ``polygon``.
    """
    check_format(fmt, project.classes)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [_absolute(project, image) for image in images]
    report = ExportReport(out, fmt)
    writer = _writer(fmt, out, project.classes, split=split, with_images=with_images, shapes=labelme_shapes)
    for done, image in enumerate(paths, start=1):
        try:
            labels = read_index_mask(project.label_path(image))
            writer.add(image, Path(project.relative(image)), labels)
            report.written.append(image)
        except (ImageReadError, OSError, ValueError) as error:
            report.failed.append((image, str(error)))
        if progress:
            progress(done, len(paths), image)
    writer.close()
    return report


def mark_exported(project: Project, images: Iterable[Path]) -> int:
    """Move the corrected ones among ``images`` to state ``exported`` and save; returns how many."""
    count = 0
    for image in images:
        if project.state(image) == "corrected":
            project.set_state(image, "exported")
            count += 1
    if count:
        project.save()
    return count


# --------------------------------------------------------------------------- per format


def _absolute(project: Project, image: str | Path) -> Path:
    path = Path(image)
    return path if path.is_absolute() else project.root / path


_LAYOUTS = {"cityscapes": cityscapes.Writer, "ade20k": ade20k.Writer, "voc": voc.Writer, "coco": coco.Writer,
            "labelme": labelme.Writer}


def _writer(fmt: str, out: Path, classes: ClassSet, **options: object):
    return _LAYOUTS[fmt](out, classes, **options) if fmt in _LAYOUTS else _FlatWriter(fmt, out, classes)


class _FlatWriter:
    """The formats that mirror the project's folders: one file per image, same relative path."""

    def __init__(self, fmt: str, out: Path, classes: ClassSet) -> None:
        self.fmt, self.out, self.classes = fmt, out, classes

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        fmt, out, classes = self.fmt, self.out, self.classes
        if fmt == "index":
            write_index_mask(out / rel.with_suffix(".png"), labels, classes)
        elif fmt == "color":
            write_png(out / rel.with_suffix(".png"), cv2.cvtColor(colorize(labels, classes), cv2.COLOR_RGB2BGR))
        elif fmt == "gray":
            write_png(out / rel.with_suffix(".png"), labels)
        elif fmt == "labelids":
            write_png(out / rel.parent / f"{cityscapes.base_name(rel)}_gtFine_labelIds.png",
                      cityscapes_trainid_to_labelid_lut()[labels])
        elif fmt == "trainids":
            train_ids = np.where(labels < len(classes), labels, IGNORE_INDEX).astype(np.uint8)
            write_png(out / rel.parent / f"{cityscapes.base_name(rel)}_gtFine_labelTrainIds.png", train_ids)
        elif fmt == "overlay":
            blended = overlay(photo(image, labels), labels, classes)
            write_encoded(out / rel.with_suffix(".jpg"), ".jpg", cv2.cvtColor(blended, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        if self.fmt in ("index", "gray"):
            write_class_list(self.out, self.classes)


__all__ = ["EXPORT_FORMATS", "FORMAT_TITLES", "ExportCancelled", "ExportReport", "check_format",
           "corrected_images", "export_images", "mark_exported"]
