"""Help ▸ Keyboard Shortcuts: every action of the action table with the key it has now.

The keys are read from the window's actions, not the table's defaults, so a shortcut
changed in Preferences shows as it is. The search box keeps the rows whose action or key
contains the text.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLineEdit, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from app.actions.table import ACTIONS, Actions
from app.panels.class_panel import HOTKEYS
from app.settings.shortcuts import action_title

FIXED = (("Hide the mask while held", "H"),
         ("Choose class 1 … 10", f"{HOTKEYS[0]} … {HOTKEYS[-1]}"),
         ("Pan with any tool", "Middle button drag, or Space + drag"),
         ("Zoom", "Mouse wheel"))
"""Keys that are not actions of the table (not editable in Preferences)."""


def shortcut_text(action: QAction) -> str:
    """The action's keys as the platform writes them ("" when it has none)."""
    return ", ".join(key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts())


def shortcut_rows(actions: Actions) -> list[tuple[str, str]]:
    """(action, keys) for every row of :data:`ACTIONS` in its order, then the fixed keys."""
    editable = actions.editable()
    return [(action_title(editable[spec.key]), shortcut_text(editable[spec.key])) for spec in ACTIONS] + list(FIXED)


class ShortcutSheet(QDialog):
    """A searchable two-column table: action, shortcut."""

    def __init__(self, actions: Actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.search = QLineEdit(placeholderText="Search actions or keys…", clearButtonEnabled=True)
        rows = shortcut_rows(actions)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, (title, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(title))
            self.table.setItem(row, 1, QTableWidgetItem(keys or "—"))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.search.textChanged.connect(self.filter)
        self.resize(520, 560)

    def filter(self, text: str) -> None:
        """Show only the rows whose action or shortcut contains ``text`` (any case)."""
        needle = text.strip().casefold()
        for row in range(self.table.rowCount()):
            cells = (self.table.item(row, column).text().casefold() for column in (0, 1))
            self.table.setRowHidden(row, bool(needle) and not any(needle in cell for cell in cells))

    def visible_rows(self) -> list[tuple[str, str]]:
        """(action, shortcut) of the rows shown now."""
        return [(self.table.item(row, 0).text(), self.table.item(row, 1).text())
                for row in range(self.table.rowCount()) if not self.table.isRowHidden(row)]
