"""MaskDocument: editing operations, edited flags, and exact undo/redo with rectangle diffs."""

from __future__ import annotations

import numpy as np
import pytest

from gcnet_core.model.classes import DATASET_CLASSES, IGNORE_INDEX
from gcnet_core.project.document import MaskDocument

CS = DATASET_CLASSES["cityscapes"]


def doc_of(labels, **kwargs) -> MaskDocument:
    return MaskDocument(np.asarray(labels, dtype=np.uint8), CS, **kwargs)


def disc(shape, cx, cy, r):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def test_brush_disc_sets_values_and_edited_flags():
    doc = doc_of(np.full((40, 50), 2))
    rect = doc.paint_disc((20, 15), None, 4, 7)
    expected = disc(doc.shape, 20, 15, 4)
    assert np.array_equal(doc.labels == 7, expected)
    assert np.array_equal(doc.edited, expected)
    assert rect == (16, 11, 9, 9)
    assert doc.undo_count == 1 and doc.dirty


def test_brush_segment_has_no_gaps_and_clips_at_borders():
    doc = doc_of(np.zeros((30, 200)))
    doc.paint_disc((-5, 10), (250, 10), 2, 4)  # starts and ends outside the image
    assert (doc.labels[8:13, :] == 4).all()
    assert (doc.labels[:7] == 0).all() and (doc.labels[14:] == 0).all()


def test_eraser_writes_ignore():
    doc = doc_of(np.full((20, 20), 3))
    doc.paint_disc((10, 10), (12, 10), 3, IGNORE_INDEX)
    assert doc.labels[10, 10] == IGNORE_INDEX and doc.labels[10, 15] == IGNORE_INDEX
    assert doc.labels[0, 0] == 3


def test_only_over_protects_other_classes():
    labels = np.zeros((20, 20))
    labels[:, 10:] = 5
    doc = doc_of(labels)
    doc.paint_disc((10, 10), None, 6, 9, only_over=5)
    hit = disc(doc.shape, 10, 10, 6)
    assert (doc.labels[:, :10] == 0).all()
    assert (doc.labels[hit & (labels == 5)] == 9).all()
    assert not doc.edited[:, :10].any()


def test_polygon_fill():
    doc = doc_of(np.full((30, 30), IGNORE_INDEX))
    doc.fill_polygon([(5, 5), (20, 5), (20, 15), (5, 15)], 1)
    assert (doc.labels[5:16, 5:21] == 1).all()
    assert (doc.labels == 1).sum() == 11 * 16
    assert doc.fill_polygon([(-50, -50), (-40, -50), (-40, -40)], 2) is None  # all outside


def test_flood_fill_stops_at_region_borders():
    labels = np.zeros((20, 20))
    labels[:, 10] = 4  # a wall splits the zeros in two
    labels[5, 3] = 6  # an island inside the left half
    doc = doc_of(labels)
    rect = doc.flood_fill(2, 2, 8)
    assert (doc.labels[:, :10][labels[:, :10] == 0] == 8).all()
    assert doc.labels[5, 3] == 6 and (doc.labels[:, 10] == 4).all() and (doc.labels[:, 11:] == 0).all()
    assert rect == (0, 0, 10, 20)


def test_flood_fill_connectivity_4_vs_8():
    labels = np.ones((5, 5))
    labels[0, 0] = labels[1, 1] = 0  # diagonal neighbours
    four, eight = doc_of(labels), doc_of(labels)
    four.flood_fill(0, 0, 3, connectivity=4)
    eight.flood_fill(0, 0, 3, connectivity=8)
    assert four.labels[1, 1] == 0 and eight.labels[1, 1] == 3


def test_relabel_follows_the_prediction_region():
    pred = np.zeros((20, 20), np.uint8)
    pred[5:15, 5:15] = 2
    labels = np.full((20, 20), 7)  # the labels do not show the region: the prediction does
    doc = doc_of(labels, prediction=pred)
    doc.relabel_region(8, 8, 11)
    assert (doc.labels[5:15, 5:15] == 11).all()
    assert (doc.labels[pred == 0] == 7).all()
    no_pred = doc_of(np.where(pred == 2, 3, 0))
    no_pred.relabel_region(8, 8, 11)  # falls back to the labels' region
    assert (no_pred.labels[5:15, 5:15] == 11).all() and (no_pred.labels[pred == 0] == 0).all()


