"""Bring labels made elsewhere into a project: match, map classes, check sizes, write.

Each format module (``voc``, ``cityscapes``, ``ade20k``, ``coco``, ``labelme``,
``png_folder``) only *finds* its label files: :class:`Found` says which project image a file
belongs to (``keys``) and how to decode it (``load`` gives values and the class names they
stand for). Everything else is common and lives here, so every format follows the same rules:

* a file matches an image by relative path (without suffix), else by a unique file stem; a
  file that matches no image, or several, is reported and left alone;
* class names are matched to the project's by name (case and surrounding spaces ignored);
  names the project lacks are *unknown*: added as new classes when asked, otherwise the
  files holding them are reported and not imported (nothing is silently dropped);
  a project without classes yet takes the format's whole class list, in its order;
* a label whose size differs from its image's is reported, never resized;
* an image a person already corrected keeps its labels unless ``replace`` is asked; the label
  and edited-pixels files an import replaces are first kept in the project's backups
  (``.gcnet/backups/import-<time>/``).

Imported labels are a person's work: the image is marked ``corrected`` and every labelled
pixel is marked edited, so pre-segmentation and batch runs never overwrite them and
fine-tuning trains on them. The files are staged through the project (:meth:`Project.write_masks`)
and committed as one transaction (:func:`~gcnet_core.project.renumber.commit_staged`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
import shutil

import numpy as np
from PIL import Image

from ..files.class_list import new_class_colour
from ..files.images import ImageReadError
from ..files.masks import read_index_mask
from ..model.classes import IGNORE_INDEX, ClassSet
from ..project.backups import Backup
from ..project.renumber import commit_staged, is_committed
from ..project.store import Project

Progress = Callable[[int, int, Path], None]  # (done, total, label file just handled)
Loader = Callable[[], "tuple[np.ndarray, tuple[str, ...]]"]


class ImportCancelled(Exception):
    """Raised from a progress callback to stop an import between two files (the report says so)."""


@dataclass
class Found:
    """One label file of a foreign layout.

    ``keys``: where its image may be, most specific first; a key with a ``/`` is a path
    relative to the project root without suffix, one without is a file stem. ``load`` returns
    (H, W) uint8 values, 255 = ignore, and the class names value ``i`` stands for (a value
    beyond them is an unknown class named ``value <i>``). ``palette`` gives colours for new
    classes, by name.
    """

    file: Path
    keys: tuple[str, ...]
    load: Loader
    palette: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    background: str | None = None  # the name of unlabelled pixels: added as a class even when not asked
    hint: str = ""  # said when the file matches no image (e.g. its own image is missing)


@dataclass
class ImportReport:
    """What an import did and everything it could not do, each with the file and the reason."""

    imported: list[tuple[Path, Path]] = field(default_factory=list)  # (label file, image)
    unmatched: list[tuple[Path, str]] = field(default_factory=list)  # no image, or several
    unknown_classes: dict[str, list[Path]] = field(default_factory=dict)  # name -> files
    size_mismatches: list[tuple[Path, Path, str]] = field(default_factory=list)  # label, image, sizes
    kept: list[tuple[Path, Path]] = field(default_factory=list)  # corrected before: not replaced
    failed: list[tuple[Path, str]] = field(default_factory=list)  # unreadable files
    added_classes: list[str] = field(default_factory=list)
    backup: Path | None = None
    cancelled: bool = False  # stopped between two files; what was imported is listed
    found: int = 0  # label files the source held

    @property
    def complete(self) -> bool:
        """Everything found was imported (and something was), or kept as a person corrected it:
        the CLI's exit 0."""
        return bool(self.imported) and len(self.imported) + len(self.kept) == self.found and not self.cancelled

    def lines(self) -> list[str]:
        """The report as readable lines (the CLI prints them, the dialog shows them)."""
        out = [f"imported {len(self.imported)} label file(s)" + (" (cancelled)" if self.cancelled else "")]
        if self.added_classes:
            out.append(f"new classes added: {', '.join(self.added_classes)}")
        for name, files in sorted(self.unknown_classes.items()):
            out.append(f"unknown class {name!r} in {len(files)} file(s), not imported "
                       f"(first: {files[0]}); add it as a new class to import them")
        for path, reason in self.unmatched:
            out.append(f"no image: {path}: {reason}")
        for label, image, sizes in self.size_mismatches:
            out.append(f"size mismatch: {label}: {sizes} (image {image}); not resized, not imported")
        for label, image in self.kept:
            out.append(f"kept: {image} was already corrected; {label} not imported (ask to replace)")
        for path, reason in self.failed:
            out.append(f"unreadable: {path}: {reason}")
        if self.backup is not None:
            out.append(f"replaced label files were copied to {self.backup}")
        return out


