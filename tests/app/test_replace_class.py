"""Edit ▸ Replace Class… in the real window: the shortcut opens the dialog, OK relabels every
pixel of the class in one undoable step, and only classes present in the mask are offered."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QDialogButtonBox  # noqa: E402

from app.dialogs.prompter import Prompter  # noqa: E402
from app.dialogs.replace_class import ReplaceClassDialog  # noqa: E402
from app.settings.store import AppSettings  # noqa: E402
from app.window import MainWindow  # noqa: E402

from helpers import REPO  # noqa: E402


def at(window, x, y) -> QPoint:
    p = window.canvas.viewportTransform().map(QPointF(x + 0.5, y + 0.5))
    return QPoint(round(p.x()), round(p.y()))


def window_on_one_image(qtbot, tmp_path) -> MainWindow:
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.open(REPO / "resources" / "samples" / "chelsea.png").convert("RGB").resize((40, 30)).save(folder / "c.png")
    window = MainWindow(AppSettings.at(tmp_path / "settings.ini"), Prompter(None))
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    window.model_panel.select("gcnet_r50-d8_4xb4-20k_voc12aug-512x512")
    assert window.open_folder(folder)
    qtbot.waitUntil(lambda: window.session.document is not None, timeout=5000)
    return window


def polygon(window, key, vertices) -> None:
    """Pick a class by its key, P, click the vertices, Enter."""
    QTest.keyClick(window.canvas, key)
    QTest.keyClick(window.canvas, Qt.Key.Key_P)
    for x, y in vertices:
        QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         at(window, x, y))
    QTest.keyClick(window.canvas, Qt.Key.Key_Return)


def replace_with_the_dialog(qtbot, window, target: int, proposed: int, present) -> None:
    """Ctrl+Shift+R, the target class chosen, OK."""
    QTest.keyClick(window.canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.findChild(ReplaceClassDialog) is not None and
                    window.findChild(ReplaceClassDialog).isVisible(), timeout=3000)
    dialog = window.findChild(ReplaceClassDialog)
    offered = [dialog.source.itemData(i) for i in range(dialog.source.count())]
    assert offered == sorted({int(v) for v in present if v < 21})  # only classes in the mask
    assert dialog.source.currentData() == proposed  # the active class is proposed
    dialog.target.setCurrentIndex(dialog.target.findData(target))
    QTest.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=3000)


def test_replace_class_dialog_relabels_one_class_undoably(qtbot, tmp_path):
    window = window_on_one_image(qtbot, tmp_path)
    doc = window.session.document
    polygon(window, Qt.Key.Key_3, [(0, 0), (19, 0), (19, 29), (0, 29)])  # the left half is class 2
    painted = doc.labels.copy()
    assert (painted[:, :20] == 2).all() and not (painted[:, 20:] == 2).any()

    replace_with_the_dialog(qtbot, window, 7, 2, np.unique(painted))

    expected = painted.copy()
    expected[painted == 2] = 7
    assert np.array_equal(doc.labels, expected)
    assert doc.person_changed
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, painted)  # one step undoes the whole replacement
    window.close()


def test_redo_is_disabled_after_replace_class(qtbot, tmp_path):
    window = window_on_one_image(qtbot, tmp_path)
    doc = window.session.document
    redo = window.action_set.redo
    polygon(window, Qt.Key.Key_3, [(0, 0), (19, 0), (19, 29), (0, 29)])
    polygon(window, Qt.Key.Key_4, [(20, 0), (39, 0), (39, 29), (20, 29)])
    QTest.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the second one undone
    assert redo.isEnabled()
    QTest.keyClick(window.canvas, Qt.Key.Key_3)
    replace_with_the_dialog(qtbot, window, 7, 2, np.unique(doc.labels))
    assert (doc.labels[:, :20] == 7).all()
    assert not redo.isEnabled()  # the replacement is the newest step: nothing to redo
    after = doc.labels.copy()
    QTest.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(doc.labels, after)
    window.close()
