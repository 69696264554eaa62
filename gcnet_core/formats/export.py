"""Export a project's label maps into the formats other tools read (no Qt).

Formats (``--format``), each written under the output folder ``out``; ``<rel>`` is the image
path relative to the project root without its suffix:

* ``index``      ``<rel>.png``: 8-bit indexed PNG, value = class index, class palette embedded
* ``color``      ``<rel>.png``: RGB PNG in the class colours (ignore = white)
* ``gray``       ``<rel>.png``: 8-bit grayscale PNG of class indices (255 = ignore)
* ``labelids``   ``<rel>_gtFine_labelIds.png``: official Cityscapes labelIds (ignore -> 0)
* ``trainids``   ``<rel>_gtFine_labelTrainIds.png``: Cityscapes trainIds (255 = ignore)
* ``overlay``    ``<rel>.jpg``: the class colours blended over the photo (JPEG)
* ``voc``        ``SegmentationClass/<id>.png`` + ``JPEGImages/<id>.jpg`` +
                 ``ImageSets/Segmentation/<split>.txt``; ``<id>`` is ``<rel>`` with ``/`` -> ``__``
* ``coco``       ``annotations.json``: COCO instances-style JSON, one RLE annotation per class
                 present in an image; category id = class index + 1 (COCO ids start at 1)

The Cityscapes formats need the 19 Cityscapes classes, checked before anything is written.
:func:`export_images` only writes files; :func:`mark_exported` then moves *corrected* images to
the ``exported`` state (predicted-only images stay as they are), so a GUI can run the first
in a worker thread and the second on its own copy of the project.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..model.classes import CITYSCAPES_CLASSES, IGNORE_INDEX, ClassSet, cityscapes_trainid_to_labelid_lut
from ..files.images import ImageReadError, read_image_rgb
from ..files.masks import atomic_write_bytes, atomic_write_text, colorize, overlay, read_index_mask, write_index_mask
from ..project.store import Project

EXPORT_FORMATS = ("index", "color", "gray", "labelids", "trainids", "overlay", "voc", "coco")
FORMAT_TITLES = {
    "index": "Indexed PNG with palette",
    "color": "Colour PNG",
    "gray": "Grayscale class-index PNG",
    "labelids": "Cityscapes labelIds",
    "trainids": "Cityscapes trainIds",
    "overlay": "Overlay JPEG",
    "voc": "Pascal VOC layout",
    "coco": "COCO JSON (RLE masks)",
}
_CITYSCAPES_FORMATS = ("labelids", "trainids")

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
                  progress: Progress | None = None, split: str = "train") -> ExportReport:
    """Write the label maps of ``images`` (paths or project-relative names) in ``fmt`` under ``out``.

    Images without a label file, or whose photo cannot be read where the format needs it,
    are reported in ``failed`` and skipped. Every file is written atomically.
    """
    check_format(fmt, project.classes)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [_absolute(project, image) for image in images]
    report = ExportReport(out, fmt)
    writer = _COCO(project.classes) if fmt == "coco" else None
    for done, image in enumerate(paths, start=1):
        try:
            labels = read_index_mask(project.label_path(image))
            rel = Path(project.relative(image))
            if writer is not None:
                writer.add(rel, labels)
            else:
                _write_one(project, image, rel, labels, fmt, out)
            report.written.append(image)
        except (ImageReadError, OSError, ValueError) as error:
            report.failed.append((image, str(error)))
        if progress:
            progress(done, len(paths), image)
    if writer is not None:
        atomic_write_text(out / "annotations.json", json.dumps(writer.to_json()) + "\n")
    if fmt == "voc":
        ids = "".join(_voc_id(Path(project.relative(p))) + "\n" for p in report.written)
        atomic_write_text(out / "ImageSets" / "Segmentation" / f"{split}.txt", ids)
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


def _write_one(project: Project, image: Path, rel: Path, labels: np.ndarray, fmt: str, out: Path) -> None:
    classes = project.classes
    if fmt == "index":
        write_index_mask(out / rel.with_suffix(".png"), labels, classes)
    elif fmt == "color":
        _write_png(out / rel.with_suffix(".png"), cv2.cvtColor(colorize(labels, classes), cv2.COLOR_RGB2BGR))
    elif fmt == "gray":
        _write_png(out / rel.with_suffix(".png"), labels)
    elif fmt == "labelids":
        _write_png(out / rel.parent / f"{rel.stem}_gtFine_labelIds.png", cityscapes_trainid_to_labelid_lut()[labels])
    elif fmt == "trainids":
        train_ids = np.where(labels < len(classes), labels, IGNORE_INDEX).astype(np.uint8)
        _write_png(out / rel.parent / f"{rel.stem}_gtFine_labelTrainIds.png", train_ids)
    elif fmt == "overlay":
        blended = overlay(_photo(image, labels), labels, classes)
        _write_encoded(out / rel.with_suffix(".jpg"), ".jpg", cv2.cvtColor(blended, cv2.COLOR_RGB2BGR))
    elif fmt == "voc":
        voc_id = _voc_id(rel)
        write_index_mask(out / "SegmentationClass" / f"{voc_id}.png", labels, classes)
        target = out / "JPEGImages" / f"{voc_id}.jpg"
        if image.suffix.lower() in (".jpg", ".jpeg"):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            shutil.copyfile(image, tmp)  # byte-exact copy, then an atomic rename
            tmp.replace(target)
        else:
            _write_encoded(target, ".jpg", cv2.cvtColor(_photo(image, labels), cv2.COLOR_RGB2BGR))


def _photo(image: Path, labels: np.ndarray) -> np.ndarray:
    rgb = read_image_rgb(image)
    if rgb.shape[:2] != labels.shape:
        raise ValueError(f"the mask is {labels.shape[1]}x{labels.shape[0]} but the image is "
                         f"{rgb.shape[1]}x{rgb.shape[0]}")
    return rgb


def _voc_id(rel: Path) -> str:
    return rel.with_suffix("").as_posix().replace("/", "__")


def _write_png(path: Path, array: np.ndarray) -> None:
    _write_encoded(path, ".png", np.ascontiguousarray(array))


def _write_encoded(path: Path, ext: str, array: np.ndarray) -> None:
    params = [cv2.IMWRITE_JPEG_QUALITY, 92] if ext == ".jpg" else []
    ok, data = cv2.imencode(ext, array, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode {path.name}")
    atomic_write_bytes(path, data.tobytes())


class _COCO:
    """Collects COCO images and per-class RLE annotations (pycocotools' encoding)."""

    def __init__(self, classes: ClassSet) -> None:
        self.classes = classes
        self.images: list[dict] = []
        self.annotations: list[dict] = []

    def add(self, rel: Path, labels: np.ndarray) -> None:
        from pycocotools import mask as coco_mask  # imported late: only this format needs it

        image_id = len(self.images) + 1
        height, width = labels.shape
        self.images.append({"id": image_id, "file_name": rel.as_posix(), "width": width, "height": height})
        for index in np.unique(labels):
            if index == IGNORE_INDEX or index >= len(self.classes):
                continue
            binary = np.asfortranarray((labels == index).astype(np.uint8))
            rle = coco_mask.encode(binary)
            rle["counts"] = rle["counts"].decode("ascii")
            self.annotations.append({
                "id": len(self.annotations) + 1,
                "image_id": image_id,
                "category_id": int(index) + 1,
                "segmentation": rle,
                "area": int(coco_mask.area(rle)),
                "bbox": [float(v) for v in coco_mask.toBbox(rle)],
                "iscrowd": 0,
            })

    def to_json(self) -> dict:
        categories = [{"id": i + 1, "name": name, "color": list(color)}
                      for i, (name, color) in enumerate(zip(self.classes.names, self.classes.palette))]
        return {"info": {"description": "exported by gcnet-annotator"}, "images": self.images,
                "annotations": self.annotations, "categories": categories}


__all__ = ["EXPORT_FORMATS", "FORMAT_TITLES", "ExportCancelled", "ExportReport", "check_format",
           "corrected_images", "export_images", "mark_exported"]
