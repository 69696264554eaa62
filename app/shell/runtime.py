"""Where things are when the app runs from a source tree, a pip install or a PyInstaller
folder: the bundled resources, the application icon, and the command that runs ``gcnet``
in a child process (a frozen app has no ``python -m``: its ``gcnet`` sits beside it)."""

from __future__ import annotations

import sys
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
ICONS = RESOURCES / "icons"
ICON_NAME = "gcnet-annotator"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def frozen() -> bool:
    """True inside a PyInstaller build."""
    return bool(getattr(sys, "frozen", False))


def gcnet_command() -> tuple[str, ...]:
    """The program (and arguments) that start the ``gcnet`` command in a subprocess."""
    if frozen():
        name = "gcnet.exe" if sys.platform == "win32" else "gcnet"
        return (str(Path(sys.executable).resolve().with_name(name)),)
    return (sys.executable, "-m", "gcnet_core.cli")


def icon_files() -> list[Path]:
    """The PNG renderings of the application icon that exist (hicolor layout)."""
    paths = [ICONS / "hicolor" / f"{n}x{n}" / "apps" / f"{ICON_NAME}.png" for n in ICON_SIZES]
    return [p for p in paths if p.is_file()]


def app_icon():
    """The window icon, every size added so each desktop picks the sharpest one."""
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    return icon
