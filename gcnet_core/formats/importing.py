"""Bring labels made elsewhere into a project: match, map classes, check sizes, write.

Each format module (``voc``, ``cityscapes``, ``ade20k``, ``coco``, ``labelme``,
``png_folder``) only *finds* its label files: :class:`Found` says which project image a file
belongs to (``keys``) and how to decode it (``load`` gives values and the class names they
stand for). Everything else is common and lives here, so every format follows the same rules:

* a file matches an image by relative path (without suffix), else by a unique file stem; a
  file that matches no image, or several, is reported and left alone;
* class names go where the one mapping rule says (:mod:`gcnet_core.project.class_mapping`:
  a project class by name, spelling or synonym, a new class, unlabelled or ignore, or what was
  chosen); a source name the rule leaves undecided stops the import before anything is
  written, naming it; a name only a file reveals (a value beyond the class list) is added as a
  new class when asked, otherwise that file is reported and not imported;
  a project without a saved class table takes the format's whole class list, in its order
  (:func:`keeps_its_classes`);
* a label whose size differs from its image's is reported, never resized;
* an image a person already edited or marked done keeps its labels unless ``replace`` is asked; the label
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

from ..files.class_list import new_class_colour
from ..files.images import ImageReadError
from ..files.masks import read_index_mask
from ..files.outputs import skip_own_outputs
from ..files.probe import displayed_size
from ..model.classes import IGNORE_INDEX, ClassSet
from ..project.backups import Backup
from ..project.class_mapping import IGNORE, IGNORE_KEYS, UNLABELLED, ClassMapping, name_key, target_index
from ..project.renumber import commit_staged, is_committed
from ..project.states import has_human_work
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
    unmapped: tuple[str, ...] = ()  # source class names with no target: nothing was imported
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
        if self.unmapped:
            out.append(f"nothing imported: {len(self.unmapped)} class name(s) of the source are not classes of "
                       f"the project: {', '.join(repr(n) for n in self.unmapped)}; add them as new classes "
                       "or map each to a project class, unlabelled or ignore")
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
            out.append(f"kept: {image} already holds a person's labels; {label} not imported (ask to replace)")
        for path, reason in self.failed:
            out.append(f"unreadable: {path}: {reason}")
        if self.backup is not None:
            out.append(f"replaced label files were copied to {self.backup}")
        return out


# ------------------------------------------------------------------------------ matching
class ImageIndex:
    """The project's images by relative path without suffix and by stem (case-insensitive),
    without those in our own output folders (an export into a sub-folder: the window lists
    them not either, :func:`~gcnet_core.files.outputs.skip_own_outputs`)."""

    def __init__(self, project: Project) -> None:
        self.by_rel: dict[str, list[Path]] = {}
        self.by_stem: dict[str, list[Path]] = {}
        rels, _skipped = skip_own_outputs(project.root, [project.relative(p) for p in project.image_paths()])
        for rel_path in rels:
            image = project.root / rel_path
            rel = Path(rel_path).with_suffix("").as_posix().lower()
            self.by_rel.setdefault(rel, []).append(image)
            self.by_stem.setdefault(image.stem.lower(), []).append(image)

    def match(self, keys: Sequence[str]) -> tuple[Path | None, str]:
        """(image, "") or (None, why not). A key starting with ``/`` is exactly a path from the
        project root (labelme's imagePath), even for an image at the top."""
        for key in keys:
            if key.startswith("/"):
                hits = self.by_rel.get(key.strip("/").lower(), [])
                if len(hits) == 1:
                    return hits[0], ""
                continue
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


# ------------------------------------------------------------------------------ classes
def keeps_its_classes(project: Project) -> bool:
    """Whether an import maps onto the project's class table: once the project is saved with
    classes. A project not saved yet (the window's new folder holds the selected model's classes
    only as a proposal) or saved without classes takes the source's table, so the window and
    ``gcnet import`` build the same table from the same labels."""
    return bool(len(project.classes)) and project.path.is_file()


def starting_classes(project: Project, source_classes: ClassSet | None) -> ClassSet:
    """The class table an import starts from (:func:`keeps_its_classes`); a source's ignore
    label (datumaro's ``ignored`` category) is not a class of it: its pixels are ignore."""
    if keeps_its_classes(project) or source_classes is None or not len(source_classes):
        return project.classes
    kept = [i for i, name in enumerate(source_classes.names) if name_key(name) not in IGNORE_KEYS]
    return ClassSet(tuple(source_classes.names[i] for i in kept), tuple(source_classes.palette[i] for i in kept))


def source_class_names(found: Sequence[Found], classes: ClassSet) -> list[str]:
    """The class names a source uses, as its files declare them without decoding one: its
    background name first (labelme's ``_background_``), then its class table."""
    backgrounds = [item.background for item in found if item.background]
    return list(dict.fromkeys([*backgrounds, *classes.names]))


class ClassTable:
    """The project's class table as an import grows it, and where each source name goes in it
    (:mod:`gcnet_core.project.class_mapping`): a name the mapping does not hold (a value beyond
    the source's class list, ``value 7``) is a new class when asked, otherwise unknown."""

    def __init__(self, classes: ClassSet, mapping: ClassMapping, add_unknown: bool) -> None:
        self.names = list(classes.names)
        self.palette = list(classes.palette)
        self.mapping = mapping
        self.add_unknown = add_unknown
        self.added: list[str] = []

    def luts(self, names: Sequence[str], values: np.ndarray, palette: dict[str, tuple[int, int, int]]
             ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """For the values present: the project value of each (255: none) and whether it is a
        person's decision (a class, or ``ignore``), or the unknown names when there are some."""
        labels = np.full(256, IGNORE_INDEX, dtype=np.uint8)
        decided = np.zeros(256, dtype=bool)
        unknown = []
        for value in values.tolist():
            if value == IGNORE_INDEX:
                continue
            name = names[value] if value < len(names) else f"value {value}"
            target = self.mapping.targets.get(name, name if self.add_unknown else None)
            if target is None:
                unknown.append(name)
                continue
            if target == IGNORE:
                decided[value] = True
            elif target != UNLABELLED:
                labels[value] = self._index(target, palette.get(name) if target == name else palette.get(target))
                decided[value] = True
        return labels, decided, unknown

    def _index(self, target: str, colour: tuple[int, int, int] | None) -> int:
        index = target_index(target, self.class_set())
        return self._add(target, colour) if index is None else index

    def _add(self, name: str, colour: tuple[int, int, int] | None) -> int:
        if len(self.names) >= IGNORE_INDEX:
            raise ValueError(f"cannot add class {name!r}: a project holds at most {IGNORE_INDEX} classes")
        if colour is None:
            colour = new_class_colour(name, set(self.palette))
        self.names.append(name)
        self.palette.append(tuple(int(c) for c in colour))  # type: ignore[arg-type]
        self.added.append(name)
        return len(self.names) - 1

    def class_set(self) -> ClassSet:
        return ClassSet(tuple(self.names), tuple(self.palette))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ import
def import_found(project: Project, found: Sequence[Found], mapping: ClassMapping, classes: ClassSet,
                 add_unknown: bool = False, replace: bool = False, progress: Progress | None = None) -> ImportReport:
    """Write the labels of ``found`` into ``project`` (masks, edited masks, states, classes) as one
    transaction: the masks are staged, then committed with the class table and the images'
    states (into the project file too, when it exists); an error or a kill before the commit
    leaves the project as it was (``Project.open`` throws the staged files away). A cancelled
    import commits the files done so far. ``classes``: the table it starts from
    (:func:`starting_classes`); ``mapping``: each source class name's target. A mapping with
    undecided names imports nothing: the report names them.
    """
    report = ImportReport(found=len(found), unmapped=mapping.undecided)
    if mapping.undecided:
        return report
    table = ClassTable(classes, mapping, add_unknown)
    index = ImageIndex(project)
    backup = project.backup("import")
    staging = project.staging_folder("import")
    scratch = project.snapshot()  # the states the commit sets, worked out beside the project
    try:
        for done, item in enumerate(found, start=1):
            try:
                _import_one(scratch, item, index, table, replace, report, backup, staging)
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
            commit_staged(project, staging, table.class_set(), records)
        else:
            shutil.rmtree(staging, ignore_errors=True)  # a failed write may have left a file
    except BaseException:
        if not is_committed(project):  # the rollback; a committed change is finished on the next open
            shutil.rmtree(staging, ignore_errors=True)
        raise
    report.added_classes = list(table.added) if report.imported else []
    report.backup = backup.folder
    return report


def _import_one(project: Project, item: Found, index: ImageIndex, table: ClassTable, replace: bool,
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
        height, width = displayed_size(image)  # EXIF orientation applied
    except (ImageReadError, OSError, ValueError, KeyError, TypeError, IndexError) as error:
        report.failed.append((item.file, str(error) or type(error).__name__))
        return
    if values.shape != (height, width):
        report.size_mismatches.append((item.file, image, f"label {values.shape[1]}x{values.shape[0]}, "
                                                          f"image {width}x{height}"))
        return
    lut, decided, unknown = table.luts(names, np.unique(values), item.palette)
    if unknown:
        for name in unknown:
            report.unknown_classes.setdefault(name, []).append(item.file)
        return
    project.write_masks(image, lut[values], decided[values], table.class_set(), backup=backup, staging=staging)
    project.set_state(image, "corrected")
    report.imported.append((item.file, image))


# ------------------------------------------------------------------------------ helpers
def read_values(path: Path) -> np.ndarray:
    """An 8-bit label file's raw values (palette indices, never colours); errors name the file."""
    return read_index_mask(path)


__all__ = ["ClassTable", "Found", "ImageIndex", "ImportCancelled", "ImportReport", "import_found",
           "keeps_its_classes", "read_values", "source_class_names", "starting_classes"]
