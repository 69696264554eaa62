"""File ▸ Import Labels: bring a VOC, Cityscapes, ADE20K, COCO, labelme or PNG folder's labels in.

As the source is typed, a pool thread finds its labels and class names
(:func:`gcnet_core.formats.label_import.plan_import`) and the class table shows where each
name goes (the one mapping rule, or the choice remembered from the last import of that
source); each row's combo changes it. The import takes the rows as they are, so the dialog
and ``gcnet import --map`` build the same class table.

The import itself (:func:`gcnet_core.formats.label_import.import_labels`) runs on the window's
serial writer, ordered with every other write, on a snapshot of the project; the dialog then
emits ``imported(report, snapshot)`` and the window takes the new states and classes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout, QWidget)

from gcnet_core.formats.importing import ImportCancelled
from gcnet_core.formats.label_import import ImportPlan, guess_format, import_labels, plan_import
from gcnet_core.formats.registry import import_format, import_formats
from gcnet_core.project.store import Project

from app.panels.mapping_table import MappingTable
from app.workers.tasks import run_in_pool

PLAN_DELAY_MS = 300  # the source is looked at once typing pauses


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
        self.format.currentIndexChanged.connect(self._plan_later)
        self.split = QLineEdit()
        self.split.setPlaceholderText("all (or e.g. train, val, aug)")
        self.class_list = QLineEdit()
        self.class_list.setPlaceholderText("SOURCE/classes.txt")
        self.add_classes = QCheckBox("Add class names this project lacks as new classes")
        self.add_classes.setChecked(True)
        self.add_classes.toggled.connect(self._plan_later)
        self.split.textChanged.connect(self._plan_later)
        self.class_list.textChanged.connect(self._plan_later)
        self.mapping_status = QLabel("Classes: choose the labels first")
        self.mapping_status.setToolTip("What each class name of the source becomes in this project")
        self.mapping_status.setWordWrap(True)  # a long reason wraps; two lines are kept for it
        self.mapping_status.setMinimumHeight(2 * self.mapping_status.fontMetrics().lineSpacing() + 4)
        self.mapping = MappingTable()
        self.plan: ImportPlan | None = None  # the plan the table shows, for the inputs of _plan_inputs()
        self._plan_for: tuple | None = None
        self._plan_timer = QTimer(self, singleShot=True, interval=PLAN_DELAY_MS)
        self._plan_timer.timeout.connect(self._find_classes)
        self.replace = QCheckBox("Also replace labels of images a person edited or marked done "
                                 "(the old files are backed up)")
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
        layout.addWidget(self.mapping_status)
        layout.addWidget(self.mapping, 3)
        layout.addWidget(self.progress)
        layout.addWidget(self.report_view, 1)
        layout.addWidget(self.buttons)
        self._format_changed()
        self.resize(720, 640)  # room for the class table; the window's screen holds it (1366 x 768 too)

    # -- choices -------------------------------------------------------------------------------
    def _source_changed(self, text: str) -> None:
        fmt = guess_format(text.strip()) if text.strip() else None  # stat calls only, a few at most
        if fmt is not None:
            self.format.setCurrentIndex(self.format.findData(fmt))
        self._plan_later()

    # -- the class table -----------------------------------------------------------------------
    def _plan_inputs(self) -> tuple:
        return (self.source.text().strip(), self.format.currentData(),
                self.split.text().strip() or None if self.split.isEnabled() else None,
                self.class_list.text().strip() or None if self.class_list.isEnabled() else None,
                self.add_classes.isChecked())

    def _plan_later(self, *_args) -> None:
        self._plan_timer.start()

    def _find_classes(self) -> None:
        """Find the source's labels and class names off the UI thread (a folder of JSON files
        is read whole); the newest request's answer fills the table."""
        inputs = self._plan_inputs()
        source, fmt, split, class_list, add_unknown = inputs
        if not source:
            return
        self._plan_for, self.plan = inputs, None  # the rows shown are not these inputs' until the answer
        self.mapping_status.setText(f"Classes: looking at {source}…")
        snapshot = self.project.snapshot()

        def work():
            try:
                return plan_import(snapshot, fmt, source, split=split, class_list=class_list,
                                   add_unknown=add_unknown)
            except (OSError, ValueError) as error:  # a path half typed, another layout: said, not logged
                return str(error) or type(error).__name__

        run_in_pool(work, lambda plan: self._planned(inputs, plan), lambda message: self._planned(inputs, message))

    def _planned(self, inputs: tuple, plan: ImportPlan | str) -> None:
        """``plan``, or why there is none."""
        if inputs != self._plan_for or inputs != self._plan_inputs():
            return  # an older request, or the inputs changed since
        if isinstance(plan, str):
            self.mapping.setRowCount(0)
            self.mapping_status.setText(f"Classes: {plan}")
            return
        self.plan = plan
        self.mapping.set_mapping(plan.mapping, plan.classes)
        undecided = len(plan.mapping.undecided)
        self.mapping_status.setText(f"Classes: {len(plan.found)} label file(s), {len(plan.mapping.names)} class "
                                    "name(s)" + (f", {undecided} still to choose" if undecided else ""))

    def table_ready(self) -> bool:
        """Whether the table shows the current inputs (tests wait for it)."""
        return self.plan is not None and self._plan_for == self._plan_inputs() and not self._plan_timer.isActive()

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
        if self.table_ready() and self.mapping.undecided():
            self.report_view.setPlainText("Choose what these classes become first: "
                                          + ", ".join(self.mapping.undecided()))
            return
        snapshot = self.project.snapshot()
        options = dict(split=self.split.text().strip() or None if self.split.isEnabled() else None,
                       class_list=self.class_list.text().strip() or None if self.class_list.isEnabled() else None,
                       add_unknown=self.add_classes.isChecked(), replace=self.replace.isChecked(),
                       chosen=self.mapping.choices() if self.table_ready() else None)
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
        self._plan_later()  # the project's classes may have grown: the table follows

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
