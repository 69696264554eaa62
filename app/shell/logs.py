"""The log file, and the last resort for errors nobody caught.

A desktop app has no terminal to print tracebacks to: they go into a rotating file in the
user log folder, and an unexpected error shows a dialog naming that file while the window
keeps running (PySide reports exceptions raised in slots through ``sys.excepthook``, worker
threads through ``threading.excepthook``).
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QMessageBox

from gcnet_core.paths import APP_NAME, log_folder

LOG_FILE = f"{APP_NAME}.log"
MAX_BYTES = 1_000_000
BACKUPS = 3

log = logging.getLogger("gcnet_annotator")


def setup_logging(folder: Path | str | None = None, level: int = logging.INFO) -> Path:
    """Send the root logger to ``folder/gcnet-annotator.log`` (1 MB, 3 old files kept);
    calling it again with the same folder adds nothing. Returns the file's path."""
    folder = Path(folder) if folder is not None else log_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOG_FILE
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path.resolve():
            return path
    handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    return path


def open_log_folder(folder: Path | None = None) -> bool:
    """Show the log folder in the desktop's file manager."""
    folder = folder or log_folder()
    folder.mkdir(parents=True, exist_ok=True)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class ErrorReporter(QObject):
    """``sys.excepthook`` and ``threading.excepthook``: log the traceback, then show a dialog.

    The dialog is opened from the event loop (a queued signal), never inside the code that
    failed nor from a worker thread; while it is open, further errors are only counted.
    ``dialog`` is the box on screen (tests close it).
    """

    reported = Signal(str, str)  # message, traceback

    def __init__(self, log_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.log_path = Path(log_path)
        self.dialog: QMessageBox | None = None
        self.more = 0
        self._previous = None
        self.reported.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> "ErrorReporter":
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self.handle
        threading.excepthook = self._thread_hook
        return self

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous
            self._previous = None

    def handle(self, kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt) or QApplication.instance() is None:
            (self._previous[0] if self._previous else sys.__excepthook__)(kind, value, tb)
            if QApplication.instance() is None:
                log.error("Unexpected error before the window", exc_info=(kind, value, tb))
            return
        log.error("Unexpected error", exc_info=(kind, value, tb))
        message = "".join(traceback.format_exception_only(kind, value)).strip()
        self.reported.emit(message, "".join(traceback.format_exception(kind, value, tb)))

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        self.handle(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, message: str, details: str) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.more += 1
            self.dialog.setInformativeText(self._informative())
            return
        self.more = 0
        box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error",
                          f"Something went wrong:\n\n{message}", QMessageBox.StandardButton.Close,
                          QApplication.activeWindow())
        box.setInformativeText(self._informative())
        box.setDetailedText(details)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        open_button = box.addButton("Open Log Folder", QMessageBox.ButtonRole.ActionRole)
        open_button.clicked.connect(lambda: open_log_folder(self.log_path.parent))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(self._forget)
        self.dialog = box
        box.open()

    def _forget(self) -> None:
        self.dialog = None

    def _informative(self) -> str:
        more = f"\n\n{self.more} more error(s) since; see the log." if self.more else ""
        return ("GCNet Annotator keeps running; masks already saved are safe. "
                f"The details are in the log file:\n{self.log_path}{more}")
