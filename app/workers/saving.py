"""Saving masks and the project file: snapshots taken on the UI thread, written in order
on one background thread, every file atomically (temporary file, then ``os.replace``).

A crash or kill therefore leaves each file either as it was or as it was meant to be,
and the UI never waits for PNG encoding while a person paints.
"""

from __future__ import annotations

import io
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from gcnet_core.model.classes import IGNORE_INDEX, ClassSet
from gcnet_core.files.images import ImageReadError
from gcnet_core.files.masks import atomic_write_bytes, read_index_mask, write_index_mask
from gcnet_core.project.store import Project

from ..canvas import MaskDocument


@dataclass
class MaskSnapshot:
    """Copies of what to write for one image, independent of later edits."""

    label_path: Path
    edited_path: Path
    labels: np.ndarray
    edited: np.ndarray | None  # None: no edited pixels and no edited file to clear
    classes: ClassSet

    def write(self) -> None:
        write_index_mask(self.label_path, self.labels, self.classes)
        if self.edited is not None:
            atomic_write_bytes(self.edited_path, encode_edited(self.edited))


def encode_edited(edited: np.ndarray) -> bytes:
    """The edited-pixels mask as a 1-bit PNG (the project format)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(edited, dtype=bool)).save(buffer, format="PNG")
    return buffer.getvalue()


def load_document(project: Project, image: Path, shape: tuple[int, int]) -> tuple[MaskDocument, str | None]:
    """The image's saved labels and edited pixels as a document (blank when none yet).

    Returns the document and a warning when a saved file was unusable (it is then left on
    disk untouched until the next save replaces it).
    """
    classes = project.classes
    label_path, edited_path = project.label_path(image), project.edited_path(image)
    warning = None
    labels = edited = None
    if label_path.exists():
        try:
            labels = read_index_mask(label_path)
            if labels.shape != shape:
                warning = f"{label_path.name} is {labels.shape[1]}x{labels.shape[0]}, not the image's size; ignored"
                labels = None
        except ImageReadError as error:
            warning = f"the saved mask could not be read ({error.reason}); starting from an empty one"
    if labels is not None and edited_path.exists():
        try:
            edited = read_index_mask(edited_path) > 0
            if edited.shape != shape:
                edited = None
        except ImageReadError:
            edited = None
    if labels is None:
        return MaskDocument.blank(shape[0], shape[1], classes), warning
    labels = np.where(labels < len(classes), labels, IGNORE_INDEX).astype(np.uint8)
    return MaskDocument(labels, classes, edited=edited), warning


def snapshot(project: Project, image: Path, doc: MaskDocument) -> MaskSnapshot:
    edited_path = project.edited_path(image)
    any_edited = bool(doc.edited.any())
    return MaskSnapshot(project.label_path(image), edited_path, doc.labels.copy(),
                        doc.edited.copy() if any_edited or edited_path.exists() else None, project.classes)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], None], signals: "SerialWriter") -> None:
        super().__init__()
        self.fn, self.signals = fn, signals

    def run(self) -> None:
        try:
            self.fn()
        except Exception as error:  # a full disk or a permission problem: tell, do not crash
            traceback.print_exc()
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
        copy = Project(project.root, project.classes, project.model,
                       {rel: dict(record) for rel, record in project.records()})
        self.submit(copy.save)

    def flush(self, timeout_ms: int = 30000) -> bool:
        """Wait until everything submitted is on disk (closing, exporting, batch start)."""
        return self.pool.waitForDone(timeout_ms)

