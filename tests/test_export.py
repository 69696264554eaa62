"""gcnet_core.formats.export and `gcnet export`: every format written, then read back and compared."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image

from gcnet_core.model.classes import CITYSCAPES_TRAINID_TO_LABELID, DATASET_CLASSES, ClassSet
from gcnet_core.cli.main import main
from gcnet_core.formats.export import check_format, export_images, mark_exported
from gcnet_core.formats.registry import export_formats
from gcnet_core.files.masks import write_index_mask
from gcnet_core.project.store import Project

CITYSCAPES = DATASET_CLASSES["cityscapes"]


@pytest.fixture
def project(tmp_path):
    """Three tiny images (a JPEG, a PNG, a nested PNG): two corrected, one predicted."""
    root = tmp_path / "proj"
    (root / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = {}
    for rel, state in (("a.jpg", "corrected"), ("b.png", "predicted"), ("sub/c.png", "corrected")):
        rgb = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(root / rel, quality=95)
        lab = rng.integers(0, 4, (12, 16), dtype=np.uint8)
        lab[0, :3] = 255  # some ignore
        lab[5:8, 5:9] = 13  # car
        labels[rel] = lab
    project = Project.create(root, CITYSCAPES)
    for rel, state in (("a.jpg", "corrected"), ("b.png", "predicted"), ("sub/c.png", "corrected")):
        write_index_mask(project.label_path(rel), labels[rel], CITYSCAPES)
        project.set_state(rel, state)
    project.save()
    project.test_labels = labels
    return project


def test_every_format_reads_back(project, tmp_path):
    images = ["a.jpg", "b.png", "sub/c.png"]
    for fmt in (f.name for f in export_formats()):
        out = tmp_path / fmt
        report = export_images(project, images, fmt, out)
        assert not report.failed and len(report.written) == 3, fmt
    lab = project.test_labels
    palette = CITYSCAPES.palette_array()
    for rel in images:
        stem = rel.rsplit(".", 1)[0]
        index = Image.open(tmp_path / "index" / f"{stem}.png")
        assert index.mode == "P" and np.array_equal(np.asarray(index), lab[rel])
        assert index.getpalette()[:3] == list(CITYSCAPES.palette[0])
        color = cv2.cvtColor(cv2.imread(str(tmp_path / "color" / f"{stem}.png")), cv2.COLOR_BGR2RGB)
        assert np.array_equal(color, palette[lab[rel]])
        gray = Image.open(tmp_path / "gray" / f"{stem}.png")
        assert gray.mode == "L" and np.array_equal(np.asarray(gray), lab[rel])
        label_ids = np.asarray(Image.open(tmp_path / "labelids" / f"{stem}_gtFine_labelIds.png"))
        assert label_ids[6, 6] == CITYSCAPES_TRAINID_TO_LABELID[13] == 26 and label_ids[0, 0] == 0
        train_ids = np.asarray(Image.open(tmp_path / "trainids" / f"{stem}_gtFine_labelTrainIds.png"))
        assert np.array_equal(train_ids, lab[rel])
        jpeg = cv2.imread(str(tmp_path / "overlay" / f"{stem}.jpg"))
        assert jpeg is not None and jpeg.shape == (12, 16, 3)
        voc_id = stem.replace("/", "__")
        voc = Image.open(tmp_path / "voc" / "SegmentationClass" / f"{voc_id}.png")
        assert voc.mode == "P" and np.array_equal(np.asarray(voc), lab[rel])
        assert cv2.imread(str(tmp_path / "voc" / "JPEGImages" / f"{voc_id}.jpg")).shape == (12, 16, 3)
    assert (tmp_path / "voc" / "JPEGImages" / "a.jpg").read_bytes() == (project.root / "a.jpg").read_bytes()
    split = (tmp_path / "voc" / "ImageSets" / "Segmentation" / "train.txt").read_text().split()
    assert split == ["a", "b", "sub__c"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_coco_rle_decodes_to_the_class_masks(project, tmp_path):
    from pycocotools import mask as coco_mask

    export_images(project, ["a.jpg", "sub/c.png"], "coco", tmp_path / "coco", split="val")
    data = json.loads((tmp_path / "coco" / "annotations" / "instances_val.json").read_text())
    assert (tmp_path / "coco/images/val/a.jpg").read_bytes() == (project.root / "a.jpg").read_bytes()
    assert (tmp_path / "coco/images/val/sub/c.png").read_bytes() == (project.root / "sub/c.png").read_bytes()
    assert [c["name"] for c in data["categories"]] == list(CITYSCAPES.names)
    assert data["categories"][0]["id"] == 1
    assert [i["file_name"] for i in data["images"]] == ["a.jpg", "sub/c.png"]
    for image in data["images"]:
        lab = project.test_labels[image["file_name"]]
        anns = [a for a in data["annotations"] if a["image_id"] == image["id"]]
        assert sorted(a["category_id"] - 1 for a in anns) == sorted(set(np.unique(lab)) - {255})
        for ann in anns:
            decoded = coco_mask.decode(ann["segmentation"])
            expected = lab == ann["category_id"] - 1
            assert np.array_equal(decoded.astype(bool), expected)
            assert ann["area"] == int(expected.sum())
            ys, xs = np.nonzero(expected)
            assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    car = next(a for a in data["annotations"] if a["category_id"] == 14 and a["image_id"] == 1)
    assert car["bbox"] == [5, 5, 4, 3]
    export_images(project, ["a.jpg"], "coco", tmp_path / "single", coco_layout="file")  # the older layout
    single = json.loads((tmp_path / "single" / "annotations.json").read_text())
    assert single["annotations"] == [a for a in data["annotations"] if a["image_id"] == 1]
    assert sorted(p.name for p in (tmp_path / "single").iterdir()) == [".gcnet-output", "annotations.json"]


def test_only_corrected_images_become_exported(project, tmp_path):
    report = export_images(project, ["a.jpg", "b.png"], "index", tmp_path / "out")
    assert mark_exported(project, report.written) == 1
    reopened = Project.open(project.root)
    assert reopened.state("a.jpg") == "exported" and reopened.state("b.png") == "predicted"


def test_missing_mask_is_reported_not_fatal(project, tmp_path):
    (project.root / "d.png").write_bytes((project.root / "b.png").read_bytes())
    report = export_images(project, ["d.png", "a.jpg"], "color", tmp_path / "out")
    assert [p.name for p in report.written] == ["a.jpg"]
    assert report.failed[0][0].name == "d.png" and "it has no labels in the project" in report.failed[0][1]


def test_cityscapes_formats_need_cityscapes_classes():
    voc = DATASET_CLASSES["voc"]
    with pytest.raises(ValueError, match="Cityscapes"):
        check_format("labelids", voc)
    with pytest.raises(ValueError, match="unknown export format"):
        check_format("tiff", voc)
    check_format("coco", ClassSet(("a",), ((1, 2, 3),)))


def test_cli_export_all_corrected(project, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["export", "--project", str(project.root), "--format", "voc", "--out", str(out),
                 "--all-corrected", "--split", "val", "--quiet"]) == 0
    assert (out / "ImageSets" / "Segmentation" / "val.txt").read_text().split() == ["a", "sub__c"]
    assert "2 image(s) exported" in capsys.readouterr().out
    reopened = Project.open(project.root)
    assert [reopened.state(p) for p in ("a.jpg", "b.png", "sub/c.png")] == ["exported", "predicted", "exported"]
    # explicit images, relative to the project; an already-exported image stays exported
    assert main(["export", "--project", str(project.root), "--format", "gray", "--out", str(out / "g"),
                 "a.jpg", "b.png", "--quiet"]) == 0
    assert sorted(p.name for p in (out / "g").iterdir()) == [".gcnet-output", "a.png", "b.png", "classes.txt"]
    assert (out / "g" / ".gcnet-output").read_text().startswith("gcnet export output")  # a project scan skips it
    assert Project.open(project.root).state("b.png") == "predicted"


def test_cli_export_rejects_a_folder_that_is_no_project(tmp_path, capsys):
    assert main(["export", "--project", str(tmp_path), "--format", "index", "--out", str(tmp_path / "o"),
                 "--all-corrected"]) == 2
    assert "not an annotation project" in capsys.readouterr().err
