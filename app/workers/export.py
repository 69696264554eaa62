"""Running an export (gcnet_core.formats.export) on a worker thread with progress and cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QThread, Signal

from gcnet_core.formats.export import ExportCancelled, export_images
from gcnet_core.project.store import Project


class ExportThread(QThread):
    """Writes files only; marking images ``exported`` is left to the UI's own Project."""

    progress = Signal(int, int, str)  # done, total, image
    succeeded = Signal(object)  # ExportReport
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, project: Project, images: list[Path], fmt: str, out: Path, split: str = "train",
                 parent=None, **options) -> None:
        super().__init__(parent)
        # A snapshot: the UI may change its project's states while the files are written.
        self.project = project.snapshot()
        self.images, self.fmt, self.out, self.split = list(images), fmt, Path(out), split
        self.options = options  # with_images, labelme_shapes, cityscapes_kinds (see export_images)
        self._cancel = False

    def cancel(self) -> None:
        self._cancel = True

    def _progress(self, done: int, total: int, image: Path) -> None:
        self.progress.emit(done, total, str(image))
        if self._cancel:
            raise ExportCancelled()

    def run(self) -> None:
        try:
            report = export_images(self.project, self.images, self.fmt, self.out, self._progress, self.split,
                                   **self.options)
        except ExportCancelled:
            self.cancelled.emit()
        except Exception as error:
            self.failed.emit(str(error) or type(error).__name__)
        else:
            self.succeeded.emit(report)
