"""A JPEG cut inside its scan data passes the scan's header check; once a background pass
fails on it, the file list marks it unreadable with the reason, and the log has one line
naming it instead of a traceback (issue 24 item 6)."""

from __future__ import annotations

import logging

import cv2
import pytest

pytest.importorskip("pytestqt")

from test_window import ScriptedPrompter, make_folder, make_window, open_and_wait, small_ade  # noqa: E402,F401

from helpers import SHARED_IMAGES, WHOLE_ADE, small_scale_gcnet_command  # noqa: E402


def cut_jpeg(path) -> None:
    """A real photo as JPEG, cut off two thirds of the way into its scan data."""
    image = cv2.resize(cv2.imread(str(SHARED_IMAGES / "rocket.jpg")), (48, 36))
    data = cv2.imencode(".jpg", image)[1].tobytes()
    path.write_bytes(data[:len(data) * 2 // 3])


def test_a_background_pass_that_cannot_decode_an_image_marks_it_unreadable(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint, caplog):
    folder = make_folder(tmp_path / "photos", names=("astronaut.png",), size=(48, 36))
    cut_jpeg(folder / "cut.jpg")
    window = make_window()
    window.model_panel.select(WHOLE_ADE)
    window.workahead.on_open_action.setChecked(True)
    window.workahead.ahead_action.setChecked(True)
    open_and_wait(qtbot, window, folder, 2)
    files = window.files
    assert files.model.problem("cut.jpg") is None  # its header looks fine: listed as readable
    failed = []
    window.workahead.scheduler.failed.connect(lambda rel, message: failed.append(rel))
    with caplog.at_level(logging.WARNING):
        window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")  # work-ahead starts by itself
        qtbot.waitUntil(lambda: bool(failed), timeout=120000)
    assert failed == ["cut.jpg"]
    qtbot.waitUntil(lambda: files.model.problem("cut.jpg") is not None, timeout=5000)  # decoded off the UI thread
    assert "truncated" in files.model.problem("cut.jpg")
    row = files.model.row_of("cut.jpg")
    assert "cannot be read" in files.model.index(row).data(0x0003)  # Qt.ToolTipRole
    assert ", 1 unreadable" in files.count_label.text() and "/ 1 done" in files.count_label.text()
    about = [record for record in caplog.records if "cut.jpg" in record.getMessage()]
    assert about and all(record.exc_info is None for record in about)
    assert any("truncated" in record.getMessage() for record in about)


def test_segment_all_marks_the_image_it_could_not_decode(qtbot, make_window, tmp_path, small_ade, ade_checkpoint):
    folder = make_folder(tmp_path / "photos", names=("astronaut.png",), size=(48, 36))
    cut_jpeg(folder / "cut.jpg")
    prompter = ScriptedPrompter()
    window = make_window(prompter, batch_command=small_scale_gcnet_command(WHOLE_ADE, (64, 48)))
    window.model_panel.select(WHOLE_ADE)
    open_and_wait(qtbot, window, folder, 2)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="ade")
    finished = []
    window.batch.finished.connect(finished.append)
    window.segment_all()  # the real `gcnet predict` process
    qtbot.waitUntil(lambda: bool(finished), timeout=180000)
    assert finished[0].written == 1 and [rel for rel, _why in finished[0].failed][0].endswith("cut.jpg")
    qtbot.waitUntil(lambda: window.files.model.problem("cut.jpg") is not None, timeout=5000)
    assert "truncated" in window.files.model.problem("cut.jpg")
    assert ", 1 unreadable" in window.files.count_label.text()
    assert window.files.model.problem("astronaut.png") is None