def test_relabel_leaves_the_pixels_a_person_painted():
    pred = np.zeros((20, 20), np.uint8)
    pred[5:15, 5:15] = 2
    doc = doc_of(pred, prediction=pred)
    doc.paint_disc((8, 8), (12, 8), 1.5, 4)  # a person painted inside the predicted region
    painted = doc.edited.copy()
    assert painted[8, 10] and painted[5:15, 5:15].sum() < 100
    doc.relabel_region(6, 6, 11)
    assert (doc.labels[painted] == 4).all()  # the hand-painted pixels keep their class
    assert (doc.labels[(pred == 2) & ~painted] == 11).all() and (doc.labels[pred == 0] == 0).all()


def test_a_region_tool_may_change_what_its_own_last_step_set():
    pred = np.zeros((20, 20), np.uint8)
    pred[5:15, 5:15] = 2
    doc = doc_of(pred, prediction=pred)
    doc.relabel_region(6, 6, 11)
    doc.relabel_region(6, 6, 12)  # chosen again at once: the region's pixels follow
    assert (doc.labels[5:15, 5:15] == 12).all()
    doc.paint_disc((0, 0), None, 1, 3)  # any other step in between: they are a person's labels now
    assert doc.relabel_region(6, 6, 13) is None and (doc.labels[5:15, 5:15] == 12).all()
    doc.undo()  # back to the region step: choosing again works again
    doc.relabel_region(6, 6, 13)
    assert (doc.labels[5:15, 5:15] == 13).all()


def test_paint_region_clips_and_keeps_edited_pixels():
    doc = doc_of(np.zeros((10, 10)))
    doc.flood_fill(0, 0, 1)  # every pixel edited by a person (a direct fill)
    mask = np.ones((4, 4), bool)
    assert doc.paint_region(mask, (8, 8), 5) is None  # all protected
    fresh = doc_of(np.zeros((10, 10)))
    assert fresh.writable_part(mask, (8, 8)).sum() == 4  # only the part inside the image
    fresh.paint_region(mask, (8, 8), 5)
    assert (fresh.labels[8:, 8:] == 5).all() and fresh.labels.sum() == 20 and fresh.edited.sum() == 4


def test_replace_class():
    labels = np.array([[1, 2, 1], [3, 1, 2]])
    doc = doc_of(labels)
    rect = doc.replace_class(1, 9)
    assert doc.labels.tolist() == [[9, 2, 9], [3, 9, 2]]
    assert rect == (0, 0, 3, 2)
    assert doc.replace_class(17, 0) is None


def test_accept_prediction_in_brushed_area():
    pred = np.arange(100, dtype=np.uint8).reshape(10, 10) % 19
    doc = doc_of(np.full((10, 10), IGNORE_INDEX), prediction=pred)
    mask = np.zeros((3, 3), bool)
    mask[1, :] = True
    doc.accept_prediction(mask, origin=(4, 2))
    assert np.array_equal(doc.labels[3, 4:7], pred[3, 4:7])
    assert (doc.labels[2] == IGNORE_INDEX).all() and doc.edited.sum() == 3
    doc.accept_prediction_stroke((0, 8), (9, 8), 0.5)
    assert np.array_equal(doc.labels[8], pred[8])


def test_low_confidence_becomes_ignore_but_person_edits_stay():
    labels = np.full((4, 4), 1)
    conf = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)
    doc = doc_of(labels, prediction=labels, confidence=conf)
    doc.paint_disc((0, 0), None, 0.5, 5)  # a person's pixel with confidence 0
    doc.ignore_below_confidence(0.5)
    expect = np.where(conf < 0.5, IGNORE_INDEX, 1)
    expect[0, 0] = 5
    assert np.array_equal(doc.labels, expect)
    assert doc.edited.sum() == 1  # the model-driven change does not count as a person's edit


