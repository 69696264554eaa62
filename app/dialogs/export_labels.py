"""File ▸ Export: pick a format, which images and a folder; the export runs on a worker thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QRadioButton, QVBoxLayout,
                               QWidget)

from gcnet_core.formats.export import check_format
from gcnet_core.formats.registry import export_format, export_formats
from gcnet_core.project.store import Project

from app.workers.export import ExportThread

SCOPES = ("corrected", "labelled", "current")


def images_in_states(project: Project, *states: str) -> list[Path]:
    """Images recorded in the project file with one of ``states`` (no folder walk)."""
    return [project.root / rel for rel, record in sorted(project.records()) if record.get("state") in states]


class ExportDialog(QDialog):
    """Emits ``exported(report)`` when files were written (the window then marks states)."""

    exported = Signal(object)

    def __init__(self, project: Project, current: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export masks")
        self.project = project
        self.current = current
        self.thread: ExportThread | None = None
        self.report = None

        self.format = QComboBox()
        for fmt in export_formats():
            self.format.addItem(fmt.title, fmt.name)
            try:
                check_format(fmt.name, project.classes)
            except ValueError as error:
                item = self.format.model().item(self.format.count() - 1)
                item.setEnabled(False)
                item.setToolTip(str(error))
        self.scope_group = QButtonGroup(self)
        scope_box = QVBoxLayout()
        corrected = images_in_states(project, "corrected", "exported")
        labelled = images_in_states(project, "predicted", "edited", "corrected", "exported")
        for i, (scope, text) in enumerate((
                ("corrected", f"Images marked done ({len(corrected)})"),
                ("labelled", f"Every image with a mask, edited and pre-segmented too ({len(labelled)})"),
                ("current", f"Current image ({current.name if current else 'none'})"))):
            button = QRadioButton(text)
            button.setEnabled(scope != "current" or current is not None)
            self.scope_group.addButton(button, i)
            scope_box.addWidget(button)
        self.scope_group.button(0).setChecked(True)
        self._images = {"corrected": corrected, "labelled": labelled, "current": [current] if current else []}

        self.out = QLineEdit(str(project.root.parent / f"{project.root.name}-export"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out, 1)
        out_row.addWidget(browse)
        self.split = QLineEdit("train")
        self.with_images = QCheckBox("Copy the images too (leftImg8bit/<split>/<city>/)")
        self.labelme_shapes = QComboBox()
        self.labelme_shapes.addItem("Mask shapes (exact)", "mask")
        self.labelme_shapes.addItem("Polygons from the outlines (holes filled)", "polygon")
        self.cityscapes_kinds = QComboBox()
        self.cityscapes_kinds.addItem("All four kinds (mmsegmentation reads labelTrainIds)", "all")
        self.cityscapes_kinds.addItem("Official kinds, no labelTrainIds (datumaro reads them)", "official")
        self.progress = QProgressBar()
        self.progress.setValue(0)
        self.message = QLabel(wordWrap=True)

        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Images", scope_box)
        form.addRow("Folder", out_row)
        form.addRow("Split", self.split)
        form.addRow("Cityscapes", self.with_images)
        form.addRow("Cityscapes files", self.cityscapes_kinds)
        form.addRow("labelme shapes", self.labelme_shapes)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self._close_or_cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self._format_changed()

    # -- choices ---------------------------------------------------------------------------------
    def set_choice(self, fmt: str, scope: str = "corrected", out: Path | None = None) -> None:
        """Preset the form (tests, and the File menu's last-used values)."""
        self.format.setCurrentIndex(self.format.findData(fmt))
        self.scope_group.button(SCOPES.index(scope)).setChecked(True)
        if out is not None:
            self.out.setText(str(out))

    def _format_changed(self, _index: int = 0) -> None:
        fmt = export_format(self.format.currentData())
        self.split.setEnabled(fmt.split)
        self.with_images.setEnabled("with_images" in fmt.options)
        self.labelme_shapes.setEnabled("labelme_shapes" in fmt.options)
        self.cityscapes_kinds.setEnabled("cityscapes_kinds" in fmt.options)

    def selected_images(self) -> list[Path]:
        return self._images[SCOPES[self.scope_group.checkedId()]]

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.out.text())
        if folder:
            self.out.setText(folder)

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        images = self.selected_images()
        if not images:
            self.message.setText("No images to export in this selection.")
            return
        self.export_button.setEnabled(False)
        self.close_button.setText("Cancel")
        self.progress.setMaximum(len(images))
        self.progress.setValue(0)
        self.message.setText("Exporting…")
        self.thread = ExportThread(self.project, images, self.format.currentData(), Path(self.out.text()),
                                   self.split.text().strip() or "train", self,
                                   with_images=self.with_images.isChecked(),
                                   labelme_shapes=self.labelme_shapes.currentData(),
                                   cityscapes_kinds=self.cityscapes_kinds.currentData())
        self.thread.progress.connect(lambda done, total, _path: self.progress.setValue(done))
        self.thread.succeeded.connect(self._succeeded)
        self.thread.failed.connect(lambda message: self._ended(f"Export failed: {message}"))
        self.thread.cancelled.connect(lambda: self._ended("Export cancelled; files written so far were kept."))
        self.thread.start()

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    def _succeeded(self, report) -> None:
        self.report = report
        text = f"{len(report.written)} image(s) exported to {report.out}."
        if report.failed:
            text += f"\n{len(report.failed)} failed:\n" + "\n".join(
                f"  {Path(p).name}: {m}" for p, m in report.failed[:10])
        self._ended(text)
        self.exported.emit(report)

    def _ended(self, text: str) -> None:
        self.message.setText(text)
        self.export_button.setEnabled(True)
        self.close_button.setText("Close")

    def _close_or_cancel(self) -> None:
        if self.running:
            self.thread.cancel()
        else:
            self.accept()

    def closeEvent(self, event) -> None:
        if self.running:
            self.thread.cancel()
            self.thread.wait()
        super().closeEvent(event)
