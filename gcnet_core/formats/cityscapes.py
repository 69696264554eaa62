"""Cityscapes: ``gtFine/<split>/<city>/<base>_gtFine_<kind>.png`` beside ``leftImg8bit``.

``<base>`` is the image name without ``_leftImg8bit`` (``frankfurt_000000_000294``), as
cityscapesscripts and mmsegmentation's CityscapesDataset name them. We write labelIds,
labelTrainIds, color and instanceIds: a project holds no instances, so every region of a
class with instances is written as a group region (instance id = label id, as Cityscapes
does for crowds); cityscapesscripts then reads the files and leaves such regions out of iIoU.
Unlabelled (ignore) pixels and a background class after the 19 (an import of labelme files
adds one) are Cityscapes' ``unlabeled``: label id 0, train id 255, black.

The import reads ``labelTrainIds``, else ``labelIds``, else the label ids of ``instanceIds``
(``id // 1000`` for an instance), each mapped to train ids (a value that is no Cityscapes
label id is reported with its file, never dropped as ignore); train id 19, which datumaro's
exporter writes for its ``background``, is ignore, as Cityscapes' unlabelled pixels are.

``cityscapes_kinds="official"`` leaves out labelTrainIds, as the Cityscapes download and
datumaro's exporter do (cityscapesscripts' createTrainIdLabelImgs makes them): datumaro reads a
tree with labelTrainIds through its 19-class table and drops train id 0 (road) as its
background, while from instanceIds it reads every class. mmsegmentation's CityscapesDataset
needs the labelTrainIds of the default ``"all"``.

Two flat formats write one kind only, beside the image's folder instead of under ``gtFine``:
``labelids`` (``<dir>/<base>_gtFine_labelIds.png``, ignore -> 0) and ``trainids``
(``<dir>/<base>_gtFine_labelTrainIds.png``, 255 = ignore). All three need the 19 classes.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..files.images import pillow_errors
from ..model.classes import (CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, IGNORE_INDEX, ClassSet,
                             cityscapes_labelid_to_trainid_lut, cityscapes_trainid_to_labelid_lut)
from .files import FlatWriter, background_index, copy_image, write_png
from .format import CONTENT, LAYOUT, NOT_IT, Format, Source
from .importing import Found, read_values

IMAGE_SUFFIX = "_leftImg8bit"
KINDS = ("labelIds", "labelTrainIds", "color", "instanceIds")
WRITTEN_KINDS = {"all": KINDS, "official": ("labelIds", "color", "instanceIds")}  # cityscapes_kinds
CLASSES = ClassSet(CITYSCAPES_CLASSES, CITYSCAPES_PALETTE)
CUSTOM_TABLE = "label_colors.txt"  # datumaro's own class table for a Cityscapes tree: refused
READ_KINDS = ("instanceIds", "labelIds", "labelTrainIds")  # what the import reads, the last found wins
DATUMARO_BACKGROUND = 19  # the train id datumaro's exporter writes for unlabelled pixels: ignore here
LABEL_IDS_COUNT = 34  # Cityscapes' label ids are 0 (unlabeled) .. 33 (bicycle)


def base_name(rel: Path) -> str:
    """``frankfurt_000000_000294_leftImg8bit.png`` -> ``frankfurt_000000_000294``."""
    stem = rel.stem
    return stem[: -len(IMAGE_SUFFIX)] if stem.endswith(IMAGE_SUFFIX) else stem


def city_of(rel: Path) -> str:
    """The image's folder (its city in a Cityscapes tree), else the name's first part."""
    return rel.parent.name or base_name(rel).split("_")[0]


def find(source: Path, split: str | None = None, **_: object) -> tuple[list[Found], ClassSet]:
    """``*_gtFine_labelTrainIds.png`` files, else ``*_gtFine_labelIds.png``, else the label ids of
    ``*_gtFine_instanceIds.png`` (both mapped to train ids)."""
    source = Path(source)
    root = source / "gtFine" if (source / "gtFine").is_dir() else source
    if split:
        root = root / split
    if not root.is_dir():
        raise FileNotFoundError(f"Cityscapes label folder not found: {root}")
    table = next((p for p in (source / CUSTOM_TABLE, root / CUSTOM_TABLE) if p.is_file()), None)
    if table is not None:
        raise ValueError(f"{table}: a Cityscapes tree with its own class table is not read (its ids are not "
                         "Cityscapes'); export it with the Cityscapes classes, or as VOC or COCO")
    chosen: dict[Path, tuple[Path, str]] = {}
    for kind in READ_KINDS:  # the later kinds win: labelTrainIds over labelIds over instanceIds
        for path in sorted(root.rglob(f"*_gtFine_{kind}.png")):
            chosen[path.parent / path.name[: -len(f"_gtFine_{kind}.png")]] = (path, kind)
    if not chosen:
        colour = " (only color files, which are not read)" if next(root.rglob("*_gtFine_color.png"), None) else ""
        raise FileNotFoundError(f"no *_gtFine_labelTrainIds.png, *_gtFine_labelIds.png or *_gtFine_instanceIds.png "
                                f"under {root}{colour}")
    found = []
    for stem, (path, kind) in sorted(chosen.items()):
        base, city = stem.name, stem.parent.name
        keys = (f"{city}/{base}{IMAGE_SUFFIX}", f"{base}{IMAGE_SUFFIX}", base)
        found.append(Found(path, keys, _loader(path, kind), dict(zip(CLASSES.names, CLASSES.palette))))
    return found, CLASSES


def _loader(path: Path, kind: str):
    def load():
        if kind == "instanceIds":
            return _train_ids(path, label_ids_of_instances(path)), CITYSCAPES_CLASSES
        values = read_values(path)
        if kind == "labelIds":
            return _train_ids(path, values), CITYSCAPES_CLASSES
        return np.where(values == DATUMARO_BACKGROUND, IGNORE_INDEX, values).astype(np.uint8), CITYSCAPES_CLASSES
    return load


def _train_ids(path: Path, label_ids: np.ndarray) -> np.ndarray:
    """Label ids as train ids (Cityscapes' ids without a train id are ignore); a value that is
    no Cityscapes label id (0..33; 255 is taken as ignore) is an error naming the file."""
    strange = sorted(set(np.unique(label_ids).tolist()) - set(range(LABEL_IDS_COUNT)) - {IGNORE_INDEX})
    if strange:
        raise ValueError(f"{path}: value(s) {', '.join(map(str, strange[:5]))} are no Cityscapes label ids "
                         f"(0..{LABEL_IDS_COUNT - 1}); not imported")
    return cityscapes_labelid_to_trainid_lut()[label_ids]


def label_ids_of_instances(path: Path) -> np.ndarray:
    """The label ids of an ``instanceIds`` file (8- or 16-bit): ``id // 1000`` for an instance
    (label id x 1000 + its number), the value itself for a group or stuff region."""
    with pillow_errors(path), Image.open(path) as im:
        ids = np.asarray(im).astype(np.int64)
    if ids.ndim != 2:
        raise ValueError(f"{path}: an instanceIds file has one channel, this one {ids.shape[2]}")
    label_ids = np.where(ids >= 1000, ids // 1000, ids)
    if label_ids.max(initial=0) > 255:
        raise ValueError(f"{path}: value {int(ids.max())} is no Cityscapes instance id")
    return label_ids.astype(np.uint8)


class Writer:
    """The four gtFine files of each image, and optionally the image under leftImg8bit."""

    def __init__(self, out: Path, classes: ClassSet, split: str = "train", with_images: bool = False,
                 cityscapes_kinds: str = "all", **_: object) -> None:
        if cityscapes_kinds not in WRITTEN_KINDS:
            raise ValueError(f"Cityscapes kinds are {' or '.join(map(repr, WRITTEN_KINDS))}, not {cityscapes_kinds!r}")
        self.out, self.split, self.with_images = out, split, with_images
        self.kinds = WRITTEN_KINDS[cityscapes_kinds]
        self.seen: dict[tuple[str, str], Path] = {}

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        city, base = city_of(rel), base_name(rel)
        if (city, base) in self.seen:
            raise ValueError(f"its Cityscapes name {city}/{base} is taken by {self.seen[city, base]}")
        self.seen[city, base] = rel
        folder = self.out / "gtFine" / self.split / city
        train_ids = np.where(labels < len(CITYSCAPES_CLASSES), labels, IGNORE_INDEX).astype(np.uint8)
        label_ids = cityscapes_trainid_to_labelid_lut()[train_ids]
        colour = np.zeros((*labels.shape, 3), dtype=np.uint8)  # unlabeled: black, as Cityscapes
        known = train_ids != IGNORE_INDEX
        colour[known] = np.asarray(CITYSCAPES_PALETTE, dtype=np.uint8)[train_ids[known]]
        images = {"labelIds": label_ids, "labelTrainIds": train_ids, "color": cv2.cvtColor(colour, cv2.COLOR_RGB2BGR),
                  "instanceIds": label_ids.astype(np.uint16)}
        for kind in self.kinds:
            write_png(folder / f"{base}_gtFine_{kind}.png", images[kind])
        if self.with_images:
            copy_image(image, self.out / "leftImg8bit" / self.split / city / f"{base}{IMAGE_SUFFIX}.png", labels)

    def close(self) -> None:
        pass


class LabelIdsWriter(FlatWriter):
    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        write_png(self.out / rel.parent / f"{base_name(rel)}_gtFine_labelIds.png",
                  cityscapes_trainid_to_labelid_lut()[labels])


class TrainIdsWriter(FlatWriter):
    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        train_ids = np.where(labels < len(CITYSCAPES_CLASSES), labels, IGNORE_INDEX).astype(np.uint8)
        write_png(self.out / rel.parent / f"{base_name(rel)}_gtFine_labelTrainIds.png", train_ids)


def needs_cityscapes_classes(classes: ClassSet) -> str | None:
    """None for the 19 classes, alone or followed by a background class (an import adds one):
    it is written as Cityscapes' ``unlabeled``, as ignore is."""
    names = tuple(classes.names)
    if names == CITYSCAPES_CLASSES or (names[:-1] == CITYSCAPES_CLASSES and background_index(classes) == len(names) - 1):
        return None
    return f"needs the 19 Cityscapes classes; this project has {len(classes)} other classes"


def recognise(source: Source) -> int:
    if source.has_dir("gtFine") or source.within("gtFine", 2):
        return LAYOUT
    return CONTENT if any("_gtFine_" in path.name for path in source.first_files.values()) else NOT_IT


LABEL_IDS = Format("labelids", "Cityscapes labelIds", writer=LabelIdsWriter, check_classes=needs_cityscapes_classes,
                   read_back_as="cityscapes")
TRAIN_IDS = Format("trainids", "Cityscapes trainIds", writer=TrainIdsWriter, check_classes=needs_cityscapes_classes,
                   read_back_as="cityscapes")
FORMAT = Format("cityscapes", "Cityscapes layout (gtFine, all four kinds)", find, Writer, split=True,
                options=frozenset({"with_images", "cityscapes_kinds"}), recognise=recognise,
                check_classes=needs_cityscapes_classes,
                import_title="Cityscapes gtFine (labelIds or labelTrainIds)")