def test_set_prediction_keeps_edited_pixels_unless_overwrite():
    doc = doc_of(np.full((10, 10), IGNORE_INDEX))
    doc.paint_disc((2, 2), None, 1, 4)
    person = doc.labels.copy()
    pred = np.full((10, 10), 8, np.uint8)
    doc.set_prediction(pred, np.full((10, 10), 0.9, np.float32))
    assert np.array_equal(doc.labels, np.where(doc.edited, person, 8))
    assert doc.prediction is not None and doc.confidence.dtype == np.float32
    doc.undo()
    assert np.array_equal(doc.labels, person)
    doc.set_prediction(pred, overwrite_edited=True)
    assert (doc.labels == 8).all() and not doc.edited.any()


def test_class_pixel_share():
    labels = np.zeros((10, 10))
    labels[:5] = 1
    labels[9, :] = IGNORE_INDEX
    share = doc_of(labels).class_pixel_share()
    assert share.shape == (len(CS),)
    assert share[0] == pytest.approx(0.4) and share[1] == pytest.approx(0.5) and share[2:].sum() == 0


def _random_op(doc: MaskDocument, rng: np.random.Generator) -> None:
    h, w = doc.shape
    kind = rng.integers(7)
    x, y = int(rng.integers(w)), int(rng.integers(h))
    value = int(rng.choice([0, 1, 2, 3, IGNORE_INDEX]))
    if kind == 0:
        doc.begin_stroke()
        for _ in range(int(rng.integers(1, 5))):
            x2, y2 = int(rng.integers(w)), int(rng.integers(h))
            doc.paint_disc((x, y), (x2, y2), float(rng.uniform(0.5, 6)), value,
                           only_over=None if rng.random() < 0.5 else int(rng.integers(4)))
            x, y = x2, y2
        doc.end_stroke()
    elif kind == 1:
        doc.fill_polygon(rng.integers(-5, max(h, w) + 5, size=(int(rng.integers(3, 7)), 2)), value)
    elif kind == 2:
        doc.flood_fill(x, y, value, connectivity=int(rng.choice([4, 8])))
    elif kind == 3:
        doc.relabel_region(x, y, value)
    elif kind == 4:
        doc.replace_class(int(rng.integers(4)), value)
    elif kind == 5:
        doc.ignore_below_confidence(float(rng.uniform(0.1, 0.5)))
    else:
        doc.accept_prediction_stroke((x, y), (int(rng.integers(w)), int(rng.integers(h))), 3)


def test_random_ops_undo_all_and_redo_all_are_exact():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=(48, 64)).astype(np.uint8)
    pred = np.repeat(np.repeat(rng.integers(0, 4, size=(6, 8)), 8, 0), 8, 1).astype(np.uint8)
    doc = doc_of(labels, prediction=pred, confidence=rng.random((48, 64), dtype=np.float32))
    start_l, start_e = doc.labels.copy(), doc.edited.copy()
    for _ in range(30):
        _random_op(doc, rng)
    final_l, final_e = doc.labels.copy(), doc.edited.copy()
    assert doc.undo_count > 20
    while doc.undo() is not None:
        pass
    assert np.array_equal(doc.labels, start_l) and np.array_equal(doc.edited, start_e)
    assert not doc.dirty
    while doc.redo() is not None:
        pass
    assert np.array_equal(doc.labels, final_l) and np.array_equal(doc.edited, final_e)


def test_each_undo_step_restores_the_state_before_it():
    rng = np.random.default_rng(1)
    doc = doc_of(rng.integers(0, 4, size=(32, 40)), prediction=rng.integers(0, 4, size=(32, 40)))
    states = [(doc.labels.copy(), doc.edited.copy())]
    for _ in range(15):
        before = doc.undo_count
        _random_op(doc, rng)
        if doc.undo_count > before:
            states.append((doc.labels.copy(), doc.edited.copy()))
    for labels, edited in reversed(states[:-1]):
        doc.undo()
        assert np.array_equal(doc.labels, labels) and np.array_equal(doc.edited, edited)


