"""Edit ▸ Replace Class…: every pixel of one class becomes another, as one undoable step.

The common fix after a pre-segmentation that knew the object but named it wrongly everywhere
(every "armchair" should be "sofa"): one choice instead of painting each region.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QWidget

from gcnet_core.model.classes import ClassSet


class ReplaceClassDialog(QDialog):
    """Two class lists (replace / with); ``choice()`` is the pair of class indices."""

    def __init__(self, classes: ClassSet, present: set[int], current: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Replace Class")
        self.source = QComboBox()
        self.target = QComboBox()
        for index, name in enumerate(classes.names):
            if index in present:  # only classes the mask holds can be replaced
                self.source.addItem(f"{index}: {name}", index)
            self.target.addItem(f"{index}: {name}", index)
        if self.source.findData(current) >= 0:
            self.source.setCurrentIndex(self.source.findData(current))
        self.target.setCurrentIndex(max(0, self.target.findData(current)))
        form = QFormLayout(self)
        form.addRow("Replace every pixel of", self.source)
        form.addRow("with", self.target)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self.source.currentIndexChanged.connect(self._update_ok)
        self.target.currentIndexChanged.connect(self._update_ok)
        self._update_ok()

    def choice(self) -> tuple[int, int]:
        return int(self.source.currentData()), int(self.target.currentData())

    def _update_ok(self) -> None:
        ok = self.source.count() > 0 and self.source.currentData() != self.target.currentData()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
