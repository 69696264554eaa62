"""Before Qt starts on Linux: are the X11 libraries its xcb platform plugin needs installed?

Without them Qt aborts with "Could not load the Qt platform plugin xcb" and a list of
plugins, naming no package. On a fresh Debian/Ubuntu machine the usual culprit is
``libxcb-cursor0`` (needed since Qt 6.5). This check names the missing packages first.
"""

from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Callable

# shared library (as ctypes.util.find_library spells it) -> the Debian/Ubuntu package with it
XCB_LIBRARIES = (
    ("xcb-cursor", "libxcb-cursor0"),
    ("xcb-icccm", "libxcb-icccm4"),
    ("xcb-image", "libxcb-image0"),
    ("xcb-keysyms", "libxcb-keysyms1"),
    ("xcb-randr", "libxcb-randr0"),
    ("xcb-render-util", "libxcb-render-util0"),
    ("xcb-shape", "libxcb-shape0"),
    ("xcb-util", "libxcb-util1"),
    ("xcb-xkb", "libxcb-xkb1"),
    ("xkbcommon-x11", "libxkbcommon-x11-0"),
)


def uses_xcb(environ=os.environ, platform: str = sys.platform) -> bool:
    """True when Qt will pick its X11 (xcb) plugin: Linux, and no other platform asked for."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip().lower()
    if chosen:
        return chosen == "xcb"
    return not (environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland")


def missing_packages(find: Callable[[str], str | None] = ctypes.util.find_library) -> list[str]:
    """Packages to install for the xcb plugin's libraries that cannot be found."""
    return [package for library, package in XCB_LIBRARIES if not find(library)]


def xcb_problem(environ=os.environ, platform: str = sys.platform,
                find: Callable[[str], str | None] = ctypes.util.find_library) -> str | None:
    """The message to print instead of Qt's abort, or None when the window can start."""
    if not uses_xcb(environ, platform):
        return None
    missing = missing_packages(find)
    if not missing:
        return None
    return ("GCNet Annotator cannot open its window: Qt's X11 platform plugin needs system "
            f"libraries that are not installed ({', '.join(missing)}).\n"
            f"On Debian or Ubuntu:  sudo apt-get install {' '.join(missing)}\n"
            "(Fedora: dnf install xcb-util-cursor xcb-util-wm xcb-util-image xcb-util-keysyms "
            "xcb-util-renderutil libxkbcommon-x11.) The gcnet command needs none of them.")
