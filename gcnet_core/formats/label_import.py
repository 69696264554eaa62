"""``gcnet import`` and File ▸ Import Labels: pick the format's reader, then the common import.

:func:`import_labels` does both steps; the window runs it in a worker thread on its own copy of
the project and saves the states and classes itself.
"""

from __future__ import annotations

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
    """The format a file or folder looks like, or None."""
    source = Path(source)
    if source.is_file():
        return "coco" if source.suffix.lower() == ".json" and _has(source, '"annotations"') else (
            "labelme" if source.suffix.lower() == ".json" else None)
    if not source.is_dir():
        return None
    if any((source / d).is_dir() for d in (*voc.LABEL_DIRS, "VOC2012")):
        return "voc"
    if (source / "gtFine").is_dir() or source.name == "gtFine" or next(source.rglob("*_gtFine_label*Ids.png"), None):
        return "cityscapes"
    if (source / "annotations").is_dir():
        return "ade20k"
    jsons = sorted(p for p in source.glob("*.json") if p.name != PROJECT_FILE)
    if len(jsons) == 1 and _has(jsons[0], '"annotations"'):
        return "coco"
    if any(p.name != PROJECT_FILE for p in source.rglob("*.json")):
        return "labelme"
    if next(source.rglob("*.png"), None):
        return "png"
    return None


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
