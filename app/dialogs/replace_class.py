"""Edit ▸ Replace Class…: every pixel of one class becomes another, as one undoable step.

The common fix after a pre-segmentation that knew the object but named it wrongly everywhere
(every "armchair" should be "sofa"): one choice instead of painting each region. With 150
classes a plain list is too long to scroll, so each chooser takes typing: a few letters of the
name (anywhere in it) or its number filter the list, Enter or a click picks. Classes are
numbered from 1 with their colour, as the class list shows them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QCompleter, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from gcnet_core.model.classes import ClassSet

from app.panels.class_panel import class_title, swatch


class ClassChooser(QComboBox):
    """A class list that is also a search box: typing filters it (by any part of the name or
    the number) and text matching no class falls back to the class chosen before."""

    def __init__(self, classes: ClassSet, indices: list[int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMaxVisibleItems(15)
        for index in indices:
            self.addItem(swatch(classes.palette[index]), class_title(index, classes.names[index]), index)
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        self.lineEdit().setPlaceholderText("Type to search…")
        self.lineEdit().editingFinished.connect(self._settle)

    def choose(self, index: int) -> bool:
        """Show class ``index`` (False when it is not offered here)."""
        row = self.findData(index)
        if row >= 0:
            self.setCurrentIndex(row)
        return row >= 0

    def _settle(self) -> None:
        """Typed text that names an offered class picks it; anything else shows the choice again."""
        row = self.findText(self.currentText(), Qt.MatchFlag.MatchFixedString)
        self.setCurrentIndex(row if row >= 0 else self.currentIndex())
        self.setEditText(self.itemText(self.currentIndex()))


class ReplaceClassDialog(QDialog):
    """Replace (the classes the mask holds) / with (any other class); ``choice()`` is the
    pair of class indices. "Replace" starts on the class being painted when the mask holds
    it, "with" on that class otherwise, else on the first other class: never the same two."""

    def __init__(self, classes: ClassSet, present: set[int], current: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Replace Class")
        offered = [index for index in range(len(classes)) if index in present]  # only classes in the mask
        self.source = ClassChooser(classes, offered, self)
        self.target = ClassChooser(classes, list(range(len(classes))), self)
        self.source.choose(current)
        source = self.source.currentData()
        self.target.choose(current if current != source else 1 if source == 0 else 0)  # never the same
        form = QFormLayout(self)
        form.addRow("Replace every pixel of", self.source)
        form.addRow("with", self.target)
        form.addRow(QLabel("Type part of a name or its number to search the list.", enabled=False))
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
