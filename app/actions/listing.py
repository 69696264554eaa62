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
         ("Polygon: close, cancel, remove the last vertex", "Enter or double click, Esc, Backspace or right click"),
         ("Filled polygon: move, add, remove a vertex; done", "Drag a vertex, drag from an edge, right click or "
                                                              "Delete on a vertex; Enter"),
         ("Zoom", "Mouse wheel"))
"""Keys that are not actions of the table (not editable in Preferences)."""


def shortcut_text(action: QAction) -> str:
    """The action's keys as the platform writes them ("" when it has none)."""
    return ", ".join(key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts())


def action_keys(actions: Actions) -> dict[str, str]:
    """Action key ("segment", "tool.brush") -> its first shortcut as the platform writes it
    ("" without one): what the welcome names."""
    return {key: (action.shortcuts()[0].toString(QKeySequence.SequenceFormat.NativeText) if action.shortcuts() else "")
            for key, action in actions.editable().items()}


def shortcut_rows(actions: Actions) -> list[tuple[str, str]]:
    """(action, keys) for every row of :data:`ACTIONS` in its order, then the fixed keys."""
    editable = actions.editable()
    return [(action_title(editable[spec.key]), shortcut_text(editable[spec.key])) for spec in ACTIONS] + list(FIXED)
