"""What the application remembers between runs, on top of QSettings.

The values themselves are the table in :mod:`app.settings.table`: ``get`` and ``set`` take a
setting's name and check the value against its row, so a value of the wrong type or out of
range from an older version or a hand-edited file reads back as the default. Besides the
table: the recent folders (a list), the shortcuts (one key per action) and the window's
layout (bytes Qt writes and reads back itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from app.settings.table import SETTING

ORGANIZATION = "gcnet"
APPLICATION = "gcnet-annotator"
RECENT_KEY = "project/recent"
_NONE = object()  # nothing usable is stored


class AppSettings:
    """The window's remembered state (last folder, model, view options, preferences)."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings(ORGANIZATION, APPLICATION)

    @classmethod
    def at(cls, path: str | Path) -> "AppSettings":
        """Settings kept in an INI file of their own (tests, portable installs)."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    def get(self, name: str) -> Any:
        """The value of the table's setting ``name``: the stored one when it is usable, else the default."""
        value = self._stored(name)
        return SETTING[name].default if value is _NONE else value

    def set(self, name: str, value: Any) -> None:
        """Remember ``value`` for ``name`` (ValueError when the table does not allow it)."""
        setting = SETTING[name]
        self.store.setValue(setting.key, setting.stored(setting.validated(value)))

    def chosen(self, name: str) -> bool:
        """Whether a usable value of ``name`` is stored (someone set it), rather than the default."""
        return self._stored(name) is not _NONE

    def _stored(self, name: str) -> Any:
        setting = SETTING[name]
        if not self.store.contains(setting.key):
            return _NONE
        try:
            return setting.validated(self.store.value(setting.key))
        except ValueError:
            return _NONE

    # -- recent folders ---------------------------------------------------------------
    def recent_folders(self) -> list[Path]:
        """Folders opened lately, newest first (File ▸ Recent Folders)."""
        value = self.store.value(RECENT_KEY, [])
        items = [value] if isinstance(value, str) else (value if isinstance(value, list) else [])
        return [Path(v) for v in items if isinstance(v, str) and v]

    def add_recent_folder(self, folder: Path, keep: int = 10) -> None:
        items = [str(folder)] + [str(p) for p in self.recent_folders() if p != Path(folder)]
        self.store.setValue(RECENT_KEY, items[:keep])

    def clear_recent_folders(self) -> None:
        self.store.remove(RECENT_KEY)

    # -- shortcuts and the window -----------------------------------------------------
    def shortcut(self, action_id: str) -> str | None:
        """A person's key sequence for an action (portable text, "" = none), or None:
        the built-in default applies (also when what is stored is not text)."""
        value = self.store.value(f"shortcuts/{action_id}")
        return value if isinstance(value, str) else None

    def set_shortcut(self, action_id: str, sequence: str | None) -> None:
        if sequence is None:
            self.store.remove(f"shortcuts/{action_id}")
        else:
            self.store.setValue(f"shortcuts/{action_id}", sequence)

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        """(geometry, dock/toolbar state) saved by :meth:`save_window_state`, if any."""
        geometry, state = self.store.value("window/geometry"), self.store.value("window/state")
        return (geometry if isinstance(geometry, QByteArray) else None,
                state if isinstance(state, QByteArray) else None)

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)

    def sync(self) -> None:
        self.store.sync()
