"""CanvasView driven by real mouse/keyboard events (pytest-qt, offscreen)."""

from __future__ import annotations

import gc

import numpy as np
import pytest

pytest.importorskip("pytestqt")

import shiboken6  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QImage, QWheelEvent, qAlpha, qBlue, qGreen, qRed  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.canvas import TOOLS, CanvasView  # noqa: E402
from gcnet_core.model.classes import DATASET_CLASSES, IGNORE_INDEX  # noqa: E402
from gcnet_core.project.document import MaskDocument  # noqa: E402

CS = DATASET_CLASSES["cityscapes"]
W, H = 160, 120


@pytest.fixture
def canvas(qtbot):
    """A shown 400x300 view of a grey 160x120 image with an all-ignore document."""
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(np.full((H, W, 3), 128, np.uint8))
    doc = MaskDocument.blank(H, W, CS)
    view.set_document(doc)
    view.fit_to_window()
    return view, doc


def at(view: CanvasView, x: float, y: float) -> QPoint:
    """Viewport position of the centre of image pixel (x, y)."""
    p = view.viewportTransform().map(QPointF(x + 0.5, y + 0.5))
    return QPoint(round(p.x()), round(p.y()))


def drag(view: CanvasView, points, button=Qt.MouseButton.LeftButton) -> None:
    vp = view.viewport()
    QTest.mousePress(vp, button, Qt.KeyboardModifier.NoModifier, at(view, *points[0]))
    for p in points[1:]:
        QTest.mouseMove(vp, at(view, *p))
    QTest.mouseRelease(vp, button, Qt.KeyboardModifier.NoModifier, at(view, *points[-1]))


def test_each_tool_is_chosen_in_the_window_with_its_key(qtbot, tmp_path):
    """Every canvas tool has a window action; its shortcut, typed on the canvas, selects it."""
    from app.dialogs.prompter import Prompter
    from app.settings.store import AppSettings
    from app.window import MainWindow

    window = MainWindow(AppSettings.at(tmp_path / "settings.ini"), Prompter(None))
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()  # shortcuts go to the active window
    qtbot.waitUntil(window.isActiveWindow)
    for name in TOOLS[1:] + TOOLS[:1]:  # the brush, selected at start, comes last
        QTest.keySequence(window.canvas, window.action_set.tools[name].shortcut())
        assert window.canvas.tool() == name and window.action_set.tools[name].isChecked()


def test_fit_to_window_shows_the_whole_image(canvas):
    view, _ = canvas
    assert view.scale_factor() == pytest.approx(min(400 / W, 300 / H))
    top_left, bottom_right = at(view, -0.5, -0.5), at(view, W - 0.5, H - 0.5)
    assert 0 <= top_left.x() and bottom_right.x() <= 400 and 0 <= top_left.y() and bottom_right.y() <= 300


def test_brush_stroke_from_mouse_events_paints_one_undo_step(canvas, qtbot):
    view, doc = canvas
    view.set_current_class(3)
    view.set_brush_size(5)
    with qtbot.waitSignal(view.edited, timeout=1000):
        drag(view, [(20, 60), (70, 60), (120, 62)])  # big jumps: interpolation fills them
    assert (doc.labels[60, 20:121] == 3).all()
    assert doc.labels[60, 10] == IGNORE_INDEX and doc.labels[20, 60] == IGNORE_INDEX
    assert doc.edited[60, 50] and doc.undo_count == 1
    doc.undo()
    assert (doc.labels == IGNORE_INDEX).all()


