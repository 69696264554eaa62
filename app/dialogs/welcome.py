"""The first-run welcome: the three steps, where models go, and what to do offline.

Shown once (remembered in the settings) by ``gcnet-annotator`` itself, never by the window,
so tests and embedding code that build a MainWindow are not interrupted; Help ▸ Welcome
reopens it. ``GCNET_NO_WELCOME=1`` skips it (kiosks, screenshots, scripted starts).
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.settings.store import AppSettings
from gcnet_core.paths import cache_folder

SKIP_ENV = "GCNET_NO_WELCOME"


WELCOME_KEYS = ("segment", "tool.brush", "tool.polygon", "tool.fill", "tool.relabel", "next", "previous", "done",
                "shortcut_sheet")
"""The actions whose keys the welcome names: given by the window as they are now."""


def welcome_html(cache: str, keys: Mapping[str, str]) -> str:
    """The welcome page; ``keys`` maps each of :data:`WELCOME_KEYS` to its key now."""
    k = {name: html.escape(keys.get(name) or "no key") for name in WELCOME_KEYS}
    return f"""
<h2>Welcome to GCNet Annotator</h2>
<p>Label images for semantic segmentation in three steps:</p>
<ol>
<li><b>Pick a model</b> in the Model panel: ADE20K (150 everyday classes, the default for a new
folder), Cityscapes (street scenes, 19 classes; chosen for folders that look like street scenes)
or Pascal VOC (21 object classes). Each folder remembers its model. <i>Pre-segment image</i>
({k["segment"]}) labels the current image, <i>Segment all new</i> the whole folder in the background.</li>
<li><b>Correct</b> the masks: brush ({k["tool.brush"]}), polygon ({k["tool.polygon"]}; drag its vertices
until Enter), flood fill ({k["tool.fill"]}), relabel a predicted region ({k["tool.relabel"]}); the keys
1&ndash;0 pick a class, {k["next"]} / {k["previous"]} go to the next / previous image. When a mask is
right, <i>Mark Image Done</i> ({k["done"]}): only images marked done count as done, train the model
and are exported as corrected. Your work is saved as you go, in the folder itself
(<tt>gcnet-project.json</tt> and the hidden <tt>.gcnet/</tt> folder); File &#9656; Export writes the
masks as PNGs or in another tool's format.</li>
<li><b>Fine-tune</b> the model on the images you marked done, then pre-segment the rest with your own
version (in the app, or <tt>gcnet train --project FOLDER</tt> on a GPU server).</li>
</ol>
<p><b>Models</b> are downloaded once, on first use, into<br><tt>{html.escape(cache)}</tt><br>
(Edit &#9656; Preferences changes the folder).</p>
<p><b>Offline?</b> Download the checkpoint file on another computer, then press <i>Import a checkpoint
file&hellip;</i> in the Model panel (or File &#9656; Import Checkpoint&hellip;, or run
<tt>gcnet download NAME --from PATH</tt>). An official file is hash-checked; any other GCNet checkpoint
(a fine-tuned one) is matched to the model it fits. Either way the file is kept in the model cache and
listed at every start.</p>
<p>Help &#9656; Welcome shows this again; Help &#9656; Keyboard Shortcuts ({k["shortcut_sheet"]}) lists
every key.</p>
"""


class WelcomeDialog(QDialog):
    """A short, non-modal page of text with one button."""

    def __init__(self, keys: Mapping[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)

        self.setWindowTitle("Welcome to GCNet Annotator")
        self.text = QLabel(welcome_html(str(cache_folder()), keys), wordWrap=True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox()
        buttons.addButton("Get started", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)
        # a word-wrapped label's height depends on its width, which a top-level dialog does not
        # ask for: without this the last paragraph is cut off
        self.setMinimumHeight(layout.totalHeightForWidth(560))


def show_welcome(parent: QWidget | None, keys: Mapping[str, str]) -> WelcomeDialog:
    """The welcome, naming the keys of ``keys`` (action key -> its shortcut now)."""
    dialog = WelcomeDialog(keys, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


def maybe_show_welcome(parent: QWidget | None, settings: AppSettings, keys: Mapping[str, str]) -> WelcomeDialog | None:
    """The welcome on the first run only (the flag is set as soon as it is shown)."""
    if settings.get("welcome_shown") or os.environ.get(SKIP_ENV, "") not in ("", "0"):
        return None
    settings.set("welcome_shown", True)
    settings.sync()
    return show_welcome(parent, keys)
