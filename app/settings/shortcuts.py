"""Editable keyboard shortcuts of the window's actions.

The editable set is the action table (``app/actions/table.py``'s :data:`~app.actions.table.ACTIONS`,
in its order): a new action joins it by being a row there. Each action keeps the
shortcuts it was built with as its default; a person's choice replaces the first one
(a second default key, such as PgDown beside D, stays) and is stored in the settings
only while it differs from the default.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from app.settings.store import AppSettings

PORTABLE = QKeySequence.SequenceFormat.PortableText


def main_actions(window) -> dict[str, QAction]:
    """Action key -> action (``open``, ``tool.brush``, ``finetune.start``...), in the table's order."""
    return window.action_set.editable()


def fixed_keys(window) -> dict[str, list[QKeySequence]]:
    """Keys that are not editable but still taken: class hotkeys and hold-to-hide."""
    fixed = {action.text(): list(action.shortcuts()) for action in window.action_set.classes}
    fixed["Hide mask (hold)"] = [QKeySequence(window.hold_filter.key)]
    return fixed


def action_title(action: QAction) -> str:
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(".…")


def to_text(sequence: QKeySequence | None) -> str:
    return "" if sequence is None else sequence.toString(PORTABLE)


class ShortcutMap:
    """Defaults, overrides and conflicts for :func:`main_actions` of one window."""

    def __init__(self, window, settings: AppSettings) -> None:
        self.settings = settings
        self.actions = main_actions(window)
        self.defaults = {key: list(action.shortcuts()) for key, action in self.actions.items()}
        self.fixed = fixed_keys(window)
        for key in self.actions:
            stored = settings.shortcut(key)
            if stored is not None:
                self._apply(key, QKeySequence.fromString(stored, PORTABLE))

    def primary(self, key: str) -> QKeySequence:
        """The action's first key: the person's choice, else the default one."""
        stored = self.settings.shortcut(key)
        if stored is not None:
            return QKeySequence.fromString(stored, PORTABLE)
        return self.defaults[key][0] if self.defaults[key] else QKeySequence()

    def extras(self, key: str) -> list[QKeySequence]:
        """The default keys after the first: kept whatever the first becomes."""
        return self.defaults[key][1:]

    def set(self, key: str, sequence: QKeySequence | None) -> None:
        """Make ``sequence`` the action's first key (empty or None: none) and remember it."""
        sequence = sequence if sequence is not None else QKeySequence()
        default = self.defaults[key][0] if self.defaults[key] else QKeySequence()
        self.settings.set_shortcut(key, None if sequence == default else to_text(sequence))
        self._apply(key, sequence)

    def reset(self, key: str) -> None:
        self.set(key, self.defaults[key][0] if self.defaults[key] else None)

    def _apply(self, key: str, sequence: QKeySequence) -> None:
        self.actions[key].setShortcuts(self.keys(key, sequence))

    def keys(self, key: str, sequence: QKeySequence) -> list[QKeySequence]:
        """What the action answers to when ``sequence`` is its first key."""
        return ([sequence] if not sequence.isEmpty() else []) + \
            [extra for extra in self.extras(key) if extra != sequence]

    def conflicts(self, chosen: dict[str, QKeySequence]) -> dict[str, list[str]]:
        """Key text -> the actions that would share it (an ambiguous key triggers none of them);
        ``chosen`` maps action ids to first keys, fixed keys (classes, hold H) count too."""
        users: dict[str, list[str]] = {}
        for key, sequence in chosen.items():
            for seq in self.keys(key, sequence):
                users.setdefault(to_text(seq), []).append(key)
        for title, sequences in self.fixed.items():
            for seq in sequences:
                users.setdefault(to_text(seq), []).append(title)
        return {text: names for text, names in users.items() if len(names) > 1}
