"""Opening a folder that holds ``gcnet predict`` output lists the photos only, says what it
left out, and lists a left-out folder on request (issue 24 item 3)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from app.settings.store import AppSettings  # noqa: E402
from app.window import MainWindow  # noqa: E402

from test_own_outputs import PHOTOS, folder_with_predict_output  # noqa: E402
from test_window import ScriptedPrompter  # noqa: E402


def test_a_folder_with_predict_output_lists_its_photos_and_says_what_it_skipped(qtbot, tmp_path):
    root = folder_with_predict_output(tmp_path / "photos")
    window = MainWindow(AppSettings.at(tmp_path / "settings.ini"), ScriptedPrompter())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    files = window.files
    assert window.open_folder(root)
    qtbot.waitUntil(lambda: not window.scanning, timeout=10000)
    assert files.model.paths() == list(PHOTOS)
    assert files.count_label.text().startswith("0 / 3 done")
    shown = files.skipped_label.text()
    assert not files.skipped_label.isHidden()
    assert "Skipped <b>out/</b> (masks of the images beside it)" in shown
    assert "Skipped <b>out_color/</b> (gcnet predict output)" in shown

    files.include_folder("out")  # the "Include" link beside out/
    qtbot.waitUntil(lambda: not window.scanning and files.model.rowCount() == 7, timeout=10000)
    assert "out/coffee.png" in files.model.paths() and "out_color/coffee.png" not in files.model.paths()
    assert "out/" not in files.skipped_label.text() and "out_color/" in files.skipped_label.text()
    window.close()
