"""Live adaptation in the real window (issue 22 items 2 and 3): a person marks images done, the
classifier is re-fitted on their features on the adaptation thread, adopted only when better,
and the untouched images and the strokes' surroundings follow without a network pass."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QDialogButtonBox  # noqa: E402

from gcnet_core import init_model  # noqa: E402
from gcnet_core.adapt.head import Cancelled  # noqa: E402
from gcnet_core.adapt.job import LiveAdapter  # noqa: E402
from gcnet_core.files.masks import read_index_mask  # noqa: E402
from gcnet_core.model.classes import ClassSet  # noqa: E402
from gcnet_core.predict import running  # noqa: E402
from gcnet_core.predict.features import FeatureExtractor  # noqa: E402
from gcnet_core.project.document import MaskDocument  # noqa: E402
from gcnet_core.project.feature_cache import FeatureCache, content_key  # noqa: E402
from gcnet_core.project.session import AnnotationSession  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from test_window import draw_polygon, drag, key, make_window, open_and_wait, small_ade  # noqa: E402,F401

from app.workers.adaptation import AdaptationService  # noqa: E402
from helpers import WHOLE_ADE  # noqa: E402
from test_session import ImmediateWriter  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

W, H = 48, 36
RED, BLUE = (200, 40, 40), (40, 40, 200)
SPLITS = {"a.png": 16, "b.png": 32, "c.png": 24, "d.png": 20}  # red left of the split, blue right
UNTOUCHED = "c.png"


def write_images(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, split in SPLITS.items():
        pixels = np.zeros((H, W, 3), np.uint8)
        pixels[:, :split], pixels[:, split:] = RED, BLUE
        Image.fromarray(pixels).save(folder / name)


def colour_truth(name: str, red: int, blue: int) -> np.ndarray:
    truth = np.full((H, W), blue, np.uint8)
    truth[:, :SPLITS[name]] = red
    return truth


def agreement(labels: np.ndarray, name: str) -> float:
    """Share of pixels labelled 1 on red and 2 on blue (the classes the person gives them)."""
    return float((labels == colour_truth(name, 1, 2)).mean())


@pytest.fixture
def live_window(qtbot, make_window, tmp_path, small_ade, ade_checkpoint, monkeypatch):
    """The window on four red/blue images: every one pre-segmented as all class 0 by "ade" with
    its features cached (as a prediction pass keeps them), live adaptation on, and every
    network pass counted."""
    folder = tmp_path / "photos"
    write_images(folder)
    project = Project.create(folder, small_ade.classes)
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cpu")
    extractor, cache = FeatureExtractor(model.network, model.entry), FeatureCache(project.features_root)
    for name in SPLITS:
        project.write_masks(name, np.zeros((H, W), np.uint8), None, small_ade.classes)
        project.set_state(name, "predicted", "ade")
        cache.put(content_key(folder / name), extractor.version, extractor(np.asarray(Image.open(folder / name))))
    project.save()
    passes = []
    real_inference = running.inference
    monkeypatch.setattr(running, "inference", lambda *a, **k: passes.append(a) or real_inference(*a, **k))
    window = make_window()
    window.model_panel.select(WHOLE_ADE)
    window.use_checkpoint(ade_checkpoint, WHOLE_ADE, label="ade")
    open_and_wait(qtbot, window, folder, len(SPLITS))
    window.live.set_enabled(True)
    assert window.live.holder.adapter is None or window.live.service.busy  # the worker's model loads at once
    qtbot.waitUntil(lambda: not window.live.service.busy, timeout=60000)
    assert window.live.holder.adapter is not None
    window.passes = passes
    return window


def label_by_colour(qtbot, window, name: str, red: int, blue: int) -> None:
    """Open ``name``, draw its red and blue parts as polygons, mark it done (Ctrl+D)."""
    window.open_image(name)
    split = SPLITS[name]
    draw_polygon(window, [(0, 0), (split - 1, 0), (split - 1, H - 1), (0, H - 1)], red)
    draw_polygon(window, [(split, 0), (W - 1, 0), (W - 1, H - 1), (split, H - 1)], blue)
    assert np.array_equal(window.session.document.labels, colour_truth(name, red, blue))
    key(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert window.session.project.state(name) == "corrected"


def settle(qtbot, window, timeout=60000) -> None:
    qtbot.waitUntil(lambda: not window.live.service.busy and not window.live.round_due, timeout=timeout)
    assert window.writer.flush()


def test_two_done_images_relabel_an_untouched_one_without_a_network_pass(qtbot, live_window):
    window = live_window
    project = window.session.project
    before = read_index_mask(project.label_path(UNTOUCHED))
    label_by_colour(qtbot, window, "a.png", 1, 2)
    label_by_colour(qtbot, window, "b.png", 1, 2)
    window.open_image("d.png")  # leaving b for an image that stays untouched
    settle(qtbot, window)
    result = window.live.last_result
    assert result is not None and result.adopted and result.corrected == 2
    line = window.status_labels.live.text()
    assert line.startswith("live model: 2 corrected images,") and "% pixels right on held-out images (was" in line
    assert "; 2 untouched images re-labelled" in line and window.live.last_round_seconds is not None
    after = read_index_mask(project.label_path(UNTOUCHED))
    assert agreement(before, UNTOUCHED) == 0 and agreement(after, UNTOUCHED) > 0.7  # red and blue follow the person
    doc = window.session.document  # the open image too, saved
    assert agreement(doc.labels, "d.png") > 0.7 and not doc.edited.any()
    assert np.array_equal(doc.labels, read_index_mask(project.label_path("d.png")))
    assert window.passes == []  # no network pass: features from the cache, a matrix product each
    for name in ("a.png", "b.png"):  # the person's images are never changed
        assert np.array_equal(read_index_mask(project.label_path(name)), colour_truth(name, 1, 2))
    assert project.image_model(UNTOUCHED) == "ade" and project.state(UNTOUCHED) == "predicted"


def test_switched_off_nothing_changes(qtbot, live_window):
    window = live_window
    project = window.session.project
    key_off = window.action_set.live_enabled
    key_off.trigger()  # Model > Live Adaptation: off
    assert not window.live.enabled and not window.settings.get("live_adaptation")
    assert window.status_labels.live.text() == "live model: off"
    before = project.label_path(UNTOUCHED).read_bytes()
    jobs = window.live.service.latest  # the round asked for while it was on may still end
    label_by_colour(qtbot, window, "a.png", 1, 2)
    label_by_colour(qtbot, window, "b.png", 1, 2)
    window.open_image("d.png")
    assert window.writer.flush()
    qtbot.wait(300)
    qtbot.waitUntil(lambda: not window.live.service.busy, timeout=30000)
    assert window.live.service.latest == jobs and window.live.last_result is None  # nothing asked for
    assert project.label_path(UNTOUCHED).read_bytes() == before


def test_a_worse_head_is_never_adopted(qtbot, live_window):
    """A third done image whose labels contradict the first two: every fit that learns from it
    labels the others worse on held-out pixels, so the live model stays as it was and no
    untouched mask changes."""
    window = live_window
    project = window.session.project
    label_by_colour(qtbot, window, "a.png", 1, 2)
    label_by_colour(qtbot, window, "b.png", 1, 2)
    window.open_image(UNTOUCHED)
    settle(qtbot, window)
    first = window.live.last_result
    assert first.adopted and window.live.holder.adapter.head is first.head
    before = project.label_path(UNTOUCHED).read_bytes()
    label_by_colour(qtbot, window, "d.png", 2, 1)  # red and blue swapped
    window.open_image("a.png")
    settle(qtbot, window)
    result = window.live.last_result
    assert result is not first and result.corrected == 3 and not result.adopted
    assert result.score_after.correct < result.score_before.correct
    assert window.status_labels.live.text().startswith("live model kept:")
    assert window.live.holder.adapter.head is first.head  # the better head stays in use
    assert project.label_path(UNTOUCHED).read_bytes() == before


def test_a_newer_correction_cancels_the_running_round(qtbot, live_window, monkeypatch):
    """The round for a.png is held at its start until a newer job cancels it (the fit itself is
    real); marking b.png done cancels it and the round that runs to its end sees both."""
    window = live_window
    real_round, held = LiveAdapter.round, threading.Event()

    def round_held_once(adapter, project, **kwargs):
        if project.images_with_state("corrected") and not held.is_set():
            held.set()
            kwargs["cancel"].wait(30)
        return real_round(adapter, project, **kwargs)

    monkeypatch.setattr(LiveAdapter, "round", round_held_once)
    cancelled, done = [], []
    window.live.service.cancelled.connect(cancelled.append)
    window.live.service.done.connect(lambda job_id, _result: done.append(job_id))
    label_by_colour(qtbot, window, "a.png", 1, 2)
    qtbot.waitUntil(held.is_set, timeout=30000)
    running = window.live.service.latest
    label_by_colour(qtbot, window, "b.png", 1, 2)  # a newer correction while that round runs
    settle(qtbot, window)
    assert running in cancelled and running not in done
    assert window.live.last_result.corrected == 2 and window.live.last_result.adopted


def test_service_cancels_the_running_job_for_a_newer_one(qtbot):
    service = AdaptationService()
    started, outcome = threading.Event(), []
    service.cancelled.connect(lambda job_id: outcome.append(("cancelled", job_id)))
    service.done.connect(lambda job_id, result: outcome.append(("done", job_id, result)))

    def slow(cancel, _report):
        started.set()
        if not cancel.wait(30):
            return "ran to its end"
        raise Cancelled()

    def quick(_cancel, report):
        report("piece")
        return "second"

    service.partial.connect(lambda job_id, piece: outcome.append(("partial", job_id, piece)))
    first = service.submit(slow)
    assert started.wait(10)
    second = service.submit(quick)
    qtbot.waitUntil(lambda: len(outcome) == 3, timeout=10000)
    service.shutdown()
    assert outcome == [("cancelled", first), ("partial", second, "piece"), ("done", second, "second")]
    assert not service.busy


def test_strokes_relabel_the_open_image_and_one_undo_takes_it_all_back(qtbot, live_window):
    window = live_window
    label_by_colour(qtbot, window, "a.png", 1, 2)
    label_by_colour(qtbot, window, "b.png", 1, 2)
    window.open_image(UNTOUCHED)
    settle(qtbot, window)
    doc = window.session.document
    opened = doc.labels.copy()
    timings = []
    for attempt in range(2):  # the first stroke also loads the model on the adaptation thread
        window.live.last_stroke_seconds = None
        key(window, Qt.Key.Key_B)
        window.canvas.set_brush_size(3)
        window.classes_panel.set_current(3)
        drag(window, [(2, 10), (8, 10)])  # a short stroke of a third class on red
        painted = doc.edited.copy()
        stroke_only = np.where(painted, 3, opened)
        qtbot.waitUntil(lambda: window.live.last_stroke_seconds is not None, timeout=30000)
        timings.append(window.live.last_stroke_seconds)
        changed = (doc.labels != stroke_only) & ~painted
        assert changed.any()  # the rest of the image followed the stroke
        assert (doc.labels[painted] == 3).all()  # the strokes stay as painted
        key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo: the stroke and its effect
        assert np.array_equal(doc.labels, opened) and not doc.edited.any()
    assert timings[1] < 1.0, timings  # stroke's end to the refreshed image
    assert window.passes == []


def test_join_last_step_is_one_undo_step_with_the_stroke():
    doc = MaskDocument(np.zeros((6, 8), np.uint8), ClassSet(("a", "b", "c"), ((0, 0, 0),) * 3))
    doc.paint_disc((1, 1), None, 1, 2)
    token = doc.last_step
    doc.mark_clean()
    assert doc.join_last_step(np.ones((6, 8), np.uint8), token) is not None
    assert doc.dirty and doc.undo_count == 1
    assert (doc.labels[doc.edited] == 2).all() and (doc.labels[~doc.edited] == 1).all()
    assert doc.join_last_step(np.ones((6, 8), np.uint8), object()) is None  # another step: refused
    doc.undo()
    assert not doc.labels.any() and not doc.edited.any()
    doc.redo()
    assert (doc.labels[~doc.edited] == 1).all() and doc.edited.sum() > 0


def test_publish_the_live_model_as_a_version_listed_with_the_fine_tuned_ones(qtbot, live_window):
    window = live_window
    project = window.session.project
    window.action_set.live_publish.trigger()  # nothing adopted yet: said, nothing written
    assert window.finetune.registry.list() == []
    label_by_colour(qtbot, window, "a.png", 1, 2)
    label_by_colour(qtbot, window, "b.png", 1, 2)
    window.open_image("d.png")
    settle(qtbot, window)
    window.action_set.live_publish.trigger()  # Model > Publish Live Model as a Version
    qtbot.waitUntil(lambda: len(window.finetune.registry.list()) == 1 and not window.live.service.busy,
                    timeout=30000)
    (version,) = window.finetune.registry.list()
    # the registry is written on the worker; the panel lists it when the window hears it is done
    qtbot.waitUntil(lambda: any(c.label == version.id for c in window.model_panel.extra_choices()), timeout=30000)
    assert version.base_model == WHOLE_ADE and version.classes == list(project.classes.names)
    assert version.fine_tuned and version.parent == "ade" and version.images["train"] == ["a.png", "b.png"]
    listed = [choice for choice in window.model_panel.extra_choices() if choice.label == version.id]
    assert len(listed) == 1 and listed[0].fine_tuned, window.statusBar().currentMessage()
    published = init_model(WHOLE_ADE, version.checkpoint, device="cpu")  # an ordinary checkpoint
    assert published.classes.names == project.classes.names
    weight, bias = window.live.holder.adapter.head.conv_seg()
    assert torch.allclose(published.network.decode_head.conv_seg.weight, weight)
    assert torch.allclose(published.network.decode_head.conv_seg.bias, bias)


def test_the_menu_switch_and_preferences_are_one_setting(qtbot, live_window):
    window = live_window
    dialog = window.show_preferences()
    assert dialog.live_check.isChecked()
    dialog.live_check.setChecked(False)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not window.action_set.live_enabled.isChecked() and not window.settings.get("live_adaptation")
    window.action_set.live_enabled.trigger()  # back on from the Model menu
    assert window.settings.get("live_adaptation") and window.show_preferences().live_check.isChecked()


def test_an_image_a_network_pass_labels_gets_the_live_model_labels(qtbot, live_window):
    window = live_window
    label_by_colour(qtbot, window, "a.png", 1, 2)
    label_by_colour(qtbot, window, "b.png", 1, 2)
    window.open_image(UNTOUCHED)
    settle(qtbot, window)
    doc = window.session.document
    live = doc.labels.copy()
    assert agreement(live, UNTOUCHED) > 0.7
    window.segment_current()  # Pre-segment: the network's labels first ...
    qtbot.waitUntil(lambda: len(window.passes) == 1 and not window.inference.busy, timeout=30000)
    qtbot.waitUntil(lambda: np.array_equal(window.session.document.labels, live), timeout=30000)  # then the live head's
    assert window.session.project.state(UNTOUCHED) == "predicted"


def test_rounds_wait_while_segment_all_holds_the_machine(qtbot, live_window, monkeypatch):
    window = live_window
    project = window.session.project
    before = project.label_path(UNTOUCHED).read_bytes()
    holding = [True]
    monkeypatch.setattr(type(window.batch), "running", property(lambda _self: holding[0]))
    try:
        window._batch_changed()  # as when Segment all starts
        label_by_colour(qtbot, window, "a.png", 1, 2)
        label_by_colour(qtbot, window, "b.png", 1, 2)
        window.open_image("d.png")
        assert window.writer.flush()
        qtbot.waitUntil(lambda: window.status_labels.live.text() == "live model: waits while batch holds the machine",
                        timeout=30000)
        assert window.live.round_due and window.live.last_result is None and not window.live.service.busy
        assert project.label_path(UNTOUCHED).read_bytes() == before
    finally:
        holding[0] = False  # the window closes as after Segment all
    window._batch_changed()  # Segment all ended: the round that waited runs
    settle(qtbot, window)
    assert window.live.last_result.adopted and project.label_path(UNTOUCHED).read_bytes() != before


def test_opening_a_folder_learns_from_its_done_images(qtbot, live_window):
    window = live_window
    project = window.session.project
    for name in ("a.png", "b.png"):  # done in an earlier session
        project.write_masks(name, colour_truth(name, 1, 2), np.ones((H, W), bool), project.classes)
        project.set_state(name, "corrected")
    project.save()
    before = project.label_path(UNTOUCHED).read_bytes()
    open_and_wait(qtbot, window, project.root, len(SPLITS))
    settle(qtbot, window)
    assert window.live.last_result.adopted and window.live.last_result.corrected == 2
    assert project.label_path(UNTOUCHED).read_bytes() != before
    assert agreement(read_index_mask(project.label_path(UNTOUCHED)), UNTOUCHED) > 0.7


def test_relabelled_masks_go_through_the_rule(tmp_path):
    """Qt-free: only a pre-segmented image takes live labels; a person's edited pixels keep theirs;
    new, edited and done images are refused and left as they are."""
    classes = ClassSet(("road", "car", "tree"), ((128, 64, 128), (0, 0, 142), (107, 142, 35)))
    session = AnnotationSession(ImmediateWriter())
    project = Project.create(tmp_path / "p", classes)
    session.open_project(project)
    edited = np.zeros((4, 5), bool)
    edited[0, 0] = True
    project.write_masks("a.png", np.where(edited, 2, 0).astype(np.uint8), edited, classes)
    project.set_state("a.png", "predicted", "ade")
    for rel, state in (("d.png", "edited"), ("c.png", "corrected")):
        project.write_masks(rel, np.zeros((4, 5), np.uint8), None, classes)
        project.set_state(rel, state)
    ones = np.ones((4, 5), np.uint8)
    assert session.apply_relabel("a.png", ones)
    assert np.array_equal(project.read_labels("a.png"), np.where(edited, 2, 1))
    assert project.state("a.png") == "predicted" and project.image_model("a.png") == "ade"
    for rel in ("b.png", "c.png", "d.png"):
        assert not session.apply_relabel(rel, ones)
    assert not project.label_path("b.png").exists()
    assert not project.read_labels("c.png").any() and not project.read_labels("d.png").any()


def test_the_features_a_pre_segmentation_keeps_are_the_ones_the_round_relabels_from(qtbot, live_window):
    window = live_window
    project = window.session.project
    for path in project.features_root.rglob("*.feat"):  # as if nothing was cached yet
        path.unlink()
    window.session.features.clear_memory()
    window.open_image(UNTOUCHED)
    window.segment_current()  # the one network pass: it keeps c.png's features
    qtbot.waitUntil(lambda: len(window.passes) == 1 and not window.inference.busy, timeout=30000)
    qtbot.waitUntil(lambda: len(list(project.features_root.rglob("*.feat"))) == 1, timeout=10000)
    assert window.writer.flush()
    before = project.label_path(UNTOUCHED).read_bytes()
    label_by_colour(qtbot, window, "a.png", 1, 2)  # their features are computed on the adaptation thread
    label_by_colour(qtbot, window, "b.png", 1, 2)
    window.open_image("d.png")
    settle(qtbot, window)
    assert window.live.last_result.adopted and len(window.passes) == 1
    assert project.label_path(UNTOUCHED).read_bytes() != before
    assert agreement(read_index_mask(project.label_path(UNTOUCHED)), UNTOUCHED) > 0.7


def test_the_stroke_fit_gets_what_the_second_leaves():
    from app.controllers.live_adaptation import STROKE_BUDGET_S, STROKE_GOAL_S, stroke_budget

    low, high = STROKE_BUDGET_S
    assert stroke_budget(0.0, 0.0) == high  # an idle machine: the longest fit
    assert stroke_budget(0.2, 0.3) == pytest.approx(STROKE_GOAL_S - 0.5)  # the pause and the rest come first
    assert stroke_budget(0.3, 0.5) == pytest.approx(stroke_budget(0.2, 0.6))  # waited or busy: the same
    assert stroke_budget(0.3, 0.5) < stroke_budget(0.2, 0.3)  # a busier machine: less
    assert stroke_budget(0.4, 2.0) == low  # never nothing: a few steps from the head in use


def test_the_first_done_image_is_learnt_and_relabels_the_untouched_ones(qtbot, live_window):
    window = live_window
    project = window.session.project
    before = project.label_path(UNTOUCHED).read_bytes()
    label_by_colour(qtbot, window, "a.png", 1, 2)
    window.open_image("d.png")
    settle(qtbot, window)
    line = window.status_labels.live.text()
    # one done image is scored on held-out parts of itself; a fit on the other parts gets more
    # of them right than the model (which labels everything class 0) and is adopted
    assert line.startswith("live model: 1 corrected image, ") and "held-out parts of 1 corrected image" in line
    assert window.live.last_result.adopted and window.live.relabelled >= 1
    assert project.label_path(UNTOUCHED).read_bytes() != before
    assert agreement(read_index_mask(project.label_path(UNTOUCHED)), UNTOUCHED) > 0.3  # was 0: all class 0
    assert window.passes == []
