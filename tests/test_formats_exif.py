"""EXIF orientation (issue 23 item 4): one rule, the displayed orientation (as our decoder,
OpenCV and labelme apply it), in the probe, the import size check and every export (masks of the
displayed size; copied photos stored turned, for readers that ignore the tag), for all 8 tags.
The window's side is tests/app/test_exif_window.py."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from gcnet_core.files.images import read_image_rgb
from gcnet_core.files.masks import read_index_mask
from gcnet_core.files.probe import displayed_size, image_problem
from gcnet_core.files.probe import orientation as probed_orientation
from gcnet_core.formats.export import export_images
from gcnet_core.formats.label_import import import_labels
from gcnet_core.formats.registry import export_formats
from gcnet_core.model.classes import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, ClassSet
from gcnet_core.project.store import Project

STORED = (6, 10)  # (H, W) of the pixels in the file
CLASSES = ClassSet(("background", "cat"), ((0, 0, 0), (200, 0, 0)))


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


@pytest.mark.parametrize("orientation", range(1, 9))
def test_probe_and_every_export_use_the_displayed_orientation(tmp_path, orientation):
    root = tmp_path / "p"
    root.mkdir()
    _photo(root / "a.jpg", orientation)
    shown = cv2.imread(str(root / "a.jpg"), cv2.IMREAD_COLOR).shape[:2]
    assert displayed_size(root / "a.jpg") == shown and image_problem(root / "a.jpg") is None
    assert probed_orientation(root / "a.jpg") == orientation
    labels = np.zeros(shown, np.uint8)
    labels[: shown[0] // 2] = 1
    labels[0, 0] = 255
    project = Project.create(root, CLASSES)
    project.write_masks(root / "a.jpg", labels, labels != 255)
    photo = read_image_rgb(root / "a.jpg")
    for fmt in export_formats():
        if fmt.problem_with(CLASSES) is not None:
            continue  # the Cityscapes formats: their own test below
        out = tmp_path / fmt.name
        assert export_images(project, ["a.jpg"], fmt.name, out).failed == []
        _check_copies(out, photo)
        reader = fmt.name if fmt.reader is not None else fmt.read_back_as
        if reader is not None:  # the masks have the displayed size: they import back unchanged
            back = Project.create(tmp_path / f"back-{fmt.name}", CLASSES)
            _photo(back.root / "a.jpg", orientation)
            report = import_labels(back, reader, out)
            assert report.complete, (fmt.name, report.lines())
            expected = np.where(labels == 0, 255, labels) if fmt.name == "ade20k" else labels  # background: ADE's 0
            np.testing.assert_array_equal(read_index_mask(back.label_path("a.jpg")), expected, err_msg=fmt.name)
    labelme = json.loads((tmp_path / "labelme" / "a.json").read_text())
    assert (labelme["imageHeight"], labelme["imageWidth"]) == shown


@pytest.mark.parametrize("orientation", [1, 6])
def test_the_cityscapes_copy_is_the_displayed_photo(tmp_path, orientation):
    root = tmp_path / "p"
    root.mkdir()
    _photo(root / "a.jpg", orientation)
    photo = read_image_rgb(root / "a.jpg")
    project = Project.create(root, ClassSet(CITYSCAPES_CLASSES, CITYSCAPES_PALETTE))
    project.write_masks(root / "a.jpg", np.zeros(photo.shape[:2], np.uint8), None)
    assert export_images(project, ["a.jpg"], "cityscapes", tmp_path / "cs", with_images=True).failed == []
    _check_copies(tmp_path / "cs" / "leftImg8bit", photo)
    mask = read_index_mask(next((tmp_path / "cs").rglob("*_labelTrainIds.png")))
    assert mask.shape == photo.shape[:2]


def _check_copies(out, photo: np.ndarray) -> None:
    """Every photo an export copied is the displayed one, for a reader that applies the EXIF tag
    (OpenCV's imread, labelme) and one that ignores it (datumaro's IMREAD_UNCHANGED)."""
    for copy in (p for p in out.rglob("*") if p.suffix in (".jpg", ".png") and "SegmentationClass" not in p.parts
                 and "annotations" not in p.parts and "_gtFine_" not in p.name):
        if copy.suffix == ".png" and copy.parent == out and not any(out.glob("*.jpg")):
            continue  # the index, colour and gray exports: label pictures, not copies
        for flags in (cv2.IMREAD_COLOR, cv2.IMREAD_UNCHANGED):
            pixels = cv2.cvtColor(cv2.imread(str(copy), flags), cv2.COLOR_BGR2RGB)
            assert pixels.shape == photo.shape, copy
            if "overlay" not in out.name:
                assert np.abs(pixels.astype(int) - photo).mean() < 8, copy  # a JPEG re-encoding at most


@pytest.mark.parametrize("embedded", [False, True])
def test_a_labelme_file_without_its_size_takes_the_displayed_one(tmp_path, embedded):
    """imageHeight / imageWidth missing: the size of the image as labelme shows it (turned)."""
    import base64

    root = tmp_path / "p"
    root.mkdir()
    _photo(root / "a.jpg", 6)
    shown = STORED[::-1]
    data = {"version": "5.5.0", "flags": {}, "imagePath": "a.jpg", "imageData": None,
            "shapes": [{"label": "cat", "points": [[0, 0], [2, 3]], "shape_type": "rectangle"}]}
    if embedded:
        data["imageData"] = base64.b64encode((root / "a.jpg").read_bytes()).decode("ascii")
    (root / "a.json").write_text(json.dumps(data))
    project = Project.create(root, CLASSES)
    report = import_labels(project, "labelme", root)
    assert report.complete, report.lines()
    labels = read_index_mask(project.label_path("a.jpg"))
    assert labels.shape == shown and (labels[:4, :3] == 1).all() and (labels[4:] == 0).all()
