"""Help ▸ About: the version, and the facts a bug report needs (torch, CUDA, device, Qt, folders)."""

from __future__ import annotations

import html
import os
import platform
import sys

from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from gcnet_core import __version__
from gcnet_core.paths import cache_folder, log_folder


def compute_device() -> tuple[str, str]:
    """(CUDA availability, the device the model runs on by default), in words."""
    import torch

    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        cuda = f"available (CUDA {torch.version.cuda}, {count} device{'s' if count > 1 else ''})"
        return cuda, torch.cuda.get_device_name(0)
    cpu = platform.processor() or platform.machine()
    reason = "not available: this torch build is CPU-only" if torch.version.cuda is None \
        else f"not available (torch built for CUDA {torch.version.cuda}, no usable GPU found)"
    return reason, f"CPU ({cpu}, {os.cpu_count()} logical cores)"


def environment_report(settings_file: str = "") -> list[tuple[str, str]]:
    """Ordered (label, value) rows shown in the About box (and copyable from it)."""
    import PySide6
    import torch

    cuda, device = compute_device()
    rows = [("Version", __version__),
            ("PyTorch", torch.__version__),
            ("CUDA", cuda),
            ("Device", device),
            ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
            ("Python", f"{platform.python_version()} on {platform.system()} {platform.release()}"),
            ("Model cache", str(cache_folder())),
            ("Logs", str(log_folder()))]
    if settings_file:
        rows.append(("Settings", settings_file))
    if getattr(sys, "frozen", False):
        rows.append(("Build", "PyInstaller bundle"))
    return rows


def about_text(settings_file: str = "") -> str:
    rows = "".join(f"<tr><td><b>{label}</b>&nbsp;&nbsp;</td><td>{html.escape(value)}</td></tr>"
                   for label, value in environment_report(settings_file))
    return ("<h3>GCNet Annotator</h3>"
            "<p>Semantic-segmentation labelling with GCNet pre-segmentation and in-app fine-tuning.</p>"
            f"<table>{rows}</table>")


def show_about(parent: QWidget | None, settings_file: str = "") -> QMessageBox:
    """Open the About box (not modal for the app: it may stay open beside the work)."""
    box = QMessageBox(parent)
    box.setWindowTitle("About GCNet Annotator")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_text(settings_file))
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    icon = QApplication.windowIcon()
    if not icon.isNull():
        box.setIconPixmap(icon.pixmap(64, 64))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box
