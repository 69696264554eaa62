"""EXIF orientation (issue 23 item 4): one rule, the displayed orientation (as our decoder,
OpenCV and labelme apply it), in the import size check and the exports, for all 8 tags."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from gcnet_core.files.images import read_image_rgb
from gcnet_core.formats.export import export_images
from gcnet_core.formats.label_import import import_labels
from gcnet_core.model.classes import ClassSet
from gcnet_core.project.store import Project

STORED = (6, 10)  # (H, W) of the pixels in the file


def _photo(path, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (*STORED, 3), dtype=np.uint8)).save(path, exif=exif)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_labels_are_checked_against_the_displayed_size(tmp_path, orientation):
    root = tmp_path / "p"
    root.mkdir()
    _photo(root / "a.jpg", orientation)
    _photo(root / "b.jpg", orientation)
    shown = cv2.imread(str(root / "a.jpg"), cv2.IMREAD_COLOR).shape[:2]  # OpenCV's reading: the rule
    assert shown == read_image_rgb(root / "a.jpg").shape[:2]
    assert shown == (STORED if orientation < 5 else STORED[::-1])
    src = tmp_path / "src"
    src.mkdir()
    (src / "classes.txt").write_text("background\ncat\n")
    Image.fromarray(np.ones(shown, np.uint8)).save(src / "a.png")  # the displayed orientation: imported
    Image.fromarray(np.ones(shown[::-1], np.uint8)).save(src / "b.png")  # the other one
    project = Project.create(root, ClassSet(("background", "cat"), ((0, 0, 0), (200, 0, 0))))
    report = import_labels(project, "png", src)
    assert [image.name for _label, image in report.imported] == ["a.jpg"]
    assert [label.name for label, _image, _sizes in report.size_mismatches] == ["b.png"]
    out = tmp_path / "overlay"
    exported = export_images(project, [root / "a.jpg"], "overlay", out)
    assert exported.failed == []
    assert cv2.imread(str(next(out.rglob("*.jpg"))), cv2.IMREAD_COLOR).shape[:2] == shown
