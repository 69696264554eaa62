"""Every action of the table with the key it has now, as text rows (Help ▸ Keyboard Shortcuts).

The keys are read from the window's actions, not the table's defaults, so a shortcut
changed in Preferences shows as it is.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

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
