"""The fine-tune dock on a laptop screen (issue 24 items 7 and 16): the wheel scrolls the
dock, not the field under the pointer; Cancel stays in view; the before/after table shows
whole numbers; the published message never offers re-segmenting with a version that scored
no better."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, QRect, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.finetune.controller import published_message  # noqa: E402
from app.finetune.runs import Comparison  # noqa: E402
from app.settings.store import AppSettings  # noqa: E402
from app.window import MainWindow  # noqa: E402

from test_window import ScriptedPrompter  # noqa: E402


@pytest.fixture
def panel(qtbot, tmp_path):
    """The real window at 1366x768 with its fine-tune dock shown."""
    window = MainWindow(AppSettings.at(tmp_path / "settings.ini"), ScriptedPrompter())
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    dock = window.finetune.panel
    dock.show()
    dock.raise_()
    qtbot.waitUntil(lambda: dock.isVisible() and dock.scroll.viewport().height() > 0)
    QApplication.processEvents()
    yield dock
    window.close()


def wheel_over(widget, steps: int = -1) -> None:
    """One wheel notch (down for negative ``steps``) with the pointer over ``widget``'s middle."""
    local = QPointF(widget.rect().center())
    event = QWheelEvent(local, QPointF(widget.mapToGlobal(local.toPoint())), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_an_unfocused_field_leaves_its_value(panel):
    form = panel.form
    for field in (form.val_interval, form.iters, form.batch, form.lr):
        before = field.value()
        wheel_over(field)
        wheel_over(field, steps=1)
        assert field.value() == before, field
    before = form.device.currentIndex()
    wheel_over(form.device)
    assert form.device.currentIndex() == before
    form.val_interval.setFocus()  # a clicked (focused) field still takes the wheel
    QApplication.processEvents()
    assert form.val_interval.hasFocus()
    before = form.val_interval.value()
    wheel_over(form.val_interval, steps=1)
    assert form.val_interval.value() != before


def test_the_wheel_over_an_unfocused_field_scrolls_the_dock(panel):
    bar = panel.scroll.verticalScrollBar()
    if bar.maximum() == 0:
        pytest.skip("the dock fits without scrolling on this screen")
    bar.setValue(0)
    wheel_over(panel.form.val_interval)
    assert bar.value() > 0


def test_cancel_stays_in_view_after_start(panel):
    panel.set_running(True, can_resume=False)
    panel.progress.reset(200)
    panel.show_message("Starting the training process…")
    bar = panel.scroll.verticalScrollBar()
    for value in (bar.minimum(), bar.maximum()):  # whatever part of the dock is scrolled to
        bar.setValue(value)
        QApplication.processEvents()
        cancel = panel.cancel_button
        shown = QRect(cancel.mapTo(panel, QPoint(0, 0)), cancel.size())
        assert cancel.isVisible() and cancel.isEnabled()
        assert panel.rect().contains(shown), (shown, panel.rect())
        assert cancel.visibleRegion().boundingRect().size() == cancel.size()


def test_the_before_after_table_shows_whole_numbers(panel):
    per_class = lambda iou: {name: {"IoU": iou} for name in ("road", "a very long class name indeed")}  # noqa: E731
    comparison = Comparison(before={"mIoU": 41.25, "per_class": per_class(40.0)},
                            after={"mIoU": 63.5, "per_class": per_class(100.0)}, best_iter=8,
                            val_images=[], train_images=[])
    panel.show_comparison(comparison)
    QApplication.processEvents()
    table = panel.comparison
    metrics = table.fontMetrics()
    for column in range(table.columnCount()):
        texts = [table.horizontalHeaderItem(column).text()]
        texts += [table.item(row, column).text() for row in range(table.rowCount())]
        widest = max(metrics.horizontalAdvance(text) for text in texts)
        assert table.columnWidth(column) >= widest, (column, texts)
    assert table.item(0, 2).text() == "+22.2"
    assert table.verticalHeaderItem(2).toolTip() == "a very long class name indeed"
    assert "held-out" in table.horizontalHeaderItem(1).toolTip()


def test_the_published_message_offers_re_segmenting_only_with_a_better_version():
    better = published_message("streets v1", 40.0, 55.5)
    assert "40.0 → 55.5" in better and "Re-segment" in better
    worse = published_message("streets v2", 55.5, 50.0)
    assert "55.5 → 50.0" in worse and "not better" in worse
    assert "Re-segment" not in worse and "stays selected" in worse
    unscored = published_message("streets v3", None, None)
    assert "no held-out images" in unscored and "not selected" in unscored and "Re-segment" not in unscored
    judged = published_message("streets v6", 40.0, 55.5, judged_on="held-out blocks (a quarter) of the one done image",
                               against="before: the live model on 1 corrected image, the better of it and “ade”")
    assert "40.0 → 55.5 on held-out blocks (a quarter) of the one done image" in judged
    assert "the better of it and “ade”" in judged
    built_on_worse = published_message("streets v4", 0.3, 0.5, from_rejected=True)
    assert "0.3 → 0.5" in built_on_worse and "not selected" in built_on_worse and "Re-segment" not in built_on_worse
    assert "not selected" in published_message("streets v5", None, None, from_rejected=True)
