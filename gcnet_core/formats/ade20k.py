"""ADE20K SceneParsing: ``images/<split>/<id>.jpg``, ``annotations/<split>/<id>.png``.

Annotation value = class + 1, 0 = "other" (ignored): mmsegmentation's ``reduce_zero_label``
turns it back. The export writes the project's background class as 0 too, as ADE20K has none
(its "other" is the unlabelled pixels), and numbers the other classes without it; the import
reads 0 as ignore, so a background class comes back as ignore. ``<split>`` is ``training`` or ``validation``. Our export adds ``classes.txt``
so other class sets come back with their names; without it the 150 ADE20K classes are used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files.class_list import CLASS_LIST, class_set_of, write_class_list
from ..model.classes import ADE20K_CLASSES, ADE20K_PALETTE, IGNORE_INDEX, ClassSet
from .files import background_index, copy_image, flat_id, write_png
from .format import LAYOUT, NOT_IT, Format, Source
from .importing import Found, read_values

FULL_DATASET_MASK = "_seg.png"  # the full ADE20K release (and datumaro's ade20k2017/2020): refused
SPLITS = {"train": "training", "val": "validation", "training": "training", "validation": "validation"}


def find(source: Path, split: str | None = None, **_: object) -> tuple[list[Found], ClassSet]:
    source = Path(source)
    root = source / "annotations" if (source / "annotations").is_dir() else source
    list_file = next((f for f in (source / CLASS_LIST, root.parent / CLASS_LIST) if f.is_file()), None)
    ade = ClassSet(ADE20K_CLASSES, ADE20K_PALETTE)
    classes = class_set_of(list_file, [ade]) if list_file else ade
    names = classes.names
    if split:
        root = root / SPLITS.get(split, split)
    if not root.is_dir():
        raise FileNotFoundError(f"ADE20K annotation folder not found: {root}")
    full = None if (source / "annotations").is_dir() else next(root.rglob(f"*{FULL_DATASET_MASK}"), None)
    if full is not None:
        raise ValueError(f"{source} is in the full ADE20K dataset layout ({full.name}: classes as colours, with a "
                         "JSON or _atr.txt per image), which is not read; import the SceneParsing release "
                         "(ADEChallengeData2016: annotations/<split>/*.png, class + 1)")
    palette = dict(zip(classes.names, classes.palette))
    found = [Found(path, _keys(path.stem), _loader(path, names), palette) for path in sorted(root.rglob("*.png"))]
    return found, classes


def _keys(stem: str) -> tuple[str, ...]:
    return (stem.replace("__", "/"), stem) if "__" in stem else (stem,)


def _loader(path: Path, names):
    def load():
        values = read_values(path).astype(np.int16) - 1
        values[values < 0] = IGNORE_INDEX  # 0 = "other"
        return values.astype(np.uint8), names
    return load


def ade_encoding(classes: ClassSet) -> tuple[ClassSet, np.ndarray]:
    """The classes the ADE20K export names (all but the background class) and the 256-entry
    table from the project's values to the stored ones: class + 1, the background class and
    ignore 0 (ADE's "other", which mmsegmentation's ``reduce_zero_label`` ignores)."""
    background = background_index(classes)
    kept = [i for i in range(len(classes)) if i != background]
    lut = np.zeros(256, dtype=np.uint8)
    lut[kept] = np.arange(1, len(kept) + 1)
    return ClassSet(tuple(classes.names[i] for i in kept), tuple(classes.palette[i] for i in kept)), lut


class Writer:
    def __init__(self, out: Path, classes: ClassSet, split: str = "train", **_: object) -> None:
        self.out, self.split = out, SPLITS.get(split, split)
        self.classes, self.lut = ade_encoding(classes)

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        name = flat_id(rel)
        write_png(self.out / "annotations" / self.split / f"{name}.png", self.lut[labels])
        copy_image(image, self.out / "images" / self.split / f"{name}.jpg", labels)

    def close(self) -> None:
        write_class_list(self.out, self.classes)


def class_limit(classes: ClassSet) -> str | None:
    if len(classes) > IGNORE_INDEX - 1:
        return f"holds at most {IGNORE_INDEX - 1} classes (class + 1 encoding); this project has {len(classes)}"
    return None


def recognise(source: Source) -> int:
    """``annotations/`` (ADE's PNG folders), never one holding COCO's ``instances_*.json``."""
    if not (source.has_dir("annotations") or source.within("annotations", 1)):
        return NOT_IT
    folder = source.path / "annotations" if source.has_dir("annotations") else source.path
    return NOT_IT if any(folder.glob("*.json")) else LAYOUT


FORMAT = Format("ade20k", "ADE20K layout (images/, annotations/, class + 1)", find, Writer, split=True,
                recognise=recognise, check_classes=class_limit, import_title="ADE20K annotations (class + 1)")
