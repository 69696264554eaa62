"""Pascal VOC 2012 (+ SBD aug): ``SegmentationClass[Aug]/<id>.png``, ``JPEGImages/<id>.jpg``.

Values are class indices (0 background, 255 void), as mmsegmentation's PascalVOCDataset
reads them. Our export adds ``classes.txt`` (the project's class names) so a project with
other classes than VOC's 21 comes back with its names; without it the VOC classes are used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files.class_list import CLASS_LIST, class_set_of, write_class_list
from ..files.atomic import atomic_write_text
from ..files.masks import write_index_mask
from ..model.classes import VOC_CLASSES, VOC_PALETTE, ClassSet
from .files import copy_image, flat_id
from .format import LAYOUT, NOT_IT, Format, Source
from .importing import Found, read_values

LABEL_DIRS = ("SegmentationClass", "SegmentationClassAug")


def _root(source: Path) -> Path:
    if not any((source / d).is_dir() for d in LABEL_DIRS) and (source / "VOC2012").is_dir():
        return source / "VOC2012"  # a VOCdevkit folder
    return source


def find(source: Path, split: str | None = None, **_: object) -> tuple[list[Found], ClassSet]:
    """Label files of a VOC folder; ``split`` restricts them to ``ImageSets/Segmentation/<split>.txt``."""
    root = _root(Path(source))
    dirs = [root / d for d in LABEL_DIRS if (root / d).is_dir()]
    if not dirs:
        raise FileNotFoundError(f"no SegmentationClass or SegmentationClassAug folder in {root}")
    voc = ClassSet(VOC_CLASSES, VOC_PALETTE)
    classes = class_set_of(root / CLASS_LIST, [voc]) if (root / CLASS_LIST).is_file() else voc
    names = classes.names
    wanted = None
    if split:
        split_file = root / "ImageSets" / "Segmentation" / f"{split}.txt"
        if not split_file.is_file():
            raise FileNotFoundError(f"VOC split file not found: {split_file}")
        wanted = set(split_file.read_text(encoding="utf-8").split())
    labels: dict[str, Path] = {}
    for folder in dirs:  # SegmentationClass wins over the Aug copy of the same id
        for path in sorted(folder.glob("*.png")):
            if (wanted is None or path.stem in wanted) and path.stem not in labels:
                labels[path.stem] = path
    found = [Found(path, _keys(image_id), _loader(path, names), dict(zip(classes.names, classes.palette)))
             for image_id, path in sorted(labels.items())]
    return found, classes


def _keys(image_id: str) -> tuple[str, ...]:
    if "__" in image_id:  # our export's flattened nested path
        return image_id.replace("__", "/"), image_id
    return (image_id,)


def _loader(path: Path, names):
    return lambda: (read_values(path), names)


class Writer:
    """``SegmentationClass/<id>.png`` (palette PNG), ``JPEGImages/<id>.jpg``, the split file."""

    def __init__(self, out: Path, classes: ClassSet, split: str = "train", **_: object) -> None:
        self.out, self.classes, self.split = out, classes, split
        self.ids: list[str] = []

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        voc_id = flat_id(rel)
        write_index_mask(self.out / "SegmentationClass" / f"{voc_id}.png", labels, self.classes)
        copy_image(image, self.out / "JPEGImages" / f"{voc_id}.jpg", labels)
        self.ids.append(voc_id)

    def close(self) -> None:
        atomic_write_text(self.out / "ImageSets" / "Segmentation" / f"{self.split}.txt",
                          "".join(i + "\n" for i in self.ids))
        write_class_list(self.out, self.classes)


def recognise(source: Source) -> int:
    return LAYOUT if source.has_dir(*LABEL_DIRS, "VOC2012") else NOT_IT


FORMAT = Format("voc", "Pascal VOC layout", find, Writer, split=True, recognise=recognise,
                import_title="Pascal VOC (SegmentationClass, SegmentationClassAug)")
