"""COCO instances JSON: RLE and polygon segmentations, with ``supercategory``.

The export is the dataset layout datumaro and CVAT read: ``annotations/instances_<split>.json``
with the images copied to ``images/<split>/<rel>`` (``file_name`` = the image's path in the
project); ``coco_layout="file"`` writes the older single ``annotations.json`` at the root instead.
The import takes a JSON file, a folder holding one, or a dataset folder
(``annotations/instances_<split>.json``, or that ``annotations/`` folder itself): every split,
or the one ``split`` names; an image of split ``s`` is looked for as ``s/<file_name>`` first
(datumaro's ``images/<split>/``), then as ``file_name``.

Import paints each image's annotations on an ignore (255) canvas of the JSON's size in this
order: crowd regions first, then the others from the largest area to the smallest, so where
annotations overlap the smaller object wins (it is usually the one in front). Export writes
one RLE annotation per class present in an image; category id = class index + 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..files.class_list import generated_palette
from ..files.atomic import atomic_write_text
from ..model.classes import CITYSCAPES_CLASSES, IGNORE_INDEX, ClassSet
from ..project.store import PROJECT_FILE
from .files import copy_image
from .format import CONTENT, LAYOUT, NOT_IT, Format, Source
from .importing import Found

# Cityscapes' own categories; other class sets use the class name as its supercategory.
_CITYSCAPES_GROUPS = ("flat", "flat", "construction", "construction", "construction", "object", "object",
                      "object", "nature", "nature", "sky", "human", "human", "vehicle", "vehicle", "vehicle",
                      "vehicle", "vehicle", "vehicle")


def supercategory(classes: ClassSet, index: int) -> str:
    if tuple(classes.names) == CITYSCAPES_CLASSES:
        return _CITYSCAPES_GROUPS[index]
    return classes.names[index]


def find(source: Path, split: str | None = None, **_: object) -> tuple[list[Found], ClassSet]:
    """Every image of a COCO instances file, or of each split's file of a dataset folder; one
    without masks is reported when loaded (box-only annotations, none at all), a panoptic file
    refused."""
    source = Path(source)
    if not source.is_dir() and split and _split_of(source) != split:
        raise ValueError(f"{source} is one COCO file, not split {split!r}: a split picks the file of a "
                         "dataset folder (annotations/instances_<split>.json); give the folder, or no split")
    files = _annotation_files(source, split) if source.is_dir() else [source]
    found: list[Found] = []
    names: dict[str, tuple[int, int, int]] = {}  # every file's classes, in order of first appearance
    for file in files:
        file_found, file_classes = _read_file(file, _split_of(file))
        found.extend(file_found)
        for name, colour in zip(file_classes.names, file_classes.palette):
            names.setdefault(name, colour)
    return found, ClassSet(tuple(names), tuple(names.values()))


def _read_file(source: Path, split: str | None) -> tuple[list[Found], ClassSet]:
    """The images of one instances file; ``split``: the dataset split it is of (a key prefix)."""
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        categories = sorted(data["categories"], key=lambda c: int(c["id"]))
        images = {int(im["id"]): im for im in data["images"]}
        annotations = data["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{source} is not a COCO annotation file ({error})") from None
    if any(isinstance(ann, dict) and "segments_info" in ann for ann in annotations):
        raise ValueError(f"{source} is a COCO panoptic file (segments_info with PNG masks), which is not "
                         "imported; import a COCO instances file (annotations with 'segmentation')")
    names = tuple(str(c["name"]) for c in categories)
    colours = tuple(tuple(c["color"]) if len(c.get("color") or ()) == 3 else None for c in categories)
    generated = generated_palette(names)
    palette = tuple(c or g for c, g in zip(colours, generated))
    classes = ClassSet(names, palette)  # type: ignore[arg-type]
    by_image: dict[int, list[dict]] = {}
    for ann in annotations:
        by_image.setdefault(int(ann.get("image_id", -1)), []).append(ann)
    value_of = {int(c["id"]): i for i, c in enumerate(categories)}
    found = []
    for image_id, image in sorted(images.items()):
        anns = by_image.get(image_id, [])
        file_name = Path(str(image.get("file_name", "")))
        keys = (file_name.with_suffix("").as_posix(), file_name.stem)
        if split:
            keys = (f"{split}/{keys[0]}", *keys)
        label = Path(f"{source}#{file_name.as_posix()}")
        found.append(Found(label, keys, _loader(image, anns, names, value_of, source), dict(zip(names, palette))))
    return found, classes


def dataset_files(folder: Path) -> list[Path]:
    """The ``annotations/instances_*.json`` files of a COCO dataset folder (none: not one)."""
    return sorted((Path(folder) / "annotations").glob("instances_*.json"))


def _split_of(file: Path) -> str | None:
    """The split an ``instances_<split>.json`` file is of (None for another name)."""
    if not file.stem.startswith("instances_"):
        return None
    return file.stem[len("instances_"):] or None


def _annotation_files(folder: Path, split: str | None) -> list[Path]:
    """The instances files a folder holds: a dataset folder's (or its ``annotations/`` folder's)
    every split, or ``split``'s; otherwise its one JSON file."""
    split_files = dataset_files(folder) or sorted(folder.glob("instances_*.json"))
    if split:
        wanted = [f for f in split_files if _split_of(f) == split]
        if not wanted:
            expected = folder / ("" if folder.name == "annotations" else "annotations") / f"instances_{split}.json"
            have = ", ".join(f.name for f in split_files) or "none"
            raise FileNotFoundError(f"no COCO split {split!r} in {folder}: {expected} does not exist "
                                    f"(split files: {have})")
        return wanted
    if split_files:
        return split_files
    files = sorted(p for p in folder.glob("*.json") if p.name != PROJECT_FILE)
    if len(files) != 1:
        names = ", ".join(p.name for p in files[:5])
        raise FileNotFoundError(f"expected one COCO JSON file in {folder}, found {len(files)}"
                                + (f" ({names}); name the file" if files else ""))
    return files


