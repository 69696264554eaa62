"""Saving masks and the project file: snapshots taken on the UI thread, written in order
on one background thread by the project (:meth:`Project.write_masks`, :meth:`Project.save`),
every file atomically (temporary file, then ``os.replace``).

A crash or kill therefore leaves each file either as it was or as it was meant to be,
and the UI never waits for PNG encoding while a person paints.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from gcnet_core.files.images import ImageReadError
from gcnet_core.model.classes import IGNORE_INDEX, ClassSet
from gcnet_core.project.backups import Backup
from gcnet_core.project.document import MaskDocument
from gcnet_core.project.store import Project

log = logging.getLogger("gcnet_annotator.saving")


@dataclass
class MaskSnapshot:
    """Copies of what to write for one image, independent of later edits."""

    project: Project
    image: Path | str
    labels: np.ndarray
    edited: np.ndarray | None  # None: no edited pixels and no edited file to clear
    classes: ClassSet

    def write(self) -> None:
        self.project.write_masks(self.image, self.labels, self.edited, self.classes)


def snapshot(project: Project, image: Path, doc: MaskDocument) -> MaskSnapshot:
    """What to write for the document of ``image``. Without edited pixels an edited-pixels file
    from before is cleared, and none is made anew."""
    edited = doc.edited.copy() if doc.edited.any() or project.edited_path(image).exists() else None
    return MaskSnapshot(project, image, doc.labels.copy(), edited, project.classes)


@dataclass
class LoadedMasks:
    """An image's document and what the person should be told about its files."""

    document: MaskDocument
    warning: str | None = None  # a file could not be used (it was moved to the backups)
    unknown: dict[int, int] | None = None  # values outside the class table -> pixel count
    moved: list[Path] = field(default_factory=list)  # unusable files moved to the backups


def load_document(project: Project, image: Path, shape: tuple[int, int]) -> tuple[MaskDocument, str | None]:
    """The image's saved labels and edited pixels as a document (blank when none yet).

    Nothing a person drew is lost: values outside the class table are kept (and named in the
    warning), and a file that cannot be used (another size, a colour image, damaged) is moved
    to the project's backups folder before the blank document that replaces it can be saved.
    Returns the document and a warning for the person, or None.
    """
    loaded = load_masks(project, image, shape)
    return loaded.document, loaded.warning


def load_masks(project: Project, image: Path, shape: tuple[int, int]) -> LoadedMasks:
    """:func:`load_document` with the unknown values counted separately."""
    classes = project.classes
    label_path, edited_path = project.label_path(image), project.edited_path(image)
    backup = project.backup("unusable")
    notes: list[str] = []
    moved: list[Path] = []
    labels = edited = None
    if label_path.exists():
        labels, problem = _read_mask(project.read_labels, image, shape)
        if problem:
            notes.append(_move_aside(project, backup, label_path, problem, moved))
    if edited_path.exists():
        edited, problem = _read_mask(project.read_edited, image, shape)
        if problem is None and labels is None and label_path.exists() is False and notes:
            problem = "its labels could not be used"  # they went to the backups: it follows them
        if problem:
            notes.append(_move_aside(project, backup, edited_path, problem, moved))
            edited = None
    unknown = None
    if labels is not None:
        values, counts = np.unique(labels, return_counts=True)
        unknown = {int(v): int(c) for v, c in zip(values, counts) if len(classes) <= v < IGNORE_INDEX} or None
        if unknown:
            shown = ", ".join(f"{v} ({c} px)" for v, c in list(unknown.items())[:6])
            notes.append(f"{label_path.name} has values outside the {len(classes)} classes: {shown}. They are kept "
                         "and shown as 'unknown class N': add classes or paint over them")
    warning = " ".join(notes) or None
    if labels is None:
        return LoadedMasks(MaskDocument.blank(shape[0], shape[1], classes), warning, None, moved)
    return LoadedMasks(MaskDocument(labels, classes, edited=edited), warning, unknown, moved)


def _read_mask(read: Callable[[Path], np.ndarray], image: Path, shape: tuple[int, int]
               ) -> tuple[np.ndarray | None, str | None]:
    """(the mask ``read`` gives for ``image``, None) or (None, why it cannot be used)."""
    try:
        mask = read(image)
    except ImageReadError as error:
        return None, error.reason
    if mask.shape != shape:
        return None, f"it is {mask.shape[1]}x{mask.shape[0]}, not the image's {shape[1]}x{shape[0]}"
    return mask, None


def _move_aside(project: Project, backup: Backup, path: Path, problem: str, moved: list[Path]) -> str:
    """Move an unusable mask into the backups before anything can be written in its place."""
    try:
        kept = backup.keep(path, move=True)
    except OSError as error:
        raise OSError(f"{path.name} cannot be used ({problem}) and could not be moved to the backups "
                      f"folder ({error.strerror or error}); it was left untouched and the image not opened") from error
    log.warning("moved unusable mask %s to %s: %s", path, kept, problem)
    moved.append(kept)
    return (f"{path.name} could not be used ({problem}); it was moved to "
            f"{kept.relative_to(project.root).as_posix()} and the image starts from an empty mask.")


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], None], signals: "SerialWriter") -> None:
        super().__init__()
        self.fn, self.signals = fn, signals

    def run(self) -> None:
        try:
            self.fn()
        except Exception as error:  # a full disk or a permission problem: tell, do not crash
            log.exception("a write failed")  # the traceback goes to the log file
            self.signals.failed.emit(str(error) or type(error).__name__)
        else:
            self.signals.written.emit()


class SerialWriter(QObject):
    """One background thread that runs write jobs strictly in submission order."""

    written = Signal()
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # order matters: a newer mask must land last

    def submit(self, fn: Callable[[], None]) -> None:
        self.pool.start(_Job(fn, self))

    def save_mask(self, snap: MaskSnapshot) -> None:
        self.submit(snap.write)

    def save_project(self, project: Project) -> None:
        """Write a copy of the project as it is now (later state changes wait for the next save)."""
        self.submit(project.snapshot().save)

    def flush(self, timeout_ms: int = 30000) -> bool:
        """Wait until everything submitted is on disk (closing, exporting, batch start)."""
        return self.pool.waitForDone(timeout_ms)

