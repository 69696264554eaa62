"""Done is the person's word (issue 24 item 10): strokes make an image edited, Mark Image
Done (Ctrl+D) makes it done and toggles back, and the file list says what its numbers are."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QStyleOptionViewItem, QToolBar  # noqa: E402

from test_window import drag, key, make_folder, make_window, open_and_wait  # noqa: E402,F401 (make_window: a fixture)

CTRL = Qt.KeyboardModifier.ControlModifier


def test_a_stroke_makes_an_image_edited_and_ctrl_d_marks_it_done_and_back(qtbot, make_window, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, make_folder(tmp_path / "photos", names=("astronaut.png", "chelsea.png")), 2)
    files, project = window.files, window.session.project
    window.classes_panel.set_current(1)
    drag(window, [(10, 10), (30, 20)])
    # the list says so when the stroke ends, not at the autosave a second later
    assert files.model.state("astronaut.png") == "edited" and "(new)" not in window.statusBar().currentMessage()
    window.save_current()
    assert project.state("astronaut.png") == "edited" and files.model.state("astronaut.png") == "edited"
    assert files.count_label.text().startswith("0 / 2 done")  # a stroke alone is not done
    assert "marked done (Ctrl+D)" in files.count_label.toolTip()
    done = window.action_set.done
    assert done in window.findChild(QToolBar, "tools").actions()
    assert not done.isChecked()

    key(window, Qt.Key.Key_D, CTRL)
    assert project.state("astronaut.png") == "corrected" and files.model.state("astronaut.png") == "corrected"
    assert done.isChecked() and files.count_label.text().startswith("1 / 2 done")
    assert window.statusBar().currentMessage() == "astronaut.png marked done"
    drag(window, [(40, 40), (50, 45)])  # touching up a done image keeps it done
    window.save_current()
    assert project.state("astronaut.png") == "corrected"

    key(window, Qt.Key.Key_D, CTRL)  # again: not done; the person's pixels keep it edited
    assert project.state("astronaut.png") == "edited" and not done.isChecked()
    assert files.count_label.text().startswith("0 / 2 done")

    key(window, Qt.Key.Key_D)  # the next image, nothing labelled: nothing to call done
    assert window.session.current == "chelsea.png" and not done.isChecked()
    key(window, Qt.Key.Key_D, CTRL)
    assert project.state("chelsea.png") == "new" and not done.isChecked()
    assert "Nothing is labelled" in window.statusBar().currentMessage()


def test_the_unsure_number_says_what_it_is_and_goes_when_the_image_is_done(qtbot, make_window, tmp_path):
    window = make_window()
    open_and_wait(qtbot, window, make_folder(tmp_path / "photos", names=("astronaut.png",)), 1)
    session, model = window.session, window.files.model
    window.classes_panel.set_current(1)
    drag(window, [(10, 10), (30, 20)])
    window.save_current()
    session.record_uncertainty("astronaut.png", 0.25)
    tip = model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    assert "25% unsure" in tip and "1 − the model's confidence" in tip
    assert window.files.order_combo.itemText(1) == "Most unsure first"
    window.action_set.done.trigger()
    assert model.uncertainty("astronaut.png") is None and session.project.uncertainty("astronaut.png") is None
    assert "unsure" not in model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
    session.record_uncertainty("astronaut.png", 0.4)  # an asked pre-segment of a done image: still the person's
    assert model.uncertainty("astronaut.png") is None


def test_every_row_says_unsure_beside_its_number_at_the_first_window_size(qtbot, make_window, tmp_path):
    """A pre-segmented row with work-ahead's "⚡ ready" dropped the word ("1%") where an edited
    one kept it ("0% unsure"): the mark gives way to its symbol first, and its tooltip says it."""
    window = make_window()
    window.show()
    qtbot.waitExposed(window)
    open_and_wait(qtbot, window, make_folder(tmp_path / "photos", names=("astronaut.png", "chelsea.png")), 2)
    model, view = window.files.model, window.files.view
    model.set_state("astronaut.png", "predicted")
    model.set_uncertainty("astronaut.png", 0.01)
    model.set_state("chelsea.png", "edited")
    model.set_uncertainty("chelsea.png", 0.0)
    model.set_work_marks({"astronaut.png": "fresh", "chelsea.png": "fresh"})
    qtbot.wait(20)
    delegate = view.itemDelegate()
    shown = {}
    for rel in ("astronaut.png", "chelsea.png"):
        index = window.files.proxy.mapFromSource(model.index(model.row_of(rel)))
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.rect = view.visualRect(index)
        shown[rel] = delegate.texts(option, index)
    assert shown["astronaut.png"][0] == "1% unsure" and shown["chelsea.png"][0] == "0% unsure"
    assert shown["astronaut.png"][1] in ("⚡ ready", "⚡")
    assert "⚡ ready: the selected model's mask is waiting" in model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)