def test_eraser_and_only_over(canvas):
    view, doc = canvas
    doc.fill_polygon([(0, 0), (W, 0), (W, H // 2), (0, H // 2)], 1)  # top half class 1
    doc.fill_polygon([(0, H // 2), (W, H // 2), (W, H), (0, H)], 2)
    view.set_brush_size(9)
    view.set_current_class(5)
    view.set_only_over(2)
    drag(view, [(80, 40), (80, 80)])
    assert doc.labels[45, 80] == 1 and doc.labels[75, 80] == 5
    view.set_only_over(None)
    view.set_tool("eraser")
    drag(view, [(30, 30), (30, 31)])
    assert doc.labels[30, 30] == IGNORE_INDEX


def test_overlay_follows_the_document_and_undo(canvas):
    view, doc = canvas
    view.set_current_class(4)
    drag(view, [(40, 40), (41, 40)])
    overlay = view.overlay_image()
    assert overlay.format() == QImage.Format.Format_Indexed8
    assert overlay.pixelIndex(40, 40) == 4 and overlay.pixelIndex(5, 5) == IGNORE_INDEX
    doc.undo()
    assert view.overlay_image().pixelIndex(40, 40) == IGNORE_INDEX


def test_overlay_color_table_carries_palette_and_opacity(canvas):
    view, _ = canvas
    view.set_opacity(0.4)
    table = view.overlay_color_table()
    assert table == view.overlay_image().colorTable()
    assert len(table) == 256
    for idx, (r, g, b) in enumerate(CS.palette):
        assert (qRed(table[idx]), qGreen(table[idx]), qBlue(table[idx])) == (r, g, b)
        assert qAlpha(table[idx]) == round(0.4 * 255)
    assert qAlpha(table[IGNORE_INDEX]) == 0
    view.set_class_visible(7, False)
    table = view.overlay_image().colorTable()
    assert qAlpha(table[7]) == 0 and qAlpha(table[8]) == round(0.4 * 255)
    view.set_class_visible(7, True)
    assert qAlpha(view.overlay_image().colorTable()[7]) == round(0.4 * 255)


def test_rendered_pixels_blend_the_class_colour(canvas):
    view, doc = canvas
    view.set_opacity(1.0)
    doc.fill_polygon([(0, 0), (W, 0), (W, H), (0, H)], 10)  # sky everywhere
    shot = view.grab().toImage()
    centre = shot.pixelColor(at(view, W // 2, H // 2))
    assert (centre.red(), centre.green(), centre.blue()) == CS.palette[10]
    view.set_mask_visible(False)
    hidden = view.grab().toImage().pixelColor(at(view, W // 2, H // 2))
    assert (hidden.red(), hidden.green(), hidden.blue()) == (128, 128, 128)


def test_outline_mode_keeps_only_boundaries_and_updates_in_place(canvas):
    view, doc = canvas
    doc.fill_polygon([(20, 20), (60, 20), (60, 60), (20, 60)], 2)
    view.set_outline_only(True)
    overlay = view.overlay_image()
    assert overlay.pixelIndex(40, 40) == IGNORE_INDEX  # inside: not a boundary
    assert overlay.pixelIndex(20, 40) == 2 and overlay.pixelIndex(60, 40) == 2
    doc.paint_disc((100, 90), None, 5, 6)  # later change: recomputed in its rectangle only
    overlay = view.overlay_image()
    assert overlay.pixelIndex(100, 90) == IGNORE_INDEX and overlay.pixelIndex(95, 90) == 6
    view.set_outline_only(False)
    assert view.overlay_image().pixelIndex(40, 40) == 2


def test_wheel_zoom_keeps_the_point_under_the_cursor(canvas):
    view, _ = canvas
    for pos, delta in ((QPointF(50, 60), 240), (QPointF(330, 250), 360), (QPointF(120, 40), -120)):
        before_scale = view.scale_factor()
        inverse, _ = view.viewportTransform().inverted()
        before = inverse.map(pos)
        event = QWheelEvent(pos, view.viewport().mapToGlobal(pos), QPoint(), QPoint(0, delta),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(view.viewport(), event)
        assert (view.scale_factor() > before_scale) == (delta > 0)
        inverse, _ = view.viewportTransform().inverted()
        after = inverse.map(pos)
        assert abs(after.x() - before.x()) < 1 and abs(after.y() - before.y()) < 1
    view.zoom_1to1()
    assert view.scale_factor() == 1.0


def test_middle_drag_pans(canvas):
    view, _ = canvas
    before = at(view, 10, 10)
    drag(view, [(10, 10), (30, 20)], button=Qt.MouseButton.MiddleButton)
    after = at(view, 10, 10)
    assert after.x() - before.x() > 20 and after.y() - before.y() > 10


def test_polygon_clicks_and_enter_fill(canvas):
    view, doc = canvas
    view.set_tool("polygon")
    view.set_current_class(12)
    vp = view.viewport()
    for x, y in ((30, 30), (90, 30), (90, 80), (30, 80)):
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(view, x, y))
    assert (doc.labels == IGNORE_INDEX).all()  # nothing until the polygon is closed
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert (doc.labels[30:81, 30:91] == 12).all()
    assert (doc.labels == 12).sum() == 51 * 61
    # Esc cancels an open polygon.
    for x, y in ((100, 10), (150, 10), (150, 50)):
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(view, x, y))
    QTest.keyClick(view, Qt.Key.Key_Escape)
    QTest.keyClick(view, Qt.Key.Key_Return)
    assert doc.labels[20, 140] == IGNORE_INDEX


def test_polygon_double_click_closes(canvas):
    view, doc = canvas
    view.set_tool("polygon")
    view.set_current_class(1)
    vp = view.viewport()
    for x, y in ((10, 10), (50, 10)):
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(view, x, y))
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(view, 50, 40))
    QTest.mouseDClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(view, 50, 40))
    assert doc.labels[20, 45] == 1 and doc.labels[35, 15] == IGNORE_INDEX


def test_fill_and_relabel_tools(canvas):
    view, doc = canvas
    pred = np.zeros((H, W), np.uint8)
    pred[:, W // 2:] = 13
    doc.set_prediction(pred, np.ones((H, W), np.float32))
    view.set_tool("relabel")
    view.set_current_class(14)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(view, 120, 50))
    assert (doc.labels[:, W // 2:] == 14).all() and (doc.labels[:, : W // 2] == 0).all()
    view.set_tool("fill")
    view.set_current_class(2)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(view, 10, 50))
    assert (doc.labels[:, : W // 2] == 2).all() and (doc.labels[:, W // 2:] == 14).all()


def test_cursor_signal_and_brush_keys(canvas, qtbot):
    view, _ = canvas
    with qtbot.waitSignal(view.cursorMoved, timeout=1000) as blocker:
        QTest.mouseMove(view.viewport(), at(view, 33, 44))
    assert blocker.args == [33, 44]
    view.set_brush_size(10)
    with qtbot.waitSignal(view.brushSizeChanged, timeout=1000) as blocker:
        QTest.keyClick(view, Qt.Key.Key_BracketRight)
    assert blocker.args == [12] and view.brush_size() == 12
    QTest.keyClick(view, Qt.Key.Key_BracketLeft)
    QTest.keyClick(view, Qt.Key.Key_BracketLeft)
    assert view.brush_size() < 12
    with pytest.raises(ValueError):
        view.set_tool("lasso")


def test_confidence_heat_layer(canvas):
    view, doc = canvas
    conf = np.ones((H, W), np.float32)
    conf[:10, :10] = 0.0
    doc.set_prediction(np.zeros((H, W), np.uint8), conf)
    view.set_show_confidence(True)
    heat = view.confidence_image()
    assert qAlpha(heat.pixel(5, 5)) > 150 and qAlpha(heat.pixel(50, 50)) == 0


def test_space_drag_pans_instead_of_painting(canvas):
    view, doc = canvas
    before = at(view, 10, 10)
    QTest.keyPress(view, Qt.Key.Key_Space)
    drag(view, [(60, 60), (80, 70)])
    QTest.keyRelease(view, Qt.Key.Key_Space)
    assert (doc.labels == IGNORE_INDEX).all()
    assert at(view, 10, 10).x() - before.x() > 20


def test_accept_tool_copies_the_prediction(canvas):
    view, doc = canvas
    pred = np.full((H, W), 6, np.uint8)
    doc.set_prediction(pred, overwrite_edited=True)
    doc.paint_disc((0, 0), (W, H), 200, IGNORE_INDEX)  # wipe: all ignore again
    view.set_tool("accept")
    view.set_brush_size(3)
    drag(view, [(20, 100), (140, 100)])
    assert (doc.labels[100, 20:141] == 6).all() and doc.labels[50, 50] == IGNORE_INDEX


def test_undo_in_the_middle_of_a_drag_keeps_the_rest_of_the_drag_undoable(canvas):
    view, doc = canvas
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(view, 10, 10))
    QTest.mouseMove(vp, at(view, 30, 10))
    doc.undo()  # the window's Ctrl+Z while the button is down
    QTest.mouseMove(vp, at(view, 60, 10))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(view, 60, 10))
    assert doc.labels[10, 50] == 0 and doc.labels[10, 10] == IGNORE_INDEX
    doc.undo()
    assert (doc.labels == IGNORE_INDEX).all()


def test_document_and_image_sizes_must_match(canvas):
    view, doc = canvas
    with pytest.raises(ValueError):
        view.set_document(MaskDocument.blank(H + 1, W, CS))
    view.set_image(np.zeros((50, 60, 3), np.uint8))  # another photo: the old document goes
    assert view.document() is None and view.image_size() == (60, 50)
    view.set_image(None)
    assert view.image_size() == (0, 0)


def test_a_deleted_view_does_not_break_its_document(qtbot):
    doc = MaskDocument.blank(20, 20, CS)
    view = CanvasView()
    view.set_image(np.zeros((20, 20, 3), np.uint8))
    view.set_document(doc)
    shiboken6.delete(view)  # the C++ widget goes first, the Python wrapper still exists
    assert doc.paint_disc((5, 5), None, 2, 1) is not None
    del view
    gc.collect()
    assert doc.paint_disc((9, 9), None, 2, 1) is not None


def test_rendered_overlay_matches_labels_for_an_odd_width(qtbot):
    h, w = 23, 37  # rows of the wrapped label array are not 4-byte aligned
    labels = np.random.default_rng(0).integers(0, 19, (h, w)).astype(np.uint8)
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(w * 4, h * 4)
    view.show()
    qtbot.waitExposed(view)
    view.set_image(np.zeros((h, w, 3), np.uint8))
    view.set_document(MaskDocument(labels, CS))
    view.set_opacity(1.0)
    view.fit_to_window()
    shot = view.grab().toImage()
    for y in range(h):
        for x in range(w):
            c = shot.pixelColor(at(view, x, y))
            assert (c.red(), c.green(), c.blue()) == CS.palette[labels[y, x]], (x, y)
