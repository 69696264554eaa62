"""What the application remembers between runs, typed, on top of QSettings.

Only plain values are stored (strings, numbers, bools, byte arrays), so the file stays
readable and a value of the wrong type from an older version falls back to its default.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "gcnet"
APPLICATION = "gcnet-annotator"
WORK_AHEAD_DEFAULT = True  # tests of other features turn it off (tests/app/conftest.py)


class AppSettings:
    """Typed accessors for the window's remembered state (last folder, model, view options)."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings(ORGANIZATION, APPLICATION)

    @classmethod
    def at(cls, path: str | Path) -> "AppSettings":
        """Settings kept in an INI file of their own (tests, portable installs)."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    def _get(self, key: str, default, kind):
        value = self.store.value(key, default)
        if kind is bool and isinstance(value, str):  # INI files give strings back
            return value.lower() in ("1", "true", "yes")
        try:
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _set(self, key: str, value) -> None:
        self.store.setValue(key, value)

    # -- project ----------------------------------------------------------------------
    @property
    def last_folder(self) -> Path | None:
        value = self._get("project/last_folder", "", str)
        return Path(value) if value else None

    @last_folder.setter
    def last_folder(self, folder: Path | None) -> None:
        self._set("project/last_folder", str(folder) if folder else "")

    @property
    def recent_folders(self) -> list[Path]:
        """Folders opened lately, newest first (File ▸ Recent Folders)."""
        value = self.store.value("project/recent", [])
        items = [value] if isinstance(value, str) else (value if isinstance(value, list) else [])
        return [Path(v) for v in items if isinstance(v, str) and v]

    def add_recent_folder(self, folder: Path, keep: int = 10) -> None:
        items = [str(folder)] + [str(p) for p in self.recent_folders if p != Path(folder)]
        self._set("project/recent", items[:keep])

    # -- model ------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self._get("model/name", "", str)

    @model_name.setter
    def model_name(self, value: str) -> None:
        self._set("model/name", value)

    @property
    def model_checkpoint(self) -> str:
        """The checkpoint file of the selected model when it is not a zoo entry ("" = the entry)."""
        return self._get("model/checkpoint", "", str)

    @model_checkpoint.setter
    def model_checkpoint(self, value: str) -> None:
        self._set("model/checkpoint", str(value))

    @property
    def model_label(self) -> str:
        """The selected fine-tuned version's or imported file's id ("" = a zoo entry)."""
        return self._get("model/label", "", str)

    @model_label.setter
    def model_label(self, value: str) -> None:
        self._set("model/label", str(value))

    @property
    def device(self) -> str:
        return self._get("model/device", "auto", str)

    @device.setter
    def device(self, value: str) -> None:
        self._set("model/device", value)

    @property
    def precision(self) -> str:
        return self._get("model/precision", "auto", str)

    @precision.setter
    def precision(self, value: str) -> None:
        self._set("model/precision", value)

    @property
    def tta(self) -> bool:
        return self._get("model/tta", False, bool)

    @tta.setter
    def tta(self, value: bool) -> None:
        self._set("model/tta", bool(value))

    # -- view -------------------------------------------------------------------------
    @property
    def opacity(self) -> float:
        return min(1.0, max(0.0, self._get("view/opacity", 0.5, float)))

    @opacity.setter
    def opacity(self, value: float) -> None:
        self._set("view/opacity", float(value))

    @property
    def confidence_threshold(self) -> float:
        return min(1.0, max(0.0, self._get("view/confidence_threshold", 0.5, float)))

    @confidence_threshold.setter
    def confidence_threshold(self, value: float) -> None:
        self._set("view/confidence_threshold", float(value))

    # -- preferences ------------------------------------------------------------------
    @property
    def cache_folder(self) -> str:
        """Checkpoint cache chosen in Preferences ("" = the default location)."""
        return self._get("preferences/cache_folder", "", str)

    @cache_folder.setter
    def cache_folder(self, value: str) -> None:
        self._set("preferences/cache_folder", str(value))

    @property
    def autosave_ms(self) -> int:
        return min(600_000, max(100, self._get("preferences/autosave_ms", 1000, int)))

    @autosave_ms.setter
    def autosave_ms(self, value: int) -> None:
        self._set("preferences/autosave_ms", int(value))

    @property
    def welcome_shown(self) -> bool:
        return self._get("preferences/welcome_shown", False, bool)

    @welcome_shown.setter
    def welcome_shown(self, value: bool) -> None:
        self._set("preferences/welcome_shown", bool(value))

    # -- work ahead (the model segments images before they are asked for) -----------------
    @property
    def segment_on_open(self) -> bool:
        """Pre-segment an image without a fresh prediction when it opens."""
        return self._get("workahead/on_open", WORK_AHEAD_DEFAULT, bool)

    @segment_on_open.setter
    def segment_on_open(self, value: bool) -> None:
        self._set("workahead/on_open", bool(value))

    @property
    def work_ahead(self) -> bool:
        """Pre-segment the next images of the list in the background."""
        return self._get("workahead/enabled", WORK_AHEAD_DEFAULT, bool)

    @work_ahead.setter
    def work_ahead(self, value: bool) -> None:
        self._set("workahead/enabled", bool(value))

    def shortcut(self, action_id: str) -> str | None:
        """A person's key sequence for an action (portable text, "" = none), or None:
        the built-in default applies."""
        key = f"shortcuts/{action_id}"
        return self._get(key, "", str) if self.store.contains(key) else None

    def set_shortcut(self, action_id: str, sequence: str | None) -> None:
        if sequence is None:
            self.store.remove(f"shortcuts/{action_id}")
        else:
            self._set(f"shortcuts/{action_id}", sequence)

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        """(geometry, dock/toolbar state) saved by :meth:`save_window_state`, if any."""
        geometry, state = self.store.value("window/geometry"), self.store.value("window/state")
        return (geometry if isinstance(geometry, QByteArray) else None,
                state if isinstance(state, QByteArray) else None)

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self._set("window/geometry", geometry)
        self._set("window/state", state)

    def sync(self) -> None:
        self.store.sync()
