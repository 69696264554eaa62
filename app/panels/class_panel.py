"""The class panel: the project's classes with swatch, name, pixel share, hotkey, visibility.

The panel only shows and asks; the window owns the class set and applies renames,
additions and removals to the project (they touch files).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import (QAbstractTableModel, QEvent, QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt,
                            Signal)
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QColorDialog, QDockWidget, QHBoxLayout, QHeaderView, QInputDialog,
                               QLineEdit, QMenu, QTableView, QToolButton, QVBoxLayout, QWidget)

from gcnet_core.model.classes import ClassSet

HOTKEYS = "1234567890"
ClassIndexRole = Qt.ItemDataRole.UserRole + 1


def class_title(index: int, name: str) -> str:
    """How a class is named with its number everywhere (list, dialogs, tool bar): from 1, as
    the hotkeys 1-9, 0 count."""
    return f"{index + 1}  {name}"


def swatch(rgb: tuple[int, int, int], size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(*rgb))
    return QIcon(pixmap)


class ClassTableModel(QAbstractTableModel):
    """Columns: visible + swatch + name (editable), share of the image, hotkey."""

    COLUMNS = ("Class", "Share", "Key")
    renamed = Signal(int, str)
    visibilityToggled = Signal(int, bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.classes = ClassSet((), ())
        self.shares = np.zeros(0)
        self.visible: list[bool] = []
        self._icons: list[QIcon] = []

    def set_classes(self, classes: ClassSet) -> None:
        self.beginResetModel()
        keep = len(self.visible) == len(classes) and self.classes.names == classes.names
        self.classes = classes
        self.visible = self.visible if keep else [True] * len(classes)
        self.shares = np.zeros(len(classes))
        self._icons = [swatch(rgb) for rgb in classes.palette]
        self.endResetModel()

    def set_shares(self, shares: np.ndarray | None) -> None:
        self.shares = np.zeros(len(self.classes)) if shares is None else np.asarray(shares, dtype=float)
        if len(self.classes):
            self.dataChanged.emit(self.index(0, 1), self.index(len(self.classes) - 1, 1))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.classes)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def flags(self, index: QModelIndex):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            base |= Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == ClassIndexRole:
            return row
        if column == 0:
            if role == Qt.ItemDataRole.DisplayRole:
                return class_title(row, self.classes.names[row])
            if role == Qt.ItemDataRole.EditRole:
                return self.classes.names[row]
            if role == Qt.ItemDataRole.DecorationRole:
                return self._icons[row]
            if role == Qt.ItemDataRole.CheckStateRole:
                return Qt.CheckState.Checked if self.visible[row] else Qt.CheckState.Unchecked
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"class {row + 1}: {self.classes.names[row]} — RGB {self.classes.palette[row]}"
        elif column == 1:
            share = float(self.shares[row]) if row < len(self.shares) else 0.0
            if role == Qt.ItemDataRole.DisplayRole:
                return "" if share == 0 else ("<0.1%" if share < 0.001 else f"{share:.1%}")
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if role == Qt.ItemDataRole.UserRole:
                return share
        elif column == 2 and role == Qt.ItemDataRole.DisplayRole:
            return HOTKEYS[row] if row < len(HOTKEYS) else ""
        return None

    def setData(self, index: QModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != 0:
            return False
        row = index.row()
        if role == Qt.ItemDataRole.CheckStateRole:
            self.visible[row] = Qt.CheckState(value) == Qt.CheckState.Checked
            self.dataChanged.emit(index, index, [role])
            self.visibilityToggled.emit(row, self.visible[row])
            return True
        if role == Qt.ItemDataRole.EditRole:
            name = str(value).strip()
            if name and name != self.classes.names[row]:
                self.renamed.emit(row, name)  # the window applies it and calls set_classes
            return bool(name)
        return False


class ClassPanel(QDockWidget):
    """Pick the current class (click or 1-9/0), search, toggle visibility, edit the class set.

    The search box filters while typing; Enter picks the first match and Esc gives up, both
    handing the keyboard back (``searchDone``); a digit typed into the empty box is the
    class hotkey, as everywhere else. A right-click offers rename, colour, hide, "show
    only this class" (its pixels alone on the canvas) and "paint only over this class" (the
    tools change its pixels only).
    """

    currentClassChanged = Signal(int)
    visibilityChanged = Signal(int, bool)
    renameRequested = Signal(int, str)
    addRequested = Signal(str, tuple)
    removeRequested = Signal(int)
    colourRequested = Signal(int, tuple)
    onlyOverRequested = Signal(int)  # restrict the tools to this class's pixels
    searchDone = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__("Classes", parent)
        self.setObjectName("classes")
        self.model = ClassTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.model.renamed.connect(self.renameRequested)
        self.model.visibilityToggled.connect(self.visibilityChanged)

        self.search = QLineEdit(placeholderText="Search classes…", clearButtonEnabled=True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.search.installEventFilter(self)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setShowGrid(False)
        self.table.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.context_menu: QMenu | None = None  # the last one shown (tests pick its actions)

        add = QToolButton(text="+", toolTip="Add a class to this project")
        remove = QToolButton(text="−", toolTip="Remove the selected class (its pixels become ignore)")
        rename = QToolButton(text="Rename", toolTip="Rename the selected class (or double-click its name)")
        add.clicked.connect(self._ask_add)
        remove.clicked.connect(self._ask_remove)
        rename.clicked.connect(self._ask_rename)
        buttons = QHBoxLayout()
        buttons.addWidget(self.search, 1)
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addWidget(rename)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        self.setWidget(body)
        self._current = 0

    # -- API ----------------------------------------------------------------------------
    @property
    def classes(self) -> ClassSet:
        return self.model.classes

    def set_classes(self, classes: ClassSet) -> None:
        current = self._current
        self.model.set_classes(classes)
        self.set_current(min(current, len(classes) - 1) if len(classes) else 0, emit=True)

    def set_shares(self, shares: np.ndarray | None) -> None:
        self.model.set_shares(shares)

    def current(self) -> int:
        return self._current

    def set_current(self, index: int, emit: bool = True) -> None:
        if not 0 <= index < len(self.model.classes):
            return
        self._current = index
        proxy_index = self.proxy.mapFromSource(self.model.index(index, 0))
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        if proxy_index.isValid():  # the current index moves too: one highlighted row, never two
            selection.setCurrentIndex(proxy_index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                      | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(proxy_index)
        else:
            selection.clear()
        selection.blockSignals(False)
        self.table.viewport().update()
        if emit:
            self.currentClassChanged.emit(index)

    def is_visible(self, index: int) -> bool:
        return self.model.visible[index]

    def set_visible(self, index: int, visible: bool) -> None:
        self.model.setData(self.model.index(index, 0),
                           Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked,
                           Qt.ItemDataRole.CheckStateRole)

    def show_only(self, index: int) -> None:
        """Hide every class but ``index`` (its pixels alone stay coloured on the canvas)."""
        for i in range(len(self.model.classes)):
            if self.is_visible(i) != (i == index):
                self.set_visible(i, i == index)

    def show_all(self) -> None:
        for i in range(len(self.model.classes)):
            if not self.is_visible(i):
                self.set_visible(i, True)

    # -- search box -----------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            key, text = event.key(), event.text()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self.proxy.rowCount():
                    self.set_current(self.proxy.mapToSource(self.proxy.index(0, 0)).row())
                self._leave_search()
                return True
            if key == Qt.Key.Key_Escape:
                self._leave_search()
                return True
            if not self.search.text() and text and text in HOTKEYS and not event.modifiers() & ~(
                    Qt.KeyboardModifier.KeypadModifier):
                self.set_current(HOTKEYS.index(text))
                self._leave_search()
                return True
        return super().eventFilter(watched, event)

    def _leave_search(self) -> None:
        self.search.clear()  # every class is listed again: the chosen one scrolls into view
        self.table.updateGeometries()  # the scroll range of the whole list, before scrolling in it
        self.set_current(self._current, emit=False)
        self.searchDone.emit()

    def focus_search(self) -> None:
        """Put the keyboard in the search box (the tool bar's class button)."""
        self.show()
        self.search.setFocus()

    # -- dialogs -------------------------------------------------------------------------
    def _context_menu(self, pos) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        row = self.proxy.mapToSource(index).row()
        self.set_current(row)
        name = self.model.classes.names[row]
        menu = QMenu(self)
        menu.addAction(f"Rename “{name}”…", self._ask_rename)
        menu.addAction("Change colour…", lambda: self._ask_colour(row))
        visible = self.is_visible(row)
        menu.addAction("Hide" if visible else "Show", lambda: self.set_visible(row, not visible))
        menu.addAction("Show only this class", lambda: self.show_only(row))
        menu.addAction("Show all classes", self.show_all)
        menu.addAction("Paint only over this class", lambda: self.onlyOverRequested.emit(row))
        menu.addSeparator()
        menu.addAction(f"Remove “{name}”…", self._ask_remove)
        self.context_menu = menu
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _ask_colour(self, row: int) -> None:
        colour = QColorDialog.getColor(QColor(*self.model.classes.palette[row]), self,
                                       f"Colour of {self.model.classes.names[row]}")
        if colour.isValid():
            self.colourRequested.emit(row, (colour.red(), colour.green(), colour.blue()))

    def _row_changed(self, current, _previous) -> None:
        if current.isValid():
            index = self.proxy.mapToSource(current).row()
            if index != self._current:
                self._current = index
                self.currentClassChanged.emit(index)

    def _ask_add(self) -> None:
        name, ok = QInputDialog.getText(self, "Add class", "Name of the new class:")
        if not ok or not name.strip():
            return
        colour = QColorDialog.getColor(QColor(255, 128, 0), self, f"Colour of {name.strip()}")
        if colour.isValid():
            self.addRequested.emit(name.strip(), (colour.red(), colour.green(), colour.blue()))

    def _ask_rename(self) -> None:
        if not len(self.model.classes):
            return
        old = self.model.classes.names[self._current]
        name, ok = QInputDialog.getText(self, "Rename class", f"New name for {old!r}:", text=old)
        if ok and name.strip() and name.strip() != old:
            self.renameRequested.emit(self._current, name.strip())

    def _ask_remove(self) -> None:
        if len(self.model.classes):
            self.removeRequested.emit(self._current)
