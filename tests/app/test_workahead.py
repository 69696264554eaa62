"""Predictions kept with the project (issue 13.3) and work-ahead (issue 14), in the real window."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402

from gcnet_core.files.masks import read_index_mask, write_index_mask  # noqa: E402
from gcnet_core.project.predictions import load_prediction  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from test_window import (ScriptedPrompter, drag, key, make_folder, make_window, open_and_wait,  # noqa: E402,F401
                         small_ade)

from helpers import WHOLE_ADE, small_scale_gcnet_command  # noqa: E402
# test_finetune's ``window`` fixture: the window on its tiny training project (12 corrected, 2 new)
from test_finetune import entry, start_checkpoint, window  # noqa: E402,F401

TESTS = Path(__file__).resolve().parents[1]


def test_accept_and_confidence_work_after_segment_all_and_after_reopening(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint):
    folder = make_folder(tmp_path / "photos", names=("astronaut.png", "coffee.png"), size=(48, 36))
    window = make_window(batch_command=small_scale_gcnet_command(WHOLE_ADE, (64, 48)))
    window.model_panel.select(WHOLE_ADE)
    open_and_wait(qtbot, window, folder, 2)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="ade")
    finished = []
    window.batch.finished.connect(finished.append)
    window.segment_all()  # the real `gcnet predict` process
    assert window.workahead.scheduler.paused == "batch"  # no background work while the batch runs
    qtbot.waitUntil(lambda: bool(finished), timeout=180000)
    qtbot.waitUntil(lambda: window.workahead.scheduler.paused is None, timeout=5000)
    assert finished[0].error is None and finished[0].written == 2
    project = window.session.project
    for rel in ("astronaut.png", "coffee.png"):
        stored = load_prediction(project.prediction_path(rel), (36, 48))
        assert stored.model == "ade" and np.array_equal(stored.labels, read_index_mask(project.label_path(rel)))
    qtbot.waitUntil(lambda: window.session.document is not None and window.session.document.prediction is not None,
                    timeout=5000)
    doc = window.session.document
    assert doc.confidence is not None and doc.rankings is not None
    predicted = doc.prediction.copy()

    key(window, Qt.Key.Key_C)  # Show low confidence: the heat map is drawn from the stored confidence
    assert window.action_set.confidence.isChecked() and not window.canvas.confidence_image().isNull()
    key(window, Qt.Key.Key_C)
    other = next(c for c in range(len(project.classes)) if c not in np.unique(predicted))
    window.classes_panel.set_current(other)
    key(window, Qt.Key.Key_B)
    window.canvas.set_brush_size(7)
    drag(window, [(5, 18), (40, 18)])
    assert (doc.labels[18, 8:38] == other).all()
    key(window, Qt.Key.Key_G)  # Accept prediction over the same stroke gives the model's labels back
    drag(window, [(5, 18), (40, 18)])
    assert np.array_equal(doc.labels[18, 8:38], predicted[18, 8:38])
    assert window.flush()
    window.close()

    again = make_window()  # a new session on the same folder
    open_and_wait(qtbot, again, folder, 2)
    assert np.array_equal(again.session.document.prediction, predicted) and again.session.document.rankings is not None
    key(again, Qt.Key.Key_D)
    assert again.session.current == "coffee.png" and again.session.document.confidence is not None
    key(again, Qt.Key.Key_C)
    assert not again.canvas.confidence_image().isNull()


def _settled(window) -> bool:
    scheduler = window.workahead.scheduler
    return not scheduler.queued() and not window.inference.busy


def test_work_ahead_segments_the_next_images_and_never_a_corrected_one(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint):
    folder = make_folder(tmp_path / "photos", names=("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"),
                         size=(48, 36))
    project = Project.create(folder, small_ade.classes)  # chelsea.png was corrected by a person
    corrected = np.full((36, 48), 3, np.uint8)
    write_index_mask(project.label_path("chelsea.png"), corrected, small_ade.classes)
    project.set_state("chelsea.png", "corrected")
    project.save()
    corrected_bytes = project.label_path("chelsea.png").read_bytes()

    window = make_window()
    window.model_panel.select(WHOLE_ADE)
    window.workahead.on_open_action.setChecked(True)
    window.workahead.ahead_action.setChecked(True)
    open_and_wait(qtbot, window, folder, 4)
    assert not window.workahead.scheduler.queued()  # the zoo file is not downloaded: nothing starts
    applied = []
    window.workahead.scheduler.predicted.connect(lambda result, rel: applied.append((rel, result.preview)))
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")  # a usable model: work starts by itself
    assert window.files.model.work_mark("coffee.png") == "queued"
    qtbot.waitUntil(lambda: _settled(window), timeout=120000)
    # current image first (coarse preview, then full), then the next two that need it (chelsea is skipped)
    assert applied == [("astronaut.png", True), ("astronaut.png", False), ("coffee.png", False),
                       ("rocket.jpg", False)]
    project = window.session.project
    assert [project.image_model(n) for n in ("astronaut.png", "coffee.png", "rocket.jpg")] == ["v1"] * 3
    assert project.state("chelsea.png") == "corrected" and not project.prediction_path("chelsea.png").exists()
    assert window.files.model.work_mark("coffee.png") == "fresh"
    assert window.files.model.work_mark("chelsea.png") is None
    assert window.session.document.prediction is not None and not window.session.document.preview

    # Step on: each mask is there at once, nobody pressed Pre-segment
    key(window, Qt.Key.Key_D)
    assert window.session.current == "chelsea.png"
    window.writer.flush()
    assert project.label_path("chelsea.png").read_bytes() == corrected_bytes
    start = time.perf_counter()
    key(window, Qt.Key.Key_D)
    shown = time.perf_counter() - start
    assert window.session.current == "coffee.png"
    doc = window.session.document
    assert doc.prediction is not None and np.array_equal(doc.labels, doc.prediction) and doc.rankings is not None
    assert shown < 2.0, shown  # the benchmark measures the real figure (goal: 200 ms)
    window.writer.flush()
    assert np.array_equal(read_index_mask(project.label_path("coffee.png")), doc.labels)

    # Another model version: pending work is dropped, what follows is made with the new one
    applied.clear()
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v2")
    qtbot.waitUntil(lambda: _settled(window), timeout=120000)
    assert applied and all(rel in ("coffee.png", "rocket.jpg") for rel, _ in applied)
    assert project.image_model("coffee.png") == project.image_model("rocket.jpg") == "v2"
    assert project.image_model("astronaut.png") == "v1"  # behind the current image: left alone
    assert project.label_path("chelsea.png").read_bytes() == corrected_bytes


def test_a_persons_request_goes_before_queued_work(qtbot, make_window, tmp_path, small_ade, ade_checkpoint):
    folder = make_folder(tmp_path / "photos", names=("astronaut.png", "chelsea.png", "coffee.png"), size=(48, 36))
    window = make_window()
    window.model_panel.select(WHOLE_ADE)
    window.workahead.ahead_action.setChecked(True)  # ahead only; the current image waits for the person
    open_and_wait(qtbot, window, folder, 3)
    order = []
    window.inference.finished.connect(lambda result: order.append(
        ("work" if window.workahead.scheduler.owns(result.request_id) else "person", result.image.name,
         result.preview)))
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")
    assert window.workahead.scheduler.running is not None  # chelsea.png is being segmented
    window.segment_current()  # the person asks for the current image now
    qtbot.waitUntil(lambda: _settled(window), timeout=120000)
    assert order == [("work", "chelsea.png", False), ("person", "astronaut.png", True),  # the preview first
                     ("person", "astronaut.png", False), ("work", "coffee.png", False)]
    assert window.session.project.image_model("astronaut.png") == "v1"


def test_work_ahead_waits_while_a_training_run_holds_the_machine(qtbot, window):  # noqa: F811
    from app.finetune.runs import FinetuneSettings

    ft = window.finetune
    ft.panel.form.set_settings(FinetuneSettings(iters=50, batch_size=1, crop=(16, 16), lr=0.01, val_share=0.0,
                                                val_interval=50, device="cpu", workers=0))
    events, ended = [], []
    ft.process.event.connect(events.append)
    ft.runEnded.connect(ended.append)
    ft.panel.start_button.click()
    qtbot.waitUntil(lambda: any(e["event"] == "iter" for e in events), timeout=120000)
    window.workahead.ahead_action.setChecked(True)  # turned on while it trains: nothing starts
    assert window.workahead.scheduler.paused == "training" and window.workahead.scheduler.queued()
    qtbot.wait(300)
    assert window.workahead.scheduler.running is None and not window.inference.busy
    ft.panel.cancel_button.click()
    qtbot.waitUntil(lambda: bool(ended), timeout=60000)
    qtbot.waitUntil(lambda: not window.workahead.scheduler.queued() and not window.inference.busy,
                    timeout=120000)  # the run ended: the two new images were segmented
    assert all(window.session.project.state(rel) == "predicted" for rel in ("img12.png", "img13.png"))


def test_the_selected_model_loads_before_a_folder_is_open_so_the_first_image_only_waits_for_the_network(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint):
    folder = make_folder(tmp_path / "photos", names=("astronaut.png", "coffee.png"), size=(48, 36))
    window = make_window()
    window.workahead.on_open_action.setChecked(True)
    with qtbot.waitSignal(window.inference.warmed, timeout=60000) as warmed:
        window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")  # no folder open yet
    assert warmed.args[0] == "v1" and warmed.args[2] == ""
    assert "v1 loaded" in window.statusBar().currentMessage()
    results = []
    window.inference.finished.connect(results.append)
    open_and_wait(qtbot, window, folder, 2)
    qtbot.waitUntil(lambda: window.session.document.prediction is not None and not window.session.document.preview,
                    timeout=60000)
    assert results and all(r.load_seconds == 0.0 for r in results)  # preview and full pass: the network only
    assert [r.preview for r in results[:2]] == [True, False]


def test_a_model_that_cannot_load_is_reported_when_it_is_selected(qtbot, make_window, tmp_path):
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    window = make_window()
    window.workahead.on_open_action.setChecked(True)
    with qtbot.waitSignal(window.inference.warmed, timeout=60000) as warmed:
        window.use_checkpoint(broken, WHOLE_ADE, label="broken")
    assert warmed.args[0] == "broken" and "not a PyTorch checkpoint" in warmed.args[2]
    assert "Could not load broken" in window.statusBar().currentMessage()
