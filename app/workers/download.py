"""Fetching a missing zoo checkpoint in the background, with progress and cancel."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import QProgressDialog

from gcnet_core.weights.download import CheckpointError, DownloadError, ensure_checkpoint
from gcnet_core.weights.zoo import ZooEntry

log = logging.getLogger("gcnet_annotator.download")


@dataclass(frozen=True)
class DownloadFailure:
    """Why a checkpoint could not be fetched, in parts a window can word for a person (the
    command line's recipe stays in the log's message)."""

    entry: ZooEntry
    reason: str  # "no network here", "HTTP 404 Not Found", a checksum mismatch
    url: str  # where the file is, to fetch it on another computer
    kept: int = 0  # bytes of a partial download kept: the next try resumes

    @classmethod
    def of(cls, entry: ZooEntry, error: Exception) -> DownloadFailure:
        if isinstance(error, DownloadError):
            return cls(entry, error.reason or str(error), error.url or entry.checkpoint_url, error.kept)
        text = str(error) if isinstance(error, CheckpointError) else f"{type(error).__name__}: {error}"
        return cls(entry, text, entry.checkpoint_url)


class DownloadCancelled(Exception):
    """Raised from the progress callback to stop a download; the ``.part`` file is kept."""


class DownloadThread(QThread):
    """Runs :func:`ensure_checkpoint` (resumable, hash-checked) off the UI thread.

    Emits ``progress(done, total-or-None)`` while bytes arrive, then exactly one of
    ``succeeded(path)``, ``failed(DownloadFailure)`` or ``cancelled()``.
    """

    progress = Signal(object, object)
    succeeded = Signal(str)
    failed = Signal(object)  # DownloadFailure
    cancelled = Signal()

    def __init__(self, entry: ZooEntry, parent=None) -> None:
        super().__init__(parent)
        self.entry = entry
        self._cancel = False

    def cancel(self) -> None:
        self._cancel = True

    def _progress(self, done: int, total: int | None) -> None:
        if self._cancel:
            raise DownloadCancelled()
        self.progress.emit(done, total)

    def run(self) -> None:
        try:
            path = ensure_checkpoint(self.entry, progress=self._progress)
        except DownloadCancelled:
            self.cancelled.emit()
        except Exception as error:  # offline, a checksum mismatch, anything: a message, not a crash
            log.warning("%s", error)  # the command line's full text, for the log file
            self.failed.emit(DownloadFailure.of(self.entry, error))
        else:
            self.succeeded.emit(str(path))


class DownloadDialog(QProgressDialog):
    """A progress dialog with Cancel around a :class:`DownloadThread`.

    Emits ``done(path)`` on success, ``failed(DownloadFailure)`` or ``cancelled()``; it
    closes itself in every case.
    """

    done = Signal(str)
    failed = Signal(object)  # DownloadFailure
    cancelled = Signal()

    def __init__(self, entry: ZooEntry, parent=None) -> None:
        super().__init__(f"Downloading the checkpoint of {entry.name}…", "Cancel", 0, 0, parent)
        self.setWindowTitle("Downloading model")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.entry = entry
        self.thread = DownloadThread(entry, self)
        self.thread.progress.connect(self._progress)
        self.thread.succeeded.connect(self._succeeded)
        self.thread.failed.connect(self._failed)
        self.thread.cancelled.connect(self._cancelled)
        self.canceled.connect(self.thread.cancel)

    def start(self) -> None:
        self.show()
        self.thread.start()

    def _progress(self, done: int, total: int | None) -> None:
        mib = 1 << 20
        if total:
            self.setMaximum(1000)
            self.setValue(int(1000 * done / total))
            self.setLabelText(f"Downloading {self.entry.checkpoint_filename}\n{done / mib:.0f} of {total / mib:.0f} MiB")
        else:
            self.setLabelText(f"Downloading {self.entry.checkpoint_filename}\n{done / mib:.0f} MiB")

    def _finish(self) -> None:
        self.thread.wait()
        self.close()
        self.deleteLater()

    def _succeeded(self, path: str) -> None:
        self._finish()
        self.done.emit(path)

    def _failed(self, failure: DownloadFailure) -> None:
        self._finish()
        self.failed.emit(failure)

    def _cancelled(self) -> None:
        self._finish()
        self.cancelled.emit()