# ------------------------------------------------------------------------------ matching
class ImageIndex:
    """The project's images by relative path without suffix and by stem (case-insensitive)."""

    def __init__(self, project: Project) -> None:
        self.by_rel: dict[str, list[Path]] = {}
        self.by_stem: dict[str, list[Path]] = {}
        for image in project.image_paths():
            rel = Path(project.relative(image)).with_suffix("").as_posix().lower()
            self.by_rel.setdefault(rel, []).append(image)
            self.by_stem.setdefault(image.stem.lower(), []).append(image)

    def match(self, keys: Sequence[str]) -> tuple[Path | None, str]:
        """(image, "") or (None, why not)."""
        for key in keys:
            key = key.strip("/").lower()
            if "/" in key:
                hits = self.by_rel.get(key) or [p for rel, ps in self.by_rel.items()
                                                if rel.endswith("/" + key) for p in ps]
            else:
                hits = self.by_stem.get(key, [])
            if len(hits) == 1:
                return hits[0], ""
            if len(hits) > 1:
                return None, f"matches {len(hits)} images ({', '.join(p.name for p in hits[:3])}); rename one"
        return None, f"matches no image in the project (looked for {' or '.join(repr(k) for k in keys)})"


EXIF_ORIENTATION = 0x0112
TURNED = (5, 6, 7, 8)  # orientations that swap width and height


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) as the image is shown, from its header without decoding the pixels: the
    EXIF orientation applied, as our decoder, OpenCV and labelme apply it."""
    try:
        with Image.open(path) as im:
            width, height = im.size
            orientation = im.getexif().get(EXIF_ORIENTATION, 1)
    except (OSError, ValueError) as error:
        raise ImageReadError(path, f"cannot read its size ({error})") from None
    return (width, height) if orientation in TURNED else (height, width)


# ------------------------------------------------------------------------------ classes
def _norm(name: str) -> str:
    name = name.strip().lower()
    return "background" if name in ("_background_", "__background__") else name


class ClassMapper:
    """Maps foreign class names to the project's indices, growing the class set on request."""

    def __init__(self, classes: ClassSet, add_unknown: bool) -> None:
        self.names = list(classes.names)
        self.palette = list(classes.palette)
        self.add_unknown = add_unknown
        self.added: list[str] = []
        self._index = {_norm(n): i for i, n in enumerate(self.names)}

    def lut(self, names: Sequence[str], values: np.ndarray, palette: dict[str, tuple[int, int, int]],
            background: str | None = None) -> tuple[np.ndarray | None, list[str]]:
        """A 256-entry table for the values present, or (None, unknown names) when not allowed;
        ``background`` (the format's name of unlabelled pixels) is added as ``background`` when
        the project has no such class, asked or not."""
        lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
        unknown = []
        for value in values.tolist():
            if value == IGNORE_INDEX:
                continue
            name = names[value] if value < len(names) else f"value {value}"
            index = self._index.get(_norm(name))
            if index is None and background is not None and name == background:
                index = self._add(_norm(name), palette.get(name))
            if index is None:
                if not self.add_unknown:
                    unknown.append(name)
                    continue
                index = self._add(name, palette.get(name))
            lut[value] = index
        return (None, unknown) if unknown else (lut, [])

    def _add(self, name: str, colour: tuple[int, int, int] | None) -> int:
        if len(self.names) >= IGNORE_INDEX:
            raise ValueError(f"cannot add class {name!r}: a project holds at most {IGNORE_INDEX} classes")
        if colour is None:
            colour = new_class_colour(name, set(self.palette))
        self.names.append(name)
        self.palette.append(tuple(int(c) for c in colour))  # type: ignore[arg-type]
        self.added.append(name)
        self._index[_norm(name)] = len(self.names) - 1
        return len(self.names) - 1

    def class_set(self) -> ClassSet:
        return ClassSet(tuple(self.names), tuple(self.palette))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ import
