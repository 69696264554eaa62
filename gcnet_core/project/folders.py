"""Which project a path belongs to (a file manager or a drop hands over an image, not a project)."""

from __future__ import annotations

from pathlib import Path

from .store import PROJECT_FILE

__all__ = ["project_folder_of"]


def project_folder_of(image: Path) -> Path:
    """The project an image belongs to: the nearest folder above it with a project file,
    else its own folder."""
    return next((folder for folder in image.parents if (folder / PROJECT_FILE).is_file()), image.parent)
