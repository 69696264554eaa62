"""The model-aware tools on documents with known rankings, and from the keyboard in the window."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from PIL import Image  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from app.canvas.model_tools import SuperpixelMap, snap_stroke, snap_to_edges, superpixels  # noqa: E402
from gcnet_core.files.masks import write_index_mask  # noqa: E402
from gcnet_core.model.classes import ClassSet  # noqa: E402
from gcnet_core.predict.rankings import ClassRankings  # noqa: E402
from gcnet_core.project.document import MaskDocument  # noqa: E402
from gcnet_core.project.predictions import StoredPrediction, save_prediction  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402
from test_window import at, drag, key, make_window, open_and_wait  # noqa: E402,F401

CLASSES = ClassSet(("sky", "tree", "grass", "road", "car"),
                   ((70, 130, 180), (0, 128, 0), (120, 200, 60), (128, 64, 128), (0, 0, 142)))
H, W = 60, 80


def scene() -> tuple[np.ndarray, np.ndarray]:
    """A textured photo with a bright disc (the object) and the model's labels (it called the
    disc 'tree' (1), the rest 'sky' (0))."""
    rng = np.random.default_rng(3)
    rgb = (rng.integers(30, 90, (H, W, 3))).astype(np.uint8)
    yy, xx = np.mgrid[:H, :W]
    disc = (yy - 30) ** 2 + (xx - 40) ** 2 <= 15 ** 2
    rgb[disc] = (rng.integers(200, 240, (int(disc.sum()), 3))).astype(np.uint8)
    return rgb, disc


def rankings_for(disc: np.ndarray) -> ClassRankings:
    """Known rankings on a 15x20 grid: on the disc tree 0.5, car 0.3, road 0.2; elsewhere sky 0.9."""
    grid = (H // 4, W // 4)
    small = disc[2::4, 2::4]
    classes = np.zeros((3, *grid), np.uint8)
    probs = np.zeros((3, *grid), np.uint8)
    classes[:, small] = np.array([1, 4, 3], np.uint8)[:, None]
    probs[:, small] = np.array([128, 77, 51], np.uint8)[:, None]
    classes[:, ~small] = np.array([0, 2, 1], np.uint8)[:, None]
    probs[:, ~small] = np.array([230, 20, 5], np.uint8)[:, None]
    return ClassRankings(classes, probs, (H, W))


def document() -> MaskDocument:
    _, disc = scene()
    labels = np.where(disc, 1, 0).astype(np.uint8)
    doc = MaskDocument(labels, CLASSES)
    doc.keep_model_output(labels, np.where(disc, 0.5, 0.9).astype(np.float32), rankings_for(disc))
    return doc


def test_region_classes_rank_by_mean_probability_and_paint_mask_is_one_undo_step():
    doc = document()
    ranked = doc.region_classes(40, 30)
    assert [c for c, _ in ranked][:3] == [1, 4, 3]  # then sky and grass from the edge cells
    assert ranked[0][1] == pytest.approx(128 / 255, abs=0.05)  # edge cells of the coarse grid mix
    assert [c for c, _ in doc.region_classes(2, 2)][:1] == [0]
    before = doc.labels.copy()
    origin, mask = doc.region_at(40, 30)
    assert doc.paint_mask(mask, origin, 4) is not None
    assert (doc.labels[scene()[1]] == 4).all() and doc.edited[30, 40] and not doc.edited[2, 2]
    doc.undo()
    assert np.array_equal(doc.labels, before)


def test_snap_grows_a_stroke_to_the_object_edges():
    rgb, disc = scene()
    seed = np.zeros_like(disc)
    seed[28:33, 34:47] = True  # a short stroke in the middle of the disc
    found = snap_to_edges(rgb, seed)
    iou = (found & disc).sum() / (found | disc).sum()
    assert iou > 0.9, iou


def spilled(disc: np.ndarray, by: int = 4) -> np.ndarray:
    """The disc grown by ``by`` pixels: a model that drew the object too big."""
    import cv2

    return cv2.dilate(disc.astype(np.uint8), np.ones((2 * by + 1, 2 * by + 1), np.uint8)).astype(bool)


def middle_stroke() -> np.ndarray:
    stroke = np.zeros((H, W), bool)
    stroke[29:32, 34:47] = True
    return stroke


def apply(doc: MaskDocument, snapped) -> None:
    origin, values, mask = snapped
    assert doc.paint_mask(mask, origin, values) is not None


@pytest.mark.parametrize("second", [0, 2])
def test_snap_shrinks_an_object_that_spills_over_its_edges_and_the_rim_takes_the_models_next_class(second):
    rgb, disc = scene()
    fat = spilled(disc)
    labels = np.where(fat, 1, 0).astype(np.uint8)
    labels[2:6, 2:8] = 1  # another, separate tree in the corner: not the stroke's object
    rim = fat & ~disc
    classes = np.zeros((2, H, W), np.uint8)
    probs = np.zeros((2, H, W), np.uint8)
    classes[0], classes[1] = np.where(fat, 1, 0), np.where(fat, second, 1)
    probs[0], probs[1] = 200, 50
    rankings = ClassRankings(classes, probs, (H, W))
    doc = MaskDocument(labels, CLASSES)
    doc.keep_model_output(labels, None, rankings)
    before = doc.labels.copy()
    apply(doc, snap_stroke(rgb, doc.labels, middle_stroke(), 1, doc.prediction, doc.rankings, len(CLASSES)))
    tree = doc.labels == 1
    tree[2:6, 2:8] = False
    assert (tree & disc).sum() / (tree | disc).sum() > 0.9
    released = rim & (doc.labels != 1)
    assert released.sum() > 0.9 * rim.sum()
    assert (doc.labels[released] == second).all()  # sky, or grass where the model ranked grass second
    assert (doc.labels[2:6, 2:8] == 1).all()  # the other tree is left alone
    doc.undo()  # one step
    assert np.array_equal(doc.labels, before)


def test_snap_gives_released_pixels_the_neighbouring_label_without_rankings():
    rgb, disc = scene()
    labels = np.where(spilled(disc), 1, 0).astype(np.uint8)
    labels[:, :8] = 2  # grass on the left, away from the disc
    doc = MaskDocument(labels, CLASSES)
    apply(doc, snap_stroke(rgb, doc.labels, middle_stroke(), 1))
    rim = spilled(disc) & ~disc
    assert (doc.labels[rim & (doc.labels != 1)] == 0).all() and (rim & (doc.labels == 0)).sum() > 0.9 * rim.sum()


def test_snap_never_cuts_an_object_that_goes_on_beyond_its_neighbourhood():
    """A short stroke in a big region: the region only grows, nothing of it is given away."""
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 255, (300, 400, 3)).astype(np.uint8)  # no edges to follow
    labels = np.zeros((300, 400), np.uint8)
    labels[:, :300] = 3
    stroke = np.zeros((300, 400), bool)
    stroke[150, 140:160] = True
    origin, values, mask = snap_stroke(rgb, labels, stroke, 3, labels)
    x0, y0 = origin
    window = labels[y0:y0 + mask.shape[0], x0:x0 + mask.shape[1]]
    assert (values[mask & (window == 3)] == 3).all()


def test_best_other_is_the_models_next_class_per_pixel():
    classes = np.array([[[1, 2]], [[0, 1]], [[4, 3]]], np.uint8)  # k=3, a 1x2 grid
    probs = np.array([[[200, 150]], [[40, 60]], [[0, 30]]], np.uint8)
    rankings = ClassRankings(classes, probs, (2, 4))
    assert rankings.best_other(1, (0, 2, 0, 4)).tolist() == [[0, 0, 2, 2]] * 2
    assert rankings.best_other(2, (0, 1, 2, 4), class_count=2).tolist() == [[1, 1]]
    assert rankings.best_other(0, (0, 1, 0, 1)).tolist() == [[1]]  # class 4 has probability 0 there


def test_superpixels_cover_the_image_and_respect_a_sharp_edge():
    rgb = np.zeros((64, 96, 3), np.uint8)
    rgb[:, :50] = (200, 40, 40)
    rgb[:, 50:] = (40, 40, 200)
    rgb = np.clip(rgb.astype(int) + np.random.default_rng(0).integers(-10, 10, rgb.shape), 0, 255).astype(np.uint8)
    ids = superpixels(rgb, size=16)
    assert ids.min() >= 1 and len(np.unique(ids)) >= 12
    # pixels of a superpixel on the other side of the edge than most of it: at most the line itself
    wrong = sum(min((ids[:, :50] == i).sum(), (ids[:, 50:] == i).sum()) for i in np.unique(ids))
    assert wrong <= 64, wrong
    mapped = SuperpixelMap(rgb, size=16, tile=32)  # tiles: a disc near a tile corner grows in both
    mask = np.zeros((4, 4), bool)
    mask[1:3, 1:3] = True
    (y0, y1, x0, x1), grown = mapped.covering((30, 34, 30, 34), mask)
    assert (y0, x0) == (0, 0) and grown.sum() > mask.sum() and grown[31 - y0, 31 - x0]


@pytest.fixture
def labelled_folder(tmp_path):
    """A one-image project whose stored prediction carries the known rankings."""
    return one_image_project(tmp_path, scene()[1])


def one_image_project(tmp_path, tree: np.ndarray):
    """The disc photo, with the model's labels: ``tree`` is tree, the rest sky."""
    rgb, disc = scene()
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(rgb).save(folder / "disc.png")
    project = Project.create(folder, CLASSES)
    labels = np.where(tree, 1, 0).astype(np.uint8)
    write_index_mask(project.label_path("disc.png"), labels, CLASSES)
    save_prediction(project.prediction_path("disc.png"),
                    StoredPrediction(labels, np.where(disc, 0.5, 0.9).astype(np.float32), rankings_for(disc),
                                     CLASSES.names, "v1"))
    project.set_state("disc.png", "predicted", "v1")
    project.save()
    return folder, disc


