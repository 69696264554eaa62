"""Spin boxes and combos in a scrolled dock that a passing mouse wheel leaves alone.

A person scrolling the dock (it has to scroll on a 1366x768 screen) turned whatever field
happened to pass under the pointer ("Validate every" 3 -> 63 -> 53). Here the wheel changes
a field only once it has focus (a click or Tab); otherwise the wheel scrolls the dock.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox, QWidget


class WheelOnlyWhenFocused(QObject):
    """Event filter: a wheel event over an unfocused field goes to the scroll area instead
    (handed over explicitly: Qt does not pass a synthesized wheel event to the parents)."""

    def __init__(self, scroll: QAbstractScrollArea) -> None:
        super().__init__(scroll)
        self.scroll = scroll

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() != QEvent.Type.Wheel or not isinstance(watched, QWidget) or watched.hasFocus():
            return False
        QApplication.sendEvent(self.scroll.verticalScrollBar(), event)
        return True


def guard_fields_from_wheel(scroll: QAbstractScrollArea) -> WheelOnlyWhenFocused:
    """Every spin box and combo inside ``scroll``: focus by click or Tab only (not by the
    wheel), and the wheel only when focused; otherwise it scrolls ``scroll``."""
    guard = WheelOnlyWhenFocused(scroll)
    for field in scroll.findChildren(QAbstractSpinBox) + scroll.findChildren(QComboBox):
        field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        field.installEventFilter(guard)
    return guard
