"""A restart goes back to where the person was, and no text describes another image or
folder (issue 24 item 13)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from app.settings.store import AppSettings  # noqa: E402

from test_window import drag, make_folder, make_window, open_and_wait  # noqa: E402,F401

NAMES = ("astronaut.png", "chelsea.png", "coffee.png")


def test_a_restart_reopens_the_image_each_folder_was_left_at(qtbot, make_window, tmp_path):
    photos = make_folder(tmp_path / "photos", names=NAMES).resolve()
    others = make_folder(tmp_path / "others", names=NAMES[:2]).resolve()
    window = make_window()
    open_and_wait(qtbot, window, photos, 3)
    window.files.step(1)
    window.files.step(1)
    assert window.session.current == "coffee.png"
    open_and_wait(qtbot, window, others, 2)
    window.files.step(1)
    assert window.session.current == "chelsea.png"
    window.close()

    again = make_window()
    open_and_wait(qtbot, again, photos, 3)
    assert again.session.current == "coffee.png"
    open_and_wait(qtbot, again, others, 2)
    assert again.session.current == "chelsea.png"


def test_a_remembered_image_that_is_gone_opens_the_first_one(qtbot, make_window, tmp_path):
    photos = make_folder(tmp_path / "photos", names=NAMES).resolve()
    window = make_window()
    open_and_wait(qtbot, window, photos, 3)
    window.files.step(1)
    window.close()
    (photos / "chelsea.png").unlink()
    again = make_window()
    open_and_wait(qtbot, again, photos, 2)
    assert again.session.current == "astronaut.png"


def test_the_brush_size_survives_a_restart(qtbot, make_window, tmp_path):
    window = make_window()
    window.toolbar.brush.setValue(35)
    assert window.canvas.brush_size() == 35
    window.close()
    assert AppSettings.at(tmp_path / "settings.ini").get("brush_size") == 35
    again = make_window()
    assert again.canvas.brush_size() == 35 and again.toolbar.brush.value() == 35


def test_another_folder_does_not_show_the_last_folders_batch_summary(qtbot, make_window, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, make_folder(tmp_path / "photos", names=NAMES[:1]), 1)
    window.model_panel.set_batch_message("Segmented 1 image(s) in 2 s")
    assert window.model_panel.batch_label.isVisibleTo(window.model_panel)
    open_and_wait(qtbot, window, make_folder(tmp_path / "others", names=NAMES[1:2]), 1)
    assert window.model_panel.batch_label.text() == ""
    assert not window.model_panel.batch_label.isVisibleTo(window.model_panel)


def test_the_status_bar_names_the_state_an_edit_gave_the_image(qtbot, make_window, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, make_folder(tmp_path / "photos", names=NAMES[:1]), 1)
    assert window.statusBar().currentMessage() == "astronaut.png (new)"
    window.classes_panel.set_current(1)
    drag(window, [(10, 10), (30, 20)])
    qtbot.waitUntil(lambda: window.session.project.state("astronaut.png") == "edited", timeout=5000)
    assert window.statusBar().currentMessage() == "astronaut.png (edited)"
