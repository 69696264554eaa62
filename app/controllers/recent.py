"""File ▸ Recent Folders, and what a drop of files or folders on the window opens."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMenu

from gcnet_core.project.folders import project_folder_of
from gcnet_core.project.store import IMAGE_SUFFIXES

from app.settings.store import AppSettings


def dropped_target(paths: list[str]) -> tuple[Path, Path | None] | None:
    """(folder to open, image to show or None) for dropped local paths, or None when
    nothing dropped is a folder or an image. The first usable path decides."""
    for text in paths:
        if not text:
            continue
        path = Path(text).expanduser().resolve()
        if path.is_dir():
            return path, None
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            return project_folder_of(path), path
    return None


class RecentFolders:
    """Keeps the recent-folders list in the settings and the menu in step with it."""

    def __init__(self, settings: AppSettings, open_folder, menu: QMenu) -> None:
        self.settings = settings
        self.open_folder = open_folder
        self.menu = menu
        menu.aboutToShow.connect(self.rebuild)
        self.rebuild()

    def add(self, folder: Path) -> None:
        self.settings.add_recent_folder(Path(folder))
        self.rebuild()

    def rebuild(self) -> None:
        """One entry per remembered folder; folders gone from the disk are shown disabled."""
        self.menu.clear()
        folders = self.settings.recent_folders()
        for i, folder in enumerate(folders):
            action = self.menu.addAction(f"&{i + 1 if i < 9 else 0}  {folder}",
                                         lambda _checked=False, f=folder: self.open_folder(f))
            action.setEnabled(folder.is_dir())
        if not folders:
            self.menu.addAction("No folders opened yet").setEnabled(False)
        else:
            self.menu.addSeparator()
            self.menu.addAction("Clear the list", self.clear)

    def clear(self) -> None:
        self.settings.clear_recent_folders()
        self.rebuild()
