"""A class-mapping table: one row per source class name, a combo of what it becomes.

It shows :class:`gcnet_core.project.class_mapping.ClassMapping` (the one rule's proposal) and
gives back the rows as a plain table; File ▸ Import Labels uses it for a source's names, the
model-classes line for a model's. The rule itself stays in the core.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QComboBox, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from gcnet_core.model.classes import ClassSet
from gcnet_core.project.class_mapping import IGNORE, UNLABELLED, ClassMapping, find_class

CHOOSE = "— choose —"
UNLABELLED_TEXT = "Unlabelled"
UNLABELLED_TIP = "No class: a model may fill these pixels later"
IGNORE_TEXT = "Ignore"
IGNORE_TIP = "No class, as a person's decision: no model fills these pixels and training leaves them out"


class MappingTable(QTableWidget):
    """Source class | becomes (a combo: a project class, a new class, unlabelled, ignore) | why."""

    def __init__(self, allow_new: bool = True, source_title: str = "Source class", parent: QWidget | None = None
                 ) -> None:
        super().__init__(0, 3, parent)
        self.allow_new = allow_new  # a model's classes never add classes to the project
        self.setHorizontalHeaderLabels([source_title, "Becomes", "Why"])
        self.verticalHeader().hide()
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self._names: list[str] = []

    def set_mapping(self, mapping: ClassMapping, classes: ClassSet) -> None:
        """Show one row per name of ``mapping``, each combo on its proposal; ``classes``: the
        project classes a name may become."""
        self.setRowCount(0)
        self._names = list(mapping.names)
        self.setRowCount(len(self._names))
        for row, name in enumerate(self._names):
            source = QTableWidgetItem(name)
            source.setToolTip(name)
            self.setItem(row, 0, source)
            self.setCellWidget(row, 1, self._combo(name, mapping.targets.get(name), classes))
            self.setItem(row, 2, QTableWidgetItem(mapping.reasons[name]))

    def _combo(self, name: str, target: str | None, classes: ClassSet) -> QComboBox:
        combo = QComboBox()
        combo.setAccessibleName(f"{name} becomes")
        if target is None:
            combo.addItem(CHOOSE, None)
        for own in classes.names:
            combo.addItem(own, own)
        if self.allow_new and find_class(name, classes) is None:
            combo.addItem(f"New class “{name}”", name)
        if self.allow_new and target is not None and target not in (name, UNLABELLED, IGNORE) \
                and find_class(target, classes) is None:
            combo.addItem(f"New class “{target}”", target)
        combo.addItem(UNLABELLED_TEXT, UNLABELLED)
        combo.setItemData(combo.count() - 1, UNLABELLED_TIP, Qt.ItemDataRole.ToolTipRole)
        combo.addItem(IGNORE_TEXT, IGNORE)
        combo.setItemData(combo.count() - 1, IGNORE_TIP, Qt.ItemDataRole.ToolTipRole)
        found = find_class(target, classes) if target not in (None, UNLABELLED, IGNORE) else None
        combo.setCurrentIndex(max(0, combo.findData(found if found is not None else target)))
        return combo

    def names(self) -> list[str]:
        return list(self._names)

    def combo(self, name: str) -> QComboBox:
        """The combo of source class ``name`` (tests and the dialog)."""
        return self.cellWidget(self._names.index(name), 1)

    def choices(self) -> dict[str, str]:
        """The table as the rows say now (names still on "choose" left out)."""
        table = {}
        for name in self._names:
            target = self.combo(name).currentData()
            if target is not None:
                table[name] = target
        return table

    def undecided(self) -> list[str]:
        return [name for name in self._names if self.combo(name).currentData() is None]