def test_a_stroke_is_one_step_and_a_new_edit_clears_redo():
    doc = doc_of(np.zeros((20, 20)))
    doc.begin_stroke()
    for x in range(2, 18, 3):
        doc.paint_disc((x - 3, 10), (x, 10), 1, 1)
    rect = doc.end_stroke()
    assert doc.undo_count == 1 and rect == (0, 9, 19, 3)
    doc.undo()
    assert (doc.labels == 0).all() and doc.can_redo
    doc.paint_disc((5, 5), None, 1, 2)
    assert not doc.can_redo


def test_no_op_edit_makes_no_step():
    doc = doc_of(np.full((10, 10), 3))
    doc.paint_disc((5, 5), None, 2, 3, only_over=4)
    assert doc.undo_count == 0 and not doc.dirty


def test_history_limit_keeps_the_newest_steps():
    doc = doc_of(np.zeros((10, 10)), undo_limit=200)
    for i in range(250):
        doc.paint_disc((i % 10, (i // 10) % 10), None, 0.5, i % 7 + 1)
    assert doc.undo_count == 200
    for _ in range(200):
        assert doc.undo() is not None
    assert doc.undo() is None
    assert doc.dirty  # the original state is no longer reachable


def test_listener_gets_the_changed_rectangle_and_dirty_tracks_saving():
    doc = doc_of(np.zeros((20, 20)))
    seen = []
    doc.add_listener(seen.append)
    doc.paint_disc((5, 6), None, 1, 2)
    assert seen == [(4, 5, 3, 3)]
    rev = doc.revision
    doc.mark_clean()
    assert not doc.dirty
    doc.undo()
    assert seen[-1] == (4, 5, 3, 3) and doc.dirty and doc.revision > rev
    doc.redo()
    assert not doc.dirty


def test_small_strokes_on_a_large_mask_keep_little_undo_memory():
    doc = MaskDocument.blank(3000, 4000, CS)
    rng = np.random.default_rng(2)
    for _ in range(200):
        x, y = int(rng.integers(4000)), int(rng.integers(3000))
        doc.begin_stroke()
        doc.paint_disc((x, y), (x + 60, y + 20), 8, 1)
        doc.end_stroke()
    assert doc.undo_count == 200
    assert doc.history_nbytes < 4 * 1024 * 1024  # a full-image copy per step would be 2.4 GB


def test_history_byte_budget_drops_the_oldest_steps_but_keeps_the_last():
    doc = doc_of(np.zeros((100, 100)), undo_max_bytes=50_000)
    for value in range(1, 6):
        doc.replace_class(value - 1, value)  # each step: the whole 100x100 image (~22 kB)
    assert doc.undo_count == 2 and doc.history_nbytes <= 50_000
    tiny = doc_of(np.zeros((100, 100)), undo_max_bytes=10)
    tiny.replace_class(0, 1)
    assert tiny.undo_count == 1  # the newest step is always kept


def test_long_diagonal_stroke_stores_its_own_rectangles_not_the_bounding_box():
    rng = np.random.default_rng(3)
    doc = doc_of(rng.integers(0, 3, size=(1000, 1200)))
    start_l, start_e = doc.labels.copy(), doc.edited.copy()
    doc.begin_stroke()
    for i in range(100):
        doc.paint_disc((12 * i, 10 * i), (12 * (i + 1), 10 * (i + 1)), 4, 7, only_over=int(rng.integers(3)))
    rect = doc.end_stroke()
    final_l, final_e = doc.labels.copy(), doc.edited.copy()
    assert rect is not None and rect[2] > 1000 and rect[3] > 900
    assert doc.history_nbytes < 200_000  # the bounding box alone would be 2.7 MB
    doc.undo()
    assert np.array_equal(doc.labels, start_l) and np.array_equal(doc.edited, start_e)
    doc.redo()
    assert np.array_equal(doc.labels, final_l) and np.array_equal(doc.edited, final_e)


def test_read_only_prediction_still_relabels():
    pred = np.zeros((10, 10), np.uint8)
    pred[:, 5:] = 1
    pred.flags.writeable = False
    doc = doc_of(np.zeros((10, 10)), prediction=pred)
    doc.relabel_region(7, 3, 4)
    assert (doc.labels[:, 5:] == 4).all() and (doc.labels[:, :5] == 0).all()
