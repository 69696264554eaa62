"""Where the main window goes: inside the screen's available area, never larger than it.

A fixed first size (1500 x 950) put the status bar and half the Model panel off a
1366 x 768 laptop screen; a geometry saved on a larger monitor does the same after the
monitor is gone. Both go through these two functions, which take the screen's available
geometry (``QScreen.availableGeometry()``: without task bars and docks) as a plain rect.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QRect, QSize

PREFERRED = QSize(1500, 950)  # the window's size on a screen with room for it
FRAME = QMargins(8, 32, 8, 8)  # room left for a window manager's title bar and borders (unknown before mapping)


def first_geometry(available: QRect) -> QRect:
    """The window's first geometry (without its frame): the preferred size, or the available
    area less room for the frame when that is smaller, centred in the available area."""
    room = available.marginsRemoved(FRAME)
    size = PREFERRED.boundedTo(room.size())
    rect = QRect(0, 0, size.width(), size.height())
    rect.moveCenter(room.center())
    return rect


def fitted_geometry(saved: QRect, available: QRect) -> QRect:
    """``saved`` (a geometry restored from the settings) shrunk to fit the available area less
    the frame, and moved inside it; unchanged when it already fits."""
    room = available.marginsRemoved(FRAME)
    size = saved.size().boundedTo(room.size())
    left = min(max(saved.left(), room.left()), room.right() + 1 - size.width())
    top = min(max(saved.top(), room.top()), room.bottom() + 1 - size.height())
    return QRect(left, top, size.width(), size.height())
