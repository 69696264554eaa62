"""File ▸ Import Labels: bring a VOC, Cityscapes, ADE20K, COCO, labelme or PNG folder's labels in.

The import itself (:func:`gcnet_core.formats.label_import.import_labels`) runs on the window's
serial writer, ordered with every other write, on a snapshot of the project; the dialog then
emits ``imported(report, snapshot)`` and the window takes the new states and classes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLineEdit, QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from gcnet_core.formats.importing import ImportCancelled
from gcnet_core.formats.label_import import guess_format, import_labels
from gcnet_core.formats.registry import import_format, import_formats
from gcnet_core.project.store import Project

from app.workers.tasks import run_in_pool


class _Progress(QObject):
    """Carries the worker's progress to the UI thread (queued signal)."""

    advanced = Signal(int, int, str)


class ImportDialog(QDialog):
    """Source, format and options; progress while it runs; the report when done."""

    imported = Signal(object, object)  # ImportReport, the snapshot Project it was written for

    def __init__(self, project: Project, pool: QThreadPool | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import labels")
        self.setModal(True)  # no editing while masks are replaced underneath
        self.project = project
        self.pool = pool
        self.report = None
        self._task = None
        self._cancel = False
        self._signals = _Progress(self)
        self._signals.advanced.connect(self._advanced)

        self.source = QLineEdit()
        self.source.textChanged.connect(self._source_changed)
        folder = QPushButton("Folder…")
        folder.clicked.connect(self._browse_folder)
        file = QPushButton("File…")
        file.clicked.connect(self._browse_file)
        source_row = QHBoxLayout()
        source_row.addWidget(self.source, 1)
        source_row.addWidget(folder)
        source_row.addWidget(file)
        self.format = QComboBox()
        for fmt in import_formats():
            self.format.addItem(fmt.import_label, fmt.name)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.split = QLineEdit()
        self.split.setPlaceholderText("all (or e.g. train, val, aug)")
        self.class_list = QLineEdit()
        self.class_list.setPlaceholderText("SOURCE/classes.txt")
        self.add_classes = QCheckBox("Add class names this project lacks as new classes")
        self.add_classes.setChecked(True)
        self.replace = QCheckBox("Also replace labels of images already corrected (the old files are backed up)")
        self.progress = QProgressBar()
        self.progress.setValue(0)
        self.report_view = QPlainTextEdit(readOnly=True)
        self.report_view.setPlaceholderText("The report lists every file that matched no image, every unknown "
                                            "class and every size mismatch.")

        form = QFormLayout()
        form.addRow("Labels", source_row)
        form.addRow("Format", self.format)
        form.addRow("Split", self.split)
        form.addRow("Class list", self.class_list)
        form.addRow("", self.add_classes)
        form.addRow("", self.replace)
        self.buttons = QDialogButtonBox()
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.import_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self._close_or_cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.report_view, 1)
        layout.addWidget(self.buttons)
        self._format_changed()

    # -- choices -------------------------------------------------------------------------------
    def _source_changed(self, text: str) -> None:
        fmt = guess_format(text.strip()) if text.strip() else None  # stat calls only, a few at most
        if fmt is not None:
            self.format.setCurrentIndex(self.format.findData(fmt))

    def _format_changed(self, _index: int = 0) -> None:
        fmt = import_format(self.format.currentData())
        self.class_list.setEnabled("class_list" in fmt.options)
        self.split.setEnabled(fmt.split)

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Labels folder", self.source.text() or str(self.project.root))
        if folder:
            self.source.setText(folder)

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "COCO or labelme JSON file", self.source.text()
                                              or str(self.project.root), "JSON (*.json)")
        if path:
            self.source.setText(path)

    # -- running -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        source = self.source.text().strip()
        if not source:
            self.report_view.setPlainText("Choose the labels folder or file first.")
            return
        snapshot = self.project.snapshot()
        options = dict(split=self.split.text().strip() or None if self.split.isEnabled() else None,
                       class_list=self.class_list.text().strip() or None if self.class_list.isEnabled() else None,
                       add_unknown=self.add_classes.isChecked(), replace=self.replace.isChecked())
        fmt = self.format.currentData()
        self._cancel = False
        self.import_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.progress.setMaximum(0)  # busy until the files are found
        self.report_view.setPlainText(f"Importing {import_format(fmt).import_label} from {source}…")

        def work():
            return import_labels(snapshot, fmt, source, progress=self._progress, **options)

        self._task = run_in_pool(work, lambda report: self._done(report, snapshot), self._failed, pool=self.pool)

    def _progress(self, done: int, total: int, path: Path) -> None:  # on the worker thread
        self._signals.advanced.emit(done, total, str(path))
        if self._cancel:
            raise ImportCancelled()

    def _advanced(self, done: int, total: int, _path: str) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)

    def _done(self, report, snapshot: Project) -> None:
        self._task = None
        self.report = report
        self.progress.setMaximum(max(1, len(report.imported)))
        self.progress.setValue(max(1, len(report.imported)))
        self.report_view.setPlainText("\n".join(report.lines()))
        self._ended()
        self.imported.emit(report, snapshot)

    def _failed(self, message: str) -> None:
        self._task = None
        self.progress.setMaximum(1)
        self.progress.setValue(0)
        self.report_view.setPlainText(f"Import failed: {message}")
        self._ended()

    def _ended(self) -> None:
        self.import_button.setEnabled(True)
        self.close_button.setText("Close")

    def _close_or_cancel(self) -> None:
        if self.running:
            self._cancel = True
        else:
            self.accept()

    def closeEvent(self, event) -> None:
        if self.running:
            self._cancel = True
            event.ignore()  # it stops at the next file; then the dialog can close
            return
        super().closeEvent(event)
