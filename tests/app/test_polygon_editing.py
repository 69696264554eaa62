"""A filled polygon stays editable (issue 24 item 20, labelme's habit): drag a vertex, press on
an edge to add one, right-click or Delete to remove one; each edit re-fills the polygon in
place of its last fill, so one Ctrl+Z takes the polygon away with all its edits."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from gcnet_core.model.classes import IGNORE_INDEX  # noqa: E402
from gcnet_core.project.document import MaskDocument  # noqa: E402

from test_window import at, drag, draw_polygon, key, make_folder, make_window, open_and_wait  # noqa: E402,F401

CTRL = Qt.KeyboardModifier.ControlModifier
SQUARE = [(10, 10), (40, 10), (40, 40), (10, 40)]


def filled(doc: MaskDocument, vertices, value: int) -> np.ndarray:
    """The labels a fresh document holds after filling ``vertices`` once."""
    fresh = MaskDocument.blank(doc.height, doc.width, doc.classes)
    fresh.fill_polygon(vertices, value)
    return fresh.labels


def window_with_square(qtbot, make_window, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, make_folder(tmp_path / "photos", names=("astronaut.png", "chelsea.png")), 2)
    draw_polygon(window, SQUARE, 2)
    doc = window.session.document
    assert window.canvas.editable_polygon() == SQUARE and doc.undo_count == 1
    assert np.array_equal(doc.labels, filled(doc, SQUARE, 2))
    assert "drag a vertex" in window.statusBar().currentMessage()
    return window, doc


def right_click(window, x, y) -> None:
    QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier,
                     at(window, x, y))


def test_vertex_moves_additions_and_removals_refill_the_polygon_as_one_undo_step(qtbot, make_window, tmp_path):
    window, doc = window_with_square(qtbot, make_window, tmp_path)
    viewport = window.canvas.viewport()
    QTest.mouseMove(viewport, at(window, 40, 40))
    assert viewport.cursor().shape() == Qt.CursorShape.SizeAllCursor  # a vertex under the mouse
    drag(window, [(40, 40), (50, 45), (60, 50)])  # a vertex dragged
    shape = [(10, 10), (40, 10), (60, 50), (10, 40)]
    assert window.canvas.editable_polygon() == shape
    assert np.array_equal(doc.labels, filled(doc, shape, 2)) and doc.undo_count == 1

    drag(window, [(25, 10), (25, 3)])  # dragged from an edge: a new vertex
    shape = [(10, 10), (25, 3), (40, 10), (60, 50), (10, 40)]
    assert window.canvas.editable_polygon() == shape
    assert np.array_equal(doc.labels, filled(doc, shape, 2)) and doc.undo_count == 1

    right_click(window, 10, 40)  # a vertex removed
    shape = [(10, 10), (25, 3), (40, 10), (60, 50)]
    assert np.array_equal(doc.labels, filled(doc, shape, 2)) and doc.undo_count == 1
    QTest.mouseMove(viewport, at(window, 25, 3))
    key(window, Qt.Key.Key_Delete)  # Delete over a vertex removes it too
    shape = [(10, 10), (40, 10), (60, 50)]
    assert window.canvas.editable_polygon() == shape
    assert np.array_equal(doc.labels, filled(doc, shape, 2))
    right_click(window, 40, 10)  # a triangle keeps its three vertices
    assert window.canvas.editable_polygon() == shape

    window.save_current()
    assert window.session.project.state("astronaut.png") == "edited"
    key(window, Qt.Key.Key_Z, CTRL)  # one undo: the polygon with every edit of it
    assert (doc.labels == IGNORE_INDEX).all() and not doc.can_undo
    assert window.canvas.editable_polygon() == []  # a change the polygon did not make ends the editing
    key(window, Qt.Key.Key_Y, CTRL)
    assert np.array_equal(doc.labels, filled(doc, shape, 2)) and window.canvas.editable_polygon() == []


def test_enter_a_new_polygon_another_tool_or_image_end_the_editing(qtbot, make_window, tmp_path):
    window, doc = window_with_square(qtbot, make_window, tmp_path)
    key(window, Qt.Key.Key_Return)  # done editing: the pixels stay, the outline goes
    assert window.canvas.editable_polygon() == [] and doc.undo_count == 1
    before = doc.labels.copy()
    drag(window, [(40, 40), (60, 50)])  # no vertex to take now: the first vertex of a new polygon
    assert np.array_equal(doc.labels, before) and window.canvas.editable_polygon() == []
    key(window, Qt.Key.Key_Escape)

    draw_polygon(window, [(50, 5), (70, 5), (70, 20)], 3)
    draw_polygon(window, [(70, 5), (70, 20), (78, 20)], 4)  # clicks on the last one's vertices draw a new one
    assert window.canvas.editable_polygon() == [(70, 5), (70, 20), (78, 20)] and doc.undo_count == 3
    assert doc.labels[8, 65] == 3 and doc.labels[18, 75] == 4
    key(window, Qt.Key.Key_B)
    assert window.canvas.editable_polygon() == []
    key(window, Qt.Key.Key_P)
    draw_polygon(window, [(50, 30), (70, 30), (70, 45)], 5)
    assert window.canvas.editable_polygon()
    key(window, Qt.Key.Key_D)  # the next image
    assert window.session.current == "chelsea.png" and window.canvas.editable_polygon() == []