def test_relabel_leaves_the_pixels_a_person_painted(qtbot, make_window, labelled_folder):
    """R gives the model's region the class, but not the pixels a person painted there a
    moment before with the brush (the region tools never change a person's pixels)."""
    folder, disc = labelled_folder
    window = make_window()
    open_and_wait(qtbot, window, folder, 1)
    doc = window.session.document
    assert doc.prediction is not None and (doc.labels[disc] == 1).all()  # the model's tree
    key(window, Qt.Key.Key_3)  # grass, painted by hand across the tree
    key(window, Qt.Key.Key_B)
    window.canvas.set_brush_size(5)
    drag(window, [(30, 30), (40, 30), (50, 30)])
    painted = doc.edited.copy()
    assert painted[disc].sum() > 50 and (doc.labels[painted] == 2).all()
    key(window, Qt.Key.Key_5)  # car
    key(window, Qt.Key.Key_R)
    drag(window, [(40, 20)])  # a click on the predicted tree, off the stroke
    assert (doc.labels[painted] == 2).all()  # the person's pixels keep their class
    assert (doc.labels[disc & ~painted] == 4).all() and (doc.labels[~disc & ~painted] == 0).all()


def test_model_tools_from_the_keyboard_in_the_window(qtbot, make_window, labelled_folder):
    folder, disc = labelled_folder
    window = make_window()
    open_and_wait(qtbot, window, folder, 1)
    doc, canvas = window.session.document, window.canvas
    assert doc.rankings is not None
    start = doc.labels.copy()

    key(window, Qt.Key.Key_K)  # pick: click the disc, its classes appear; 2 gives the second
    assert canvas.tool() == "pick"
    drag(window, [(40, 30)])
    assert canvas.picker.isVisible() and canvas.picker.choices[:3] == [1, 4, 3]
    key(window, Qt.Key.Key_2)
    assert not canvas.picker.isVisible() and (doc.labels[disc] == 4).all()
    assert window.classes_panel.current() != 1  # the digit went to the picker, not the class hotkeys
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, start)

    # N cycles the region under the cursor through its ranking: tree -> car -> road -> ... -> tree
    ranking = [c for c, _ in doc.region_classes(40, 30)]
    QTest.mouseMove(canvas.viewport(), at(window, 40, 30))
    seen = []
    for _ in ranking:
        key(window, Qt.Key.Key_N)
        seen.append(int(doc.labels[30, 40]))
    assert seen[:2] == [4, 3] and seen == ranking[1:] + ranking[:1] and (doc.labels[disc] == 1).all()
    for _ in ranking:
        key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, start)

    # S: a short stroke of class road inside the disc snaps to its edge
    window.classes_panel.set_current(3)
    key(window, Qt.Key.Key_S)
    canvas.set_brush_size(3)
    drag(window, [(36, 30), (44, 30)])
    qtbot.waitUntil(lambda: (doc.labels == 3).any(), timeout=10000)  # GrabCut runs on a pool thread
    road = doc.labels == 3
    assert (road & disc).sum() / (road | disc).sum() > 0.85
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, start)
    # ... or four clicks of a rough square around the disc, then Enter
    for corner in ((23, 13), (57, 13), (57, 47), (23, 47)):
        drag(window, [corner])
    assert canvas.picker.isHidden() and np.array_equal(doc.labels, start)  # nothing painted before closing
    key(window, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: (doc.labels == 3).any(), timeout=10000)
    road = doc.labels == 3
    assert (road & disc).sum() / (road | disc).sum() > 0.85
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, start)

    # X: the superpixel brush paints more than its disc, and stops at the object's edge
    key(window, Qt.Key.Key_X)
    canvas.set_brush_size(3)
    drag(window, [(5, 5), (12, 5)])
    painted = doc.labels == 3
    assert painted.sum() > 3 * 9 and not (painted & disc).any()
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, start)


