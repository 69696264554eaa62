"""Choosing among 150 classes (issue 24 item 15): the Replace Class dialog's searchable
choosers with colours and 1-based numbers, the class list scrolled to a searched class, and
the tool bar's button that shows the class being painted."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QToolButton  # noqa: E402

from app.dialogs.replace_class import ReplaceClassDialog  # noqa: E402
from gcnet_core.model.classes import DATASET_CLASSES  # noqa: E402

from helpers import WHOLE_ADE  # noqa: E402
from test_window import drag, key, make_folder, make_window, open_and_wait  # noqa: E402,F401 (make_window: a fixture)

ADE = DATASET_CLASSES["ade20k"]


def test_the_choosers_search_by_any_part_of_the_name_with_colours_and_numbers_from_one(qtbot):
    dialog = ReplaceClassDialog(ADE, {0, 19, 30}, current=30)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert [dialog.source.itemText(i) for i in range(dialog.source.count())] == ["1  wall", "20  chair", "31  armchair"]
    assert dialog.target.count() == 150 and dialog.target.itemText(148) == "149  clock"
    assert not dialog.target.itemIcon(23).isNull()  # the class's colour beside its name
    assert dialog.choice()[0] == 30 and dialog.choice()[1] != 30 and ok.isEnabled()  # from: current; to: not

    dialog.target.lineEdit().setFocus()  # into the chooser's text
    dialog.target.lineEdit().selectAll()
    QTest.keyClicks(dialog.target.lineEdit(), "sof")  # part of the name
    popup = dialog.target.completer().popup()
    qtbot.waitUntil(popup.isVisible, timeout=3000)
    shown = [popup.model().index(r, 0).data() for r in range(popup.model().rowCount())]
    assert shown == ["24  sofa"]
    QTest.mouseClick(popup.viewport(), Qt.MouseButton.LeftButton, pos=popup.visualRect(popup.model().index(0, 0)).center())
    qtbot.waitUntil(lambda: dialog.choice() == (30, 23), timeout=3000)

    dialog.target.lineEdit().selectAll()
    QTest.keyClicks(dialog.target.lineEdit(), "zzz")  # no class: the choice stays
    dialog.target.lineEdit().editingFinished.emit()
    assert dialog.choice() == (30, 23) and dialog.target.currentText() == "24  sofa"


def test_the_dialog_refuses_replacing_a_class_by_itself(qtbot):
    dialog = ReplaceClassDialog(DATASET_CLASSES["voc"], {0, 5}, current=5)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.choice() == (5, 0) and ok.isEnabled()
    dialog.target.choose(5)
    assert dialog.choice() == (5, 5) and not ok.isEnabled()
    absent = ReplaceClassDialog(DATASET_CLASSES["voc"], {0, 5}, current=7)  # painting a class the mask lacks
    qtbot.addWidget(absent)
    assert absent.choice() == (0, 7)


def test_a_searched_class_is_scrolled_into_view_and_the_tool_bar_shows_the_class_painted(
        qtbot, make_window, tmp_path):
    window = make_window()
    window.model_panel.select(WHOLE_ADE)  # a new folder takes the model's 150 classes
    open_and_wait(qtbot, window, make_folder(tmp_path / "photos", names=("chelsea.png",)), 1)
    panel, button = window.classes_panel, window.findChild(QToolButton, "current_class")
    assert len(panel.classes) == 150 and button is window.toolbar.current_class
    assert button.text() == f"{panel.current() + 1}  {ADE.names[panel.current()]}"

    panel.search.setFocus()
    QTest.keyClicks(panel.search, "clock")
    QTest.keyClick(panel.search, Qt.Key.Key_Return)
    QApplication.processEvents()
    assert panel.current() == 148 and window.canvas.current_class() == 148
    assert panel.search.text() == "" and panel.proxy.rowCount() == 150  # the whole list again
    row = panel.table.visualRect(panel.proxy.index(148, 0))
    assert panel.table.viewport().rect().contains(row.center())  # scrolled to it, not left at the top
    assert button.text() == "149  clock"
    assert button.icon().pixmap(8, 8).toImage().pixelColor(4, 4).getRgb()[:3] == ADE.palette[148]
    assert panel.model.index(148, 0).data() == "149  clock"  # the list counts from 1 too

    key(window, Qt.Key.Key_3)
    assert button.text() == "3  sky"
    window.session.rename_class(2, "heaven")
    assert button.text() == "3  heaven"
    button.click()
    assert panel.search.hasFocus()