def _loader(image: dict, anns: list[dict], names, value_of: dict[int, int], source: Path):
    def load():
        from pycocotools import mask as coco_mask

        height, width = int(image["height"]), int(image["width"])
        canvas = np.full((height, width), IGNORE_INDEX, dtype=np.uint8)
        extra: list[str] = []
        values = dict(value_of)
        shaped = [a for a in anns if a.get("segmentation")]
        if not shaped:
            raise ValueError(f"{source}: image {image.get('file_name')!r} has "
                             + (f"only box annotations (no 'segmentation'; ids {_ids(anns)})" if anns
                                else "no annotations") + "; nothing to import")
        if len(shaped) < len(anns):
            raise ValueError(f"{source}: annotations {_ids([a for a in anns if a not in shaped])} of image "
                             f"{image.get('file_name')!r} have no 'segmentation' (boxes only); not imported, "
                             "as its mask would miss them")
        ordered = sorted(shaped, key=lambda a: (-int(bool(a.get("iscrowd"))), -float(a.get("area") or 0)))
        for ann in ordered:
            cat = int(ann["category_id"])
            if cat not in values:  # an id missing from "categories": an unknown class
                extra.append(f"category {cat}")
                values[cat] = len(names) + len(extra) - 1
            seg = ann["segmentation"]
            try:
                if isinstance(seg, list):
                    rle = coco_mask.merge(coco_mask.frPyObjects(seg, height, width))
                elif isinstance(seg.get("counts"), list):
                    rle = coco_mask.frPyObjects(seg, height, width)
                else:
                    rle = dict(seg, counts=seg["counts"].encode("ascii") if isinstance(seg["counts"], str)
                               else seg["counts"])
                mask = coco_mask.decode(rle).astype(bool)
            except (KeyError, TypeError, ValueError, AttributeError) as error:
                raise ValueError(f"{source}: annotation {ann.get('id')} has an unreadable segmentation "
                                 f"({error})") from None
            if mask.shape != canvas.shape:
                raise ValueError(f"{source}: annotation {ann.get('id')} is {mask.shape[1]}x{mask.shape[0]}, "
                                 f"its image {width}x{height}")
            canvas[mask] = values[cat]
        return canvas, tuple(names) + tuple(extra)
    return load


