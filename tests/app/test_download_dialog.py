"""Downloading a model, in a person's words (issue 24 item 8): the "Download failed" dialog
(no command line; the address on one selectable line; "Choose a checkpoint file…" imports
it) and the model list marking what is downloaded, fine-tuned or imported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt, QTimer  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit  # noqa: E402

from gcnet_core.paths import cache_folder  # noqa: E402
from gcnet_core.weights.zoo import get_entry  # noqa: E402
from test_window import ScriptedPrompter, key, make_folder, make_window, open_and_wait, small_ade  # noqa: E402,F401

import app.workers.download as download_worker  # noqa: E402
from app.dialogs.download_failed import DownloadFailedDialog  # noqa: E402
from app.dialogs.prompter import Prompter  # noqa: E402
from app.panels.model_panel import ChoiceRole  # noqa: E402
from helpers import WHOLE_ADE  # noqa: E402

VOC = "gcnet_r50-d8_4xb4-20k_voc12aug-512x512"


def rows(window) -> dict[str, str]:
    """The model list's rows by the zoo entry or file they choose."""
    combo = window.model_panel.combo
    out = {}
    for row in range(combo.count()):
        choice = combo.itemData(row, ChoiceRole)
        if choice is not None:
            out[choice.label or choice.name] = combo.itemText(row)
    return out


def test_the_download_failed_dialog_speaks_plainly_and_choosing_the_file_imports_it(
        qtbot, make_window, tmp_path, monkeypatch, ade_checkpoint):
    from urllib.error import URLError

    import gcnet_core.weights.download as download

    monkeypatch.setattr(download, "urlopen", lambda *a, **k: (_ for _ in ()).throw(URLError("no network here")))
    mine = tmp_path / "from-a-usb-stick.pth"
    shutil.copyfile(ade_checkpoint, mine)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(mine), "")))
    window = make_window(Prompter(None))  # the real dialogs
    window.workahead.on_open_action.setChecked(False)
    window.workahead.ahead_action.setChecked(False)
    folder = make_folder(tmp_path / "photos", names=("coffee.png",), size=(48, 36))
    open_and_wait(qtbot, window, folder, 1)
    window.model_panel.select(VOC)
    seen = {}

    def answer() -> None:  # the modal dialog is up: read it, then press its button as a person does
        dialog = next((w for w in QApplication.topLevelWidgets()
                       if isinstance(w, DownloadFailedDialog) and w.isVisible()), None)
        if dialog is None:
            QTimer.singleShot(50, answer)
            return
        address = dialog.findChild(QLineEdit)
        seen.update(text=dialog.text.text(), address=address.text(), read_only=address.isReadOnly(),
                    buttons=[b.text() for b in dialog.buttons.buttons()])
        QTest.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
        seen["copied"] = QGuiApplication.clipboard().text()
        QTest.mouseClick(dialog.choose_button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(50, answer)
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Pre-segment: the download fails
    qtbot.waitUntil(lambda: window.model_panel.choice().label == "from-a-usb-stick", timeout=60000)
    url = get_entry(VOC).checkpoint_url
    assert "could not be downloaded: no network here" in seen["text"]
    assert "--" not in seen["text"] and "gcnet" not in seen["text"] and url not in seen["text"]
    assert seen["address"] == url and seen["read_only"]  # one line (a line edit never wraps), to select or copy
    assert seen["copied"] == url
    assert seen["buttons"][0] == "Choose a checkpoint file…" and "Close" in seen["buttons"]
    assert rows(window)["from-a-usb-stick"].strip().startswith("from-a-usb-stick")


def test_the_model_list_marks_downloaded_entries_and_lists_imported_files_apart(
        qtbot, make_window, tmp_path, monkeypatch, small_ade, ade_checkpoint):
    voc = get_entry(VOC)
    (cache_folder() / voc.checkpoint_filename).write_bytes(b"stand-in for the official file")
    window = make_window(ScriptedPrompter())
    window.workahead.on_open_action.setChecked(False)
    window.workahead.ahead_action.setChecked(False)
    listed = rows(window)
    assert listed[VOC].startswith("  ✓ ")  # in the cache: works offline
    assert not listed[WHOLE_ADE].lstrip().startswith("✓")
    assert "Downloaded" in window.model_panel.items.item(window.model_panel.combo.findText(listed[VOC])).toolTip()

    def fetched(entry, progress):  # the server hands over the file
        target = cache_folder() / entry.checkpoint_filename
        shutil.copyfile(ade_checkpoint, target)
        return Path(target)

    monkeypatch.setattr(download_worker, "ensure_checkpoint", fetched)
    folder = make_folder(tmp_path / "photos", names=("coffee.png",), size=(48, 36))
    open_and_wait(qtbot, window, folder, 1)
    window.model_panel.select(WHOLE_ADE)
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.session.project.state("coffee.png") == "predicted", timeout=60000)
    assert rows(window)[WHOLE_ADE].startswith("  ✓ ")  # marked as soon as it is downloaded

    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="my file")
    texts = [window.model_panel.combo.itemText(row) for row in range(window.model_panel.combo.count())]
    assert texts.index("Imported files") < texts.index(rows(window)["my file"])
