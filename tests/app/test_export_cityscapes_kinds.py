"""File ▸ Export's Cityscapes choice of files: the official kinds (no labelTrainIds) that datumaro
reads, picked with the keyboard in the real dialog, or all four (the default)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from app.dialogs.export_labels import ExportDialog  # noqa: E402
from gcnet_core.model.classes import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, ClassSet  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402


def test_the_official_kinds_leave_out_train_ids(qtbot, tmp_path):
    root = tmp_path / "p"
    (root / "frankfurt").mkdir(parents=True)
    image = root / "frankfurt" / "frankfurt_000000_000001_leftImg8bit.png"
    Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(image)
    project = Project.create(root, ClassSet(CITYSCAPES_CLASSES, CITYSCAPES_PALETTE))
    project.write_masks(image, np.zeros((8, 10), np.uint8), None)
    project.set_state(image, "corrected")
    project.save()

    dialog = ExportDialog(project, None)
    qtbot.addWidget(dialog)
    dialog.set_choice("voc", out=tmp_path / "voc")
    assert not dialog.cityscapes_kinds.isEnabled()
    dialog.set_choice("cityscapes", out=tmp_path / "out")
    assert dialog.cityscapes_kinds.isEnabled() and dialog.cityscapes_kinds.currentData() == "all"
    dialog.show()
    dialog.cityscapes_kinds.setFocus()
    qtbot.keyClick(dialog.cityscapes_kinds, Qt.Key.Key_Down)
    assert dialog.cityscapes_kinds.currentData() == "official"
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=10000)
    written = sorted(p.name for p in (tmp_path / "out").rglob("*_gtFine_*.png"))
    assert written == [f"frankfurt_000000_000001_gtFine_{kind}.png" for kind in ("color", "instanceIds", "labelIds")]
