"""Hold a key to hide the mask: an application event filter that hears its press and release."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QDoubleSpinBox, QLineEdit, QSpinBox


class HoldKeyFilter(QObject):
    """Hides the mask while a key is held (an application event filter: press and release)."""

    held = Signal(bool)

    def __init__(self, key: Qt.Key, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == self.key \
                and not event.isAutoRepeat() and event.modifiers() == Qt.KeyboardModifier.NoModifier \
                and not isinstance(QApplication.focusWidget(), (QLineEdit, QSpinBox, QDoubleSpinBox)):
            self.held.emit(kind == QEvent.Type.KeyPress)
            return True
        return False
