"""A person's Pre-segment and work-ahead sharing the one inference thread (issue 24 items 5,
11, 12), in the real window with the tiny random-weight ADE model. A gate around the real
passes holds the inference thread where a test needs a pass to be running or queued."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402

from gcnet_core.files.masks import write_index_mask  # noqa: E402
from gcnet_core.predict import running  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from test_window import ScriptedPrompter, key, make_folder, make_window, open_and_wait, small_ade  # noqa: E402,F401

from app.workers import inference as inference_worker  # noqa: E402
from app.workers.workahead import Job  # noqa: E402
from helpers import WHOLE_ADE  # noqa: E402

NAMES = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg")


class Passes:
    """Every pass the inference thread runs, in order, as (image name, "preview" | "full");
    while ``gate`` is closed each pass waits for it before it runs."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str]] = []
        self.waiting: list[tuple[str, str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def wrap(self, run, kind: str):
        def gated(model, image, *args, **kwargs):
            name = (image.name, kind)
            self.waiting.append(name)
            self.gate.wait(60)
            self.waiting.remove(name)
            self.ran.append(name)
            return run(model, image, *args, **kwargs)
        return gated


@pytest.fixture
def passes(monkeypatch):
    recorder = Passes()
    monkeypatch.setattr(running, "inference", recorder.wrap(running.inference, "full"))
    monkeypatch.setattr(inference_worker, "preview_inference",
                        recorder.wrap(inference_worker.preview_inference, "preview"))
    yield recorder
    recorder.gate.set()  # never leave the inference thread waiting when the window closes


def open_photos(qtbot, make_window, tmp_path, count: int, *, on_open: bool = False, ahead: bool = False,
                prompter=None, before_open=None):
    """The real window on a CPU (a coarse preview before each full pass) over the first ``count``
    photos, the ADE model chosen, work-ahead on open and ahead as asked; ``before_open(folder)``
    prepares the folder before the window sees it."""
    folder = make_folder(tmp_path / "photos", names=NAMES[:count], size=(48, 36))
    if before_open is not None:
        before_open(folder)
    window = make_window(prompter) if prompter is not None else make_window()
    window.model_panel.set_options("cpu", "auto", False)
    window.model_panel.select(WHOLE_ADE)
    window.workahead.on_open_action.setChecked(on_open)
    window.workahead.ahead_action.setChecked(ahead)
    open_and_wait(qtbot, window, folder, count)
    return window


def settled(window) -> bool:
    return not window.workahead.scheduler.queued() and not window.inference.busy


def test_esc_cancels_a_presegment_queued_behind_a_background_pass_and_work_ahead_leaves_the_image_alone(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint, passes):
    window = open_photos(qtbot, make_window, tmp_path, 4, on_open=True, ahead=True)
    passes.gate.clear()
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")  # work-ahead starts on astronaut.png
    qtbot.waitUntil(lambda: passes.waiting == [("astronaut.png", "preview")], timeout=60000)
    key(window, Qt.Key.Key_D)  # the person moves on while that pass runs
    assert window.session.current == "chelsea.png"
    assert window.workahead.scheduler.queued() >= {"chelsea.png", "coffee.png"}  # queued for chelsea.png
    before = window.session.document.labels.copy()
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Pre-segment, behind that pass
    assert window.action_set.cancel_segment.isEnabled()
    key(window, Qt.Key.Key_Escape)
    assert not window.action_set.cancel_segment.isEnabled()
    assert "cancelled" in window.statusBar().currentMessage()
    passes.gate.set()
    qtbot.waitUntil(lambda: settled(window), timeout=120000)
    qtbot.wait(200)  # any result still on its way has landed
    doc = window.session.document
    assert window.session.current == "chelsea.png"
    assert np.array_equal(doc.labels, before) and doc.prediction is None  # no mask arrived, none will
    assert window.session.project.state("chelsea.png") == "new"
    assert window.session.project.state("coffee.png") == "predicted"  # the rest of the work went on
    key(window, Qt.Key.Key_D)
    key(window, Qt.Key.Key_A)  # back again: the cancel held only while the image stayed open
    qtbot.waitUntil(lambda: window.session.project.state("chelsea.png") == "predicted", timeout=120000)


def test_presegment_shows_the_coarse_preview_before_the_full_result(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint, passes):
    window = open_photos(qtbot, make_window, tmp_path, 2)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")
    passes.gate.clear()
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: passes.waiting == [("astronaut.png", "preview")], timeout=60000)
    passes.gate.set()
    doc = window.session.document
    qtbot.waitUntil(lambda: doc.prediction is not None, timeout=60000)
    shown = [doc.preview]  # the first thing on screen
    qtbot.waitUntil(lambda: not window.inference.busy, timeout=60000)
    assert shown == [True] and not doc.preview and passes.ran == [("astronaut.png", "preview"),
                                                                   ("astronaut.png", "full")]
    assert window.session.project.state("astronaut.png") == "predicted"
    assert not window.action_set.cancel_segment.isEnabled()
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one Pre-segment, one undo step
    assert doc.at_opening and not doc.can_undo


def test_presegmenting_a_corrected_image_asks_before_the_network_runs(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint, passes):
    corrected = np.full((36, 48), 3, np.uint8)

    def one_corrected(folder):
        project = Project.create(folder, small_ade.classes)
        write_index_mask(project.label_path("astronaut.png"), corrected, small_ade.classes)
        project.set_state("astronaut.png", "corrected")
        project.save()

    prompter = ScriptedPrompter(answer=False)
    window = open_photos(qtbot, make_window, tmp_path, 2, prompter=prompter, before_open=one_corrected)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert len(prompter.questions) == 1 and "pixels nobody edited" in prompter.questions[0]
    assert not window.inference.busy and not window.action_set.cancel_segment.isEnabled()  # No: no pass at all
    qtbot.wait(300)
    assert passes.ran == [] and np.array_equal(window.session.document.labels, corrected)

    prompter.answer = True
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert len(prompter.questions) == 2  # asked before the pass, never again when it lands
    qtbot.waitUntil(lambda: not window.inference.busy, timeout=60000)
    assert [kind for _, kind in passes.ran][-1] == "full" and len(prompter.questions) == 2
    assert window.session.document.prediction is not None


def test_skipping_on_takes_back_the_left_images_queued_passes_so_the_image_on_screen_goes_first(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint, passes):
    window = open_photos(qtbot, make_window, tmp_path, 4)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")
    qtbot.waitUntil(lambda: settled(window), timeout=60000)
    passes.gate.clear()
    window.workahead.on_open_action.setChecked(True)  # segment each image as it opens, and the next two
    window.workahead.ahead_action.setChecked(True)
    qtbot.waitUntil(lambda: passes.waiting == [("astronaut.png", "preview")], timeout=60000)
    assert window.workahead.scheduler.queued() == {"astronaut.png", "chelsea.png", "coffee.png"}
    for _ in range(3):  # the person skips on quickly: astronaut, chelsea, coffee, rocket
        key(window, Qt.Key.Key_D)
        qtbot.wait(50)
    assert window.session.current == "rocket.jpg"
    passes.gate.set()
    qtbot.waitUntil(lambda: settled(window) and window.session.project.state("rocket.jpg") == "predicted",
                    timeout=120000)
    # the pass already running finished; the image on screen came next, nothing ran for the images between
    assert passes.ran[:3] == [("astronaut.png", "preview"), ("rocket.jpg", "preview"), ("rocket.jpg", "full")]
    assert not {name for name, _ in passes.ran} & {"chelsea.png", "coffee.png"}


def test_a_presegment_of_an_image_the_person_left_does_not_hold_up_the_next_one(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint, passes):
    window = open_photos(qtbot, make_window, tmp_path, 4)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")
    passes.gate.clear()
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # preview runs, the full pass queues
    qtbot.waitUntil(lambda: passes.waiting == [("astronaut.png", "preview")], timeout=60000)
    window.workahead.on_open_action.setChecked(True)
    for _ in range(3):
        key(window, Qt.Key.Key_D)
    assert window.session.current == "rocket.jpg" and not window.action_set.cancel_segment.isEnabled()
    passes.gate.set()
    qtbot.waitUntil(lambda: settled(window) and window.session.project.state("rocket.jpg") == "predicted",
                    timeout=120000)
    assert passes.ran == [("astronaut.png", "preview"), ("rocket.jpg", "preview"), ("rocket.jpg", "full")]
    assert window.session.project.state("astronaut.png") == "new"  # the left image's full pass never ran


def test_a_background_pass_queued_behind_the_model_load_is_dropped_when_the_person_moves_on(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint, passes, monkeypatch):
    loading = threading.Event()  # the model load waits for it: the first pass queues behind the load
    real_load = inference_worker.init_model
    monkeypatch.setattr(inference_worker, "init_model", lambda *a, **k: (loading.wait(60), real_load(*a, **k))[1])
    window = open_photos(qtbot, make_window, tmp_path, 4, on_open=True)
    try:
        window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")
        assert window.workahead.scheduler.running == Job("astronaut.png", preview=True)  # submitted, not started
        for _ in range(3):
            key(window, Qt.Key.Key_D)
        assert window.session.current == "rocket.jpg"
    finally:
        loading.set()
    qtbot.waitUntil(lambda: settled(window) and window.session.project.state("rocket.jpg") == "predicted",
                    timeout=120000)
    assert passes.ran == [("rocket.jpg", "preview"), ("rocket.jpg", "full")]  # nothing for the images left


def test_work_aheads_preview_and_full_result_on_the_open_image_are_one_undo_step(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint, passes):
    window = open_photos(qtbot, make_window, tmp_path, 2, on_open=True)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")
    qtbot.waitUntil(lambda: settled(window) and window.session.project.state("astronaut.png") == "predicted",
                    timeout=60000)
    assert passes.ran == [("astronaut.png", "preview"), ("astronaut.png", "full")]
    doc = window.session.document
    assert doc.undo_count == 1 and not doc.preview
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert doc.at_opening


def test_esc_stops_the_pass_under_way_so_the_network_is_free_at_once(
        qtbot, make_window, tmp_path, small_ade, ade_checkpoint, passes):
    window = open_photos(qtbot, make_window, tmp_path, 2)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="v1")
    qtbot.waitUntil(lambda: settled(window), timeout=60000)
    withdrawn, finished = [], []
    window.inference.withdrawn.connect(withdrawn.append)
    window.inference.finished.connect(lambda result: finished.append(result.request_id))
    passes.gate.clear()
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: passes.waiting == [("astronaut.png", "preview")], timeout=60000)  # running now
    running_ids = (window.presegment.preview_request, window.presegment.request)
    key(window, Qt.Key.Key_Escape)
    passes.gate.set()  # the pass goes on into the network, which stops it before its first kernel
    qtbot.waitUntil(lambda: not window.inference.busy, timeout=60000)
    # both passes came back withdrawn: the running preview was stopped, not run to the end and dropped
    assert sorted(withdrawn) == sorted(running_ids) and finished == []
    assert window.session.document.prediction is None and window.session.project.state("astronaut.png") == "new"
    key(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # the next Pre-segment runs whole
    qtbot.waitUntil(lambda: not window.inference.busy, timeout=60000)
    assert window.session.project.state("astronaut.png") == "predicted"
