"""Help ▸ Keyboard Shortcuts: a table of (action, keys) rows (``app.actions.listing`` makes
them from the window's actions). The search box keeps the rows whose action or key contains
the text.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLineEdit, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)


class ShortcutSheet(QDialog):
    """A searchable two-column table: action, shortcut."""

    def __init__(self, rows: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.search = QLineEdit(placeholderText="Search actions or keys…", clearButtonEnabled=True)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, (title, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(title))
            self.table.setItem(row, 1, QTableWidgetItem(keys or "—"))
        # Action titles are short and whole; the long fixed-key texts (the polygon's) wrap
        # in the rest of the width instead of squeezing the titles to a few letters.
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.search.textChanged.connect(self.filter)
        self.resize(680, 560)

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
