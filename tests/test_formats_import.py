"""Import rules shared by every format (report, unknown classes, sizes, a person's work), the
shapes of labelme and COCO, and the move of older projects to the hidden layout."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from gcnet_core.files.masks import read_index_mask, write_index_mask
from gcnet_core.formats.label_import import import_labels
from gcnet_core.model.classes import CITYSCAPES_CLASSES, VOC_CLASSES, ClassSet
from gcnet_core.project.store import PROJECT_FILE, Project

CLASSES = ClassSet(("background", "cat", "sky"), ((0, 0, 0), (200, 0, 0), (70, 130, 180)))


def _images(root, *rels, size=(24, 32)):
    for rel in rels:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((*size, 3), np.uint8)).save(root / rel)


def _png(path, values):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(values, np.uint8)).save(path)


def test_report_names_unmatched_unknown_and_mismatched_files(tmp_path):
    _images(tmp_path / "p", "a.jpg", "b.jpg", "c.jpg", "x/d.jpg", "y/d.jpg")
    project = Project.create(tmp_path / "p", CLASSES)
    src = tmp_path / "src"
    (src / "classes.txt").parent.mkdir()
    (src / "classes.txt").write_text("background\ncat\nsky\n")
    _png(src / "a.png", np.full((24, 32), 1))
    _png(src / "b.png", np.full((24, 32), 7))  # a value the class list does not name
    _png(src / "c.png", np.full((12, 16), 1))  # half the size of its image
    _png(src / "nothing.png", np.full((24, 32), 1))
    _png(src / "d.png", np.full((24, 32), 1))  # two images are called d
    report = import_labels(project, "png", src)
    assert [(f.name, i.name) for f, i in report.imported] == [("a.png", "a.jpg")]
    assert report.unknown_classes == {"value 7": [src / "b.png"]}
    assert [(f.name, i.name) for f, i, _ in report.size_mismatches] == [("c.png", "c.jpg")]
    assert "label 16x12, image 32x24" in report.size_mismatches[0][2]
    assert {f.name: why for f, why in report.unmatched}.keys() == {"nothing.png", "d.png"}
    assert "matches 2 images" in dict((f.name, w) for f, w in report.unmatched)["d.png"]
    text = "\n".join(report.lines())
    for needle in ("b.png", "'value 7'", "c.png", "nothing.png", "matches no image"):
        assert needle in text
    assert not project.label_path("b.jpg").exists() and not project.label_path("c.jpg").exists()

    again = import_labels(project, "png", src, add_unknown=True)  # a.jpg is corrected now: kept
    assert [i.name for _, i in again.kept] == ["a.jpg"]
    assert [i.name for _, i in again.imported] == ["b.jpg"] and again.added_classes == ["value 7"]
    assert project.classes.names == ("background", "cat", "sky", "value 7")
    assert set(read_index_mask(project.label_path("b.jpg")).ravel()) == {3}


def test_replacing_a_persons_labels_backs_them_up(tmp_path):
    _images(tmp_path / "p", "a.jpg")
    project = Project.create(tmp_path / "p", CLASSES)
    write_index_mask(project.label_path("a.jpg"), np.full((24, 32), 2, np.uint8), CLASSES)
    project.set_state("a.jpg", "corrected")
    before = project.label_path("a.jpg").read_bytes()
    src = tmp_path / "src"
    _png(src / "a.png", np.full((24, 32), 1))
    (src / "classes.txt").write_text("background\ncat\nsky\n")
    report = import_labels(project, "png", src, replace=True)
    assert len(report.imported) == 1 and report.backup is not None
    assert (report.backup / "a.mask").read_bytes() == before
    assert set(read_index_mask(project.label_path("a.jpg")).ravel()) == {1}


def _mask_b64(mask):
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_labelme_shapes_are_drawn_as_labelme_draws_them(tmp_path):
    _images(tmp_path / "p", "img/a.jpg", size=(20, 30))
    project = Project.create(tmp_path / "p", CLASSES)
    blob = np.zeros((3, 4), bool)
    blob[1, 1:3] = True
    shapes = [
        {"label": "sky", "points": [[0, 0], [29, 19]], "shape_type": "rectangle"},
        {"label": "cat", "points": [[2, 2], [6, 2], [6, 5], [2, 5]], "shape_type": "polygon"},
        {"label": "dog", "points": [[20, 10], [23, 10]], "shape_type": "circle"},
        {"label": "cat", "points": [[10, 12], [13, 14]], "shape_type": "mask", "mask": _mask_b64(blob)},
        {"label": "__ignore__", "points": [[28, 0], [29, 1]], "shape_type": "rectangle"},
    ]
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "whatever.json").write_text(json.dumps(
        {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": "../p/img/a.jpg", "imageData": None,
         "imageHeight": 20, "imageWidth": 30}))
    refused = import_labels(project, "labelme", tmp_path / "json")
    assert refused.imported == [] and refused.unmapped == ("dog",)  # offered, never dropped
    assert "'dog'" in "\n".join(refused.lines()) and not project.label_path("img/a.jpg").exists()
    report = import_labels(project, "labelme", tmp_path / "json", add_unknown=True)
    assert report.added_classes == ["dog"] and project.classes.names[-1] == "dog"
    labels = read_index_mask(project.label_path("img/a.jpg"))
    expected = np.full((20, 30), 2, np.uint8)
    expected[2:6, 2:7] = 1  # a polygon's fill includes its outline
    expected[13, 11:13] = 1  # the mask's true pixels, placed at its box's corner
    expected[0:2, 28:30] = 255
    assert labels[10, 20] == labels[10, 23] == labels[13, 20] == 3 and labels[10, 25] == 2
    circle = labels == 3
    expected[circle] = 3
    np.testing.assert_array_equal(labels, expected)
    assert 20 < circle.sum() < 40  # about pi * 3 ** 2


def test_coco_polygons_and_the_overlap_rule(tmp_path):
    _images(tmp_path / "p", "a.jpg", size=(20, 20))
    project = Project.create(tmp_path / "p", CLASSES)
    small = {"id": 1, "image_id": 7, "category_id": 3, "segmentation": [[4, 4, 8, 4, 8, 8, 4, 8]], "area": 16,
             "iscrowd": 0}
    large = {"id": 2, "image_id": 7, "category_id": 2, "segmentation": [[0, 0, 16, 0, 16, 16, 0, 16]], "area": 256,
             "iscrowd": 0}
    data = {"images": [{"id": 7, "file_name": "a.jpg", "height": 20, "width": 20}],
            "categories": [{"id": 1, "name": "background"}, {"id": 2, "name": "cat"}, {"id": 3, "name": "sky"}],
            "annotations": [small, large]}  # the small one first: it still ends on top
    (tmp_path / "coco.json").write_text(json.dumps(data))
    report = import_labels(project, "coco", tmp_path / "coco.json")
    assert len(report.imported) == 1, report.lines()
    labels = read_index_mask(project.label_path("a.jpg"))
    assert labels[6, 6] == 2 and labels[1, 1] == 1 and labels[18, 18] == 255


def test_voc_split_and_aug_labels(tmp_path):
    _images(tmp_path / "VOC2012" / "JPEGImages", "2007_000001.jpg", "2007_000002.jpg", "2007_000003.jpg")
    voc = tmp_path / "VOC2012"
    _png(voc / "SegmentationClass" / "2007_000001.png", np.full((24, 32), 15))
    _png(voc / "SegmentationClassAug" / "2007_000002.png", np.full((24, 32), 8))
    _png(voc / "SegmentationClassAug" / "2007_000003.png", np.full((24, 32), 1))
    (voc / "ImageSets" / "Segmentation").mkdir(parents=True)
    (voc / "ImageSets" / "Segmentation" / "aug.txt").write_text("2007_000001\n2007_000002\n")
    project = Project.create(voc / "JPEGImages", ClassSet((), ()))
    report = import_labels(project, "voc", tmp_path, split="aug")  # the VOCdevkit-like parent
    assert sorted(i.name for _, i in report.imported) == ["2007_000001.jpg", "2007_000002.jpg"]
    assert project.classes.names == VOC_CLASSES
    assert set(read_index_mask(project.label_path("2007_000001.jpg")).ravel()) == {15}  # person


def test_cityscapes_label_ids_are_mapped_to_train_ids(tmp_path):
    rel = "frankfurt/frankfurt_000000_000294_leftImg8bit.png"
    _images(tmp_path / "leftImg8bit" / "val", rel)
    values = np.zeros((24, 32), np.uint8)
    values[:, 16:] = 26  # car
    _png(tmp_path / "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelIds.png", values)
    project = Project.create(tmp_path / "leftImg8bit" / "val", ClassSet((), ()))
    report = import_labels(project, "cityscapes", tmp_path, split="val")
    assert len(report.imported) == 1
    labels = read_index_mask(project.label_path(rel))
    assert project.classes.names == CITYSCAPES_CLASSES
    assert set(labels[:, 16:].ravel()) == {13} and set(labels[:, :16].ravel()) == {255}


def test_older_projects_move_to_the_hidden_layout_without_loss(tmp_path):
    _images(tmp_path, "leftImg8bit/frankfurt/a_leftImg8bit.png", "b.jpg")
    project = Project.create(tmp_path, CLASSES)
    project.set_state("b.jpg", "corrected")
    project.save()
    old = {"labels/leftImg8bit/frankfurt/a_leftImg8bit.png": b"", "labels/b.png": b"",
           "labels/.edited/b.png": b"", "labels/.predictions/b.npz": b"npz data"}
    for rel in old:
        if rel.endswith(".png"):
            write_index_mask(tmp_path / rel, np.full((24, 32), len(rel) % 3, np.uint8), CLASSES)
        else:
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_bytes(old[rel])
        old[rel] = (tmp_path / rel).read_bytes()
    reopened = Project.open(tmp_path)
    assert not (tmp_path / "labels").exists() and reopened.state("b.jpg") == "corrected"
    assert reopened.label_path("b.jpg").read_bytes() == old["labels/b.png"]
    assert reopened.edited_path("b.jpg").read_bytes() == old["labels/.edited/b.png"]
    assert reopened.label_path("leftImg8bit/frankfurt/a_leftImg8bit.png").read_bytes() == old[
        "labels/leftImg8bit/frankfurt/a_leftImg8bit.png"]
    assert (reopened.predictions_root / "b.npz").read_bytes() == b"npz data"
    # what a recursive scan for images finds is the images, and nothing of ours
    found = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                   if p.is_file() and p.name.endswith((".png", ".jpg")))
    assert found == ["b.jpg", "leftImg8bit/frankfurt/a_leftImg8bit.png"]
    assert Project.open(tmp_path).label_path("b.jpg").read_bytes() == old["labels/b.png"]  # a second open


def test_a_migration_cut_short_is_finished_on_the_next_open(tmp_path):
    _images(tmp_path, "a.jpg", "b.jpg")
    Project.create(tmp_path, CLASSES)
    for name in ("a", "b"):  # the folder was moved, one file renamed, then the process died
        write_index_mask(tmp_path / ".gcnet" / "labels" / f"{name}.png", np.full((24, 32), 1, np.uint8), CLASSES)
    (tmp_path / ".gcnet/labels/a.png").rename(tmp_path / ".gcnet/labels/a.mask")
    project = Project.open(tmp_path)
    assert read_index_mask(project.label_path("a.jpg")).shape == read_index_mask(project.label_path("b.jpg")).shape
    assert (tmp_path / PROJECT_FILE).is_file() and not list((tmp_path / ".gcnet" / "labels").glob("*.png"))


@pytest.mark.parametrize("fmt,source", [("voc", "missing"), ("coco", "text.json"), ("png", "noclasses")])
def test_sources_that_are_not_of_the_format_say_which_file(tmp_path, fmt, source):
    project = Project.create(tmp_path / "p", CLASSES)
    (tmp_path / "text.json").write_text("{not json")
    (tmp_path / "noclasses").mkdir()
    with pytest.raises((FileNotFoundError, ValueError)) as error:
        import_labels(project, fmt, tmp_path / source)
    assert str(tmp_path / source) in str(error.value)