def _ids(anns: list[dict]) -> str:
    ids = [str(a.get("id")) for a in anns]
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


class Writer:
    """``annotations/instances_<split>.json`` and ``images/<split>/`` (``coco_layout="dataset"``)
    or ``annotations.json`` (``"file"``): one RLE annotation per class present in an image."""

    def __init__(self, out: Path, classes: ClassSet, split: str = "train", coco_layout: str = "dataset",
                 **_: object) -> None:
        if coco_layout not in LAYOUTS:
            raise ValueError(f"unknown COCO layout {coco_layout!r}; expected one of {', '.join(LAYOUTS)}")
        self.out, self.classes, self.split, self.layout = out, classes, split, coco_layout
        self.images: list[dict] = []
        self.annotations: list[dict] = []

    def add(self, image: Path, rel: Path, labels: np.ndarray) -> None:
        from pycocotools import mask as coco_mask  # imported late: only this format needs it

        image_id = len(self.images) + 1
        height, width = labels.shape
        self.images.append({"id": image_id, "file_name": rel.as_posix(), "width": width, "height": height})
        if self.layout == "dataset":
            copy = rel.with_suffix(_copied_suffix(image))
            copy_image(image, self.out / "images" / self.split / copy, labels)
            self.images[-1]["file_name"] = copy.as_posix()
        for index in np.unique(labels):
            if index == IGNORE_INDEX or index >= len(self.classes):
                continue
            rle = coco_mask.encode(np.asfortranarray((labels == index).astype(np.uint8)))
            rle["counts"] = rle["counts"].decode("ascii")
            self.annotations.append({
                "id": len(self.annotations) + 1, "image_id": image_id, "category_id": int(index) + 1,
                "segmentation": rle, "area": int(coco_mask.area(rle)),
                "bbox": [float(v) for v in coco_mask.toBbox(rle)], "iscrowd": 0,
            })

    def close(self) -> None:
        categories = [{"id": i + 1, "name": name, "supercategory": supercategory(self.classes, i),
                       "color": list(color)}
                      for i, (name, color) in enumerate(zip(self.classes.names, self.classes.palette))]
        data = {"info": {"description": "exported by gcnet-annotator"}, "images": self.images,
                "annotations": self.annotations, "categories": categories}
        name = f"annotations/instances_{self.split}.json" if self.layout == "dataset" else "annotations.json"
        atomic_write_text(self.out / name, json.dumps(data) + "\n")


def _copied_suffix(image: Path) -> str:
    """The suffix of an image's copy: its own for JPEG and PNG, else PNG (written from the pixels)."""
    return ".jpg" if image.suffix.lower() in (".jpg", ".jpeg") else ".png"


def recognise(source: Source) -> int:
    """A JSON file with ``"annotations"``, a dataset folder (``annotations/instances_*.json``), or
    a folder whose first JSON file has them (and no labelme shapes)."""
    if source.is_dir and source.has_dir("annotations") and dataset_files(source.path):
        return LAYOUT
    if source.is_file:
        return LAYOUT if source.path.suffix.lower() == ".json" and source.holds(source.path, '"annotations"') \
            else NOT_IT
    first = source.first_files.get(".json")
    if first is not None and source.holds(first, '"annotations"') and not source.holds(first, '"shapes"'):
        return CONTENT
    return NOT_IT


LAYOUTS = ("dataset", "file")

FORMAT = Format("coco", "COCO JSON (RLE masks)", find, Writer, split=True, recognise=recognise,
                options=frozenset({"coco_layout"}),
                import_title="COCO JSON (RLE and polygons)")