def import_found(project: Project, found: Sequence[Found], add_unknown: bool = False,
                 replace: bool = False, base_classes: ClassSet | None = None,
                 progress: Progress | None = None) -> ImportReport:
    """Write the labels of ``found`` into ``project`` (masks, edited masks, states, classes) as one
    transaction: the masks are staged, then committed with the class table and the images'
    states (into the project file too, when it exists); an error or a kill before the commit
    leaves the project as it was (``Project.open`` throws the staged files away). A cancelled
    import commits the files done so far. A project without classes starts from
    ``base_classes`` (the format's own list) when given.
    """
    report = ImportReport(found=len(found))
    start = project.classes if len(project.classes) else (base_classes or project.classes)
    mapper = ClassMapper(start, add_unknown)
    index = ImageIndex(project)
    backup = project.backup("import")
    staging = project.staging_folder("import")
    scratch = project.snapshot()  # the states the commit sets, worked out beside the project
    try:
        for done, item in enumerate(found, start=1):
            try:
                _import_one(scratch, item, index, mapper, replace, report, backup, staging)
            except (OSError, ValueError) as error:  # a write that failed, the class limit: this file only
                report.failed.append((item.file, str(error)))
            try:
                if progress:
                    progress(done, len(found), item.file)
            except ImportCancelled:
                report.cancelled = True
                break
        if report.imported:
            records = dict((rel, record) for rel, record in scratch.records()
                           if rel in {project.relative(image) for _label, image in report.imported})
            commit_staged(project, staging, mapper.class_set(), records)
        else:
            shutil.rmtree(staging, ignore_errors=True)  # a failed write may have left a file
    except BaseException:
        if not is_committed(project):  # the rollback; a committed change is finished on the next open
            shutil.rmtree(staging, ignore_errors=True)
        raise
    report.added_classes = list(mapper.added) if report.imported else []
    report.backup = backup.folder
    return report


def _import_one(project: Project, item: Found, index: ImageIndex, mapper: ClassMapper, replace: bool,
                report: ImportReport, backup: Backup, staging: Path) -> None:
    image, why = index.match(item.keys)
    if image is not None and image.resolve() == Path(item.file).resolve():
        image, why = None, "is itself an image of the project, not its labels"
    if image is None:
        report.unmatched.append((item.file, why + (f"; {item.hint}" if item.hint else "")))
        return
    if project.state(image) in ("corrected", "exported") and not replace:
        report.kept.append((item.file, image))
        return
    try:
        values, names = item.load()
        height, width = image_size(image)
    except (ImageReadError, OSError, ValueError, KeyError, TypeError, IndexError) as error:
        report.failed.append((item.file, str(error) or type(error).__name__))
        return
    if values.shape != (height, width):
        report.size_mismatches.append((item.file, image, f"label {values.shape[1]}x{values.shape[0]}, "
                                                          f"image {width}x{height}"))
        return
    lut, unknown = mapper.lut(names, np.unique(values), item.palette, item.background)
    if lut is None:
        for name in unknown:
            report.unknown_classes.setdefault(name, []).append(item.file)
        return
    labels = lut[values]
    project.write_masks(image, labels, labels != IGNORE_INDEX, mapper.class_set(), backup=backup, staging=staging)
    project.set_state(image, "corrected")
    report.imported.append((item.file, image))


# ------------------------------------------------------------------------------ helpers
def read_values(path: Path) -> np.ndarray:
    """An 8-bit label file's raw values (palette indices, never colours); errors name the file."""
    return read_index_mask(path)


__all__ = ["Found", "ImageIndex", "ImportCancelled", "ImportReport", "import_found", "image_size",
           "read_values"]
