"""EXIF orientation in the window (issue 23 item 4): for each of the 8 tags the canvas shows the
photo turned as OpenCV's imread and labelme show it, an imported mask of that size opens aligned
with it, and a brush stroke lands where it is drawn."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from gcnet_core.files.masks import write_index_mask  # noqa: E402
from gcnet_core.model.classes import ClassSet  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402

from test_window import drag, key, make_window, open_and_wait  # noqa: E402,F401

STORED = (30, 48)  # (H, W) of the pixels in the files
CLASSES = ClassSet(("background", "cat"), ((0, 0, 0), (200, 0, 0)))


def test_each_orientation_is_shown_turned_with_its_mask_aligned(qtbot, make_window, tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    project = Project.create(root, CLASSES)
    masks = {}
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        name = f"o{orientation}.jpg"
        Image.fromarray(rng.integers(0, 256, (*STORED, 3), dtype=np.uint8)).save(root / name, exif=exif)
        shown = cv2.imread(str(root / name), cv2.IMREAD_COLOR).shape[:2]
        mask = np.zeros(shown, np.uint8)
        mask[: shown[0] // 3, : shown[1] // 3] = 1  # the top-left corner as the photo is shown
        write_index_mask(project.label_path(name), mask, CLASSES)
        project.set_state(name, "corrected")
        masks[name] = mask
    project.save()

    window = make_window()
    open_and_wait(qtbot, window, root, 8)
    for name, mask in masks.items():
        assert window.open_image(name)
        height, width = mask.shape
        assert window.canvas.image_size() == (width, height), name
        assert window.status_labels.size.text() == f"{width} × {height}"
        doc = window.session.document
        np.testing.assert_array_equal(doc.labels, mask, err_msg=name)  # opened as it is, not moved aside

    key(window, Qt.Key.Key_2)  # cat
    key(window, Qt.Key.Key_B)
    window.canvas.set_brush_size(1)
    drag(window, [(width - 3, height - 3)])  # the bottom-right corner of the last one, o8 (turned)
    assert window.session.document.labels[height - 3, width - 3] == 1
