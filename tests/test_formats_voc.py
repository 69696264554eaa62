"""VOC as its tools write it (issue 23 item 3): palette entry 255 is VOC's (224, 224, 192), a
datumaro ``labelmap.txt`` is written beside the export, and masks saved as RGB colours are read
through ``labelmap.txt`` or the VOC palette."""

from __future__ import annotations

import numpy as np
from PIL import Image

from gcnet_core.files.masks import read_index_mask
from gcnet_core.formats.export import export_images
from gcnet_core.formats.label_import import import_labels
from gcnet_core.model.classes import VOC_CLASSES, VOC_PALETTE, ClassSet
from gcnet_core.project.store import Project

CLASSES = ClassSet(("road", "cat"), ((128, 64, 128), (200, 0, 0)))


def _voc_folder(root, masks: dict[str, np.ndarray]):
    for stem, mask in masks.items():
        (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((*mask.shape[:2], 3), np.uint8)).save(root / "JPEGImages" / f"{stem}.jpg")
        (root / "SegmentationClass").mkdir(exist_ok=True)
        Image.fromarray(mask).save(root / "SegmentationClass" / f"{stem}.png")


def _labels():
    labels = np.zeros((6, 8), np.uint8)
    labels[:, 4:] = 1
    labels[0, :] = 255
    return labels


def test_the_export_has_voc_void_colour_and_a_datumaro_labelmap(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(root / "a.jpg")
    project = Project.create(root, CLASSES)
    project.write_masks(root / "a.jpg", _labels(), None)
    export_images(project, [root / "a.jpg"], "voc", tmp_path / "out")
    with Image.open(tmp_path / "out" / "SegmentationClass" / "a.png") as im:
        assert im.mode == "P"
        palette = np.asarray(im.getpalette(), np.uint8).reshape(-1, 3)
        assert tuple(palette[255]) == (224, 224, 192) and tuple(palette[1]) == (200, 0, 0)
    assert (tmp_path / "out" / "labelmap.txt").read_text().splitlines() == [
        "# label:color_rgb:parts:actions", "road:128,64,128::", "cat:200,0,0::", "ignored:224,224,192::"]


def test_colour_masks_are_read_through_the_voc_palette(tmp_path):
    labels = _labels()
    palette = np.asarray(VOC_PALETTE, np.uint8)
    colours = palette[np.where(labels == 255, 0, labels)]
    colours[labels == 255] = (224, 224, 192)
    voc = tmp_path / "VOC"
    _voc_folder(voc, {"a": colours})
    project = Project.create(voc / "JPEGImages", ClassSet(VOC_CLASSES, VOC_PALETTE))
    report = import_labels(project, "voc", voc)
    assert len(report.imported) == 1, report.lines()
    np.testing.assert_array_equal(read_index_mask(project.label_path(voc / "JPEGImages" / "a.jpg")), labels)


def test_colour_masks_are_read_through_a_labelmap_and_unknown_colours_named(tmp_path):
    labels = _labels()
    colours = np.zeros((6, 8, 3), np.uint8)
    colours[labels == 0] = (10, 20, 30)
    colours[labels == 1] = (40, 50, 60)
    colours[labels == 255] = (224, 224, 192)
    odd = colours.copy()
    odd[3, 3] = (1, 2, 3)
    voc = tmp_path / "VOC"
    _voc_folder(voc, {"a": colours, "b": odd})
    (voc / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nroad:10,20,30::\ncat:40,50,60::\n"
                                      "ignored:224,224,192::\n")
    project = Project.create(voc / "JPEGImages", ClassSet((), ()))
    report = import_labels(project, "voc", voc)
    assert [image.name for _file, image in report.imported] == ["a.jpg"]
    assert project.classes.names == ("road", "cat") and project.classes.palette[1] == (40, 50, 60)
    np.testing.assert_array_equal(read_index_mask(project.label_path(voc / "JPEGImages" / "a.jpg")), labels)
    [(path, reason)] = report.failed
    assert path.name == "b.png" and "(1, 2, 3)" in reason and "labelmap.txt" in reason