def test_snap_stroke_in_the_window_shrinks_an_object_the_model_drew_too_big(qtbot, make_window, tmp_path):
    _, disc = scene()
    folder, _ = one_image_project(tmp_path, spilled(disc))
    window = make_window()
    open_and_wait(qtbot, window, folder, 1)
    doc = window.session.document
    start = doc.labels.copy()
    window.classes_panel.set_current(1)
    key(window, Qt.Key.Key_S)
    window.canvas.set_brush_size(3)
    drag(window, [(36, 30), (44, 30)])  # a short stroke of tree inside the disc
    qtbot.waitUntil(lambda: not np.array_equal(doc.labels, start), timeout=10000)  # GrabCut runs on a pool thread
    tree = doc.labels == 1
    assert (tree & disc).sum() / (tree | disc).sum() > 0.9
    released = spilled(disc) & ~tree
    model_next = doc.rankings.best_other(1, (0, H, 0, W))  # sky around the disc, car in the disc's cells
    assert released.sum() > 0.9 * (spilled(disc) & ~disc).sum()
    assert np.array_equal(doc.labels[released], model_next[released]) and (doc.labels[released] == 0).mean() > 0.5
    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, start)


def test_a_snap_lands_when_it_returns_unless_that_area_was_edited_meanwhile(qtbot, make_window, tmp_path):
    _, disc = scene()
    folder, _ = one_image_project(tmp_path, spilled(disc))
    window = make_window()
    open_and_wait(qtbot, window, folder, 1)
    doc, canvas = window.session.document, window.canvas
    held = []
    canvas.run_in_background = lambda fn, done, failed: held.append((fn, done))  # GrabCut still running
    window.classes_panel.set_current(1)
    key(window, Qt.Key.Key_S)
    canvas.set_brush_size(3)
    drag(window, [(36, 30), (44, 30)])
    assert len(held) == 1 and np.array_equal(doc.labels, np.where(spilled(disc), 1, 0))  # nothing yet
    assert drawn_paths(canvas)  # the stroke stays on screen while GrabCut runs
    key(window, Qt.Key.Key_B)  # meanwhile the person paints grass inside the disc
    window.classes_panel.set_current(2)
    drag(window, [(40, 28), (41, 28)])
    painted = doc.labels.copy()
    fn, done = held.pop()
    done(fn())
    assert np.array_equal(doc.labels, painted)  # the person's stroke wins
    assert "Snap dropped" in window.statusBar().currentMessage()

    key(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # no edit meanwhile: it lands
    window.classes_panel.set_current(1)
    key(window, Qt.Key.Key_S)
    drag(window, [(36, 30), (44, 30)])
    assert drawn_paths(canvas)
    fn, done = held.pop()
    done(fn())
    tree = doc.labels == 1
    assert (tree & disc).sum() / (tree | disc).sum() > 0.9
    assert not drawn_paths(canvas)  # landed: the stroke is gone


def drawn_paths(canvas) -> list:
    from PySide6.QtWidgets import QGraphicsPathItem

    return [i for i in canvas.scene().items() if isinstance(i, QGraphicsPathItem) and not i.path().isEmpty()]
