"""The first-run welcome: the three steps, where models go, and what to do offline.

Shown once (remembered in the settings) by ``gcnet-annotator`` itself, never by the window,
so tests and embedding code that build a MainWindow are not interrupted; Help ▸ Welcome
reopens it. ``GCNET_NO_WELCOME=1`` skips it (kiosks, screenshots, scripted starts).
"""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.settings.store import AppSettings
from gcnet_core.paths import cache_folder

SKIP_ENV = "GCNET_NO_WELCOME"


def welcome_html(cache: str) -> str:
    return f"""
<h2>Welcome to GCNet Annotator</h2>
<p>Label images for semantic segmentation in three steps:</p>
<ol>
<li><b>Pick a model</b> in the Model panel: ADE20K (150 everyday classes, the default for a new
folder), Cityscapes (street scenes, 19 classes; chosen for folders that look like street scenes)
or Pascal VOC (21 object classes). Each folder remembers its model. <i>Pre-segment image</i>
(Ctrl+Return) labels the current image, <i>Segment all new</i> the whole folder in the background.</li>
<li><b>Correct</b> the masks: brush (B), polygon (P), flood fill (F), relabel a predicted region (R);
the keys 1&ndash;0 pick a class, D / A go to the next / previous image. Everything is saved as you work,
into a <tt>labels/</tt> folder beside your images.</li>
<li><b>Fine-tune</b> the model on the images you corrected, then pre-segment the rest with your own
version (in the app, or <tt>gcnet train --project FOLDER</tt> on a GPU server).</li>
</ol>
<p><b>Models</b> are downloaded once, on first use, into<br><tt>{html.escape(cache)}</tt><br>
(Edit &#9656; Preferences changes the folder).</p>
<p><b>Offline?</b> Download the checkpoint file on another computer, then press <i>Import&hellip;</i>
in the Model panel (or File &#9656; Import Checkpoint&hellip;, or run <tt>gcnet download NAME --from PATH</tt>).
An official file is hash-checked; any other GCNet checkpoint (a fine-tuned one) is matched to the
model it fits. Either way the file is kept in the model cache and listed at every start.</p>
<p>Help &#9656; Welcome shows this again.</p>
"""


class WelcomeDialog(QDialog):
    """A short, non-modal page of text with one button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)

        self.setWindowTitle("Welcome to GCNet Annotator")
        self.text = QLabel(welcome_html(str(cache_folder())), wordWrap=True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox()
        buttons.addButton("Get started", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)


def show_welcome(parent: QWidget | None = None) -> WelcomeDialog:
    dialog = WelcomeDialog(parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


def maybe_show_welcome(parent: QWidget | None, settings: AppSettings) -> WelcomeDialog | None:
    """The welcome on the first run only (the flag is set as soon as it is shown)."""
    if settings.get("welcome_shown") or os.environ.get(SKIP_ENV, "") not in ("", "0"):
        return None
    settings.set("welcome_shown", True)
    settings.sync()
    return show_welcome(parent)
