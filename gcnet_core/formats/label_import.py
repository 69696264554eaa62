"""``gcnet import`` and File ▸ Import Labels: pick the format's reader, then the common import.

:func:`import_labels` does both steps; the window runs it in a worker thread on its own copy of
the project and saves the states and classes itself.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from ..project.store import PROJECT_FILE, Project
from . import ade20k, cityscapes, coco, labelme, png_folder, voc
from .importing import Found, ImportReport, Progress, import_found

IMPORT_FORMATS = ("voc", "cityscapes", "ade20k", "coco", "labelme", "png")
IMPORT_TITLES = {
    "voc": "Pascal VOC (SegmentationClass, SegmentationClassAug)",
    "cityscapes": "Cityscapes gtFine (labelIds or labelTrainIds)",
    "ade20k": "ADE20K annotations (class + 1)",
    "coco": "COCO JSON (RLE and polygons)",
    "labelme": "labelme JSON files",
    "png": "Folder of indexed or grayscale PNGs + class list",
}


def guess_format(source: str | Path) -> str | None:
    """The format a file or folder looks like, or None. Shallow (a few stat calls and one lazy
    listing of ``source`` itself), so a dialog can call it as a path is typed."""
    source = Path(source)
    if source.is_file():
        return "coco" if source.suffix.lower() == ".json" and _has(source, '"annotations"') else (
            "labelme" if source.suffix.lower() == ".json" else None)
    if not source.is_dir() or source.parent == source:  # never the file system's root
        return None
    if any((source / d).is_dir() for d in (*voc.LABEL_DIRS, "VOC2012")):
        return "voc"
    if (source / "gtFine").is_dir() or "gtFine" in (source.name, source.parent.name, source.parent.parent.name):
        return "cityscapes"
    if (source / "annotations").is_dir() or source.parent.name == "annotations" or source.name == "annotations":
        return "ade20k"
    first = _first_files(source)
    if any("_gtFine_" in path.name for path in first.values()):
        return "cityscapes"
    if ".json" in first:
        return "coco" if _has(first[".json"], '"annotations"') and not _has(first[".json"], '"shapes"') else "labelme"
    if ".png" in first or (source / "classes.txt").is_file():
        return "png"
    return None


def _first_files(source: Path, depth: int = 1, folders: int = 20) -> dict[str, Path]:
    """The first .json and .png file in ``source``, or in its first few sub-folders (the first
    1000 entries of each folder are looked at, so a huge image folder costs little)."""
    first: dict[str, Path] = {}
    subdirs = []
    for entry in itertools.islice(source.iterdir(), 1000):
        suffix = entry.suffix.lower()
        if suffix in (".json", ".png") and entry.name != PROJECT_FILE and entry.is_file():
            first.setdefault(suffix, entry)
        elif depth and not entry.name.startswith(".") and len(subdirs) < folders and entry.is_dir():
            subdirs.append(entry)
        if len(first) == 2:
            return first
    for folder in subdirs:
        for suffix, path in _first_files(folder, depth - 1).items():
            first.setdefault(suffix, path)
        if len(first) == 2:
            break
    return first


def _has(path: Path, text: str) -> bool:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            return text in fh.read(1 << 20)
    except OSError:
        return False


def find_labels(fmt: str, source: str | Path, project: Project, split: str | None = None,
                class_list: str | Path | None = None):
    """The label files of ``source`` in ``fmt`` and the format's class list."""
    source = Path(source)
    if fmt == "voc":
        return voc.find(source, split)
    if fmt == "cityscapes":
        return cityscapes.find(source, split)
    if fmt == "ade20k":
        return ade20k.find(source, split)
    if fmt == "coco":
        return coco.find(source, split)
    if fmt == "labelme":
        return labelme.find(source, split, root=project.root)
    if fmt == "png":
        return png_folder.find(source, split, Path(class_list) if class_list else None)
    raise ValueError(f"unknown import format {fmt!r}; expected one of {', '.join(IMPORT_FORMATS)}")


def import_labels(project: Project, fmt: str, source: str | Path, *, split: str | None = None,
                  class_list: str | Path | None = None, add_unknown: bool = False, replace: bool = False,
                  progress: Progress | None = None) -> ImportReport:
    """Import the labels of ``source`` into ``project`` (files written; the project not saved).

    Raises FileNotFoundError / ValueError naming the file when the source is not of the format.
    """
    found, classes = find_labels(fmt, source, project, split, class_list)
    return import_found(project, found, add_unknown=add_unknown, replace=replace, base_classes=classes,
                        progress=progress)


__all__ = ["IMPORT_FORMATS", "IMPORT_TITLES", "Found", "ImportReport", "find_labels", "guess_format",
           "import_labels"]
