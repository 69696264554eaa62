"""The public sample files other tools ship (``tests/data/``, each folder's ``SOURCE.md`` names
the repository, commit and licence) import with our importers: the expected class names and
pixel counts, and for labelme the very label maps labelme's own labelme2voc made from them
(shipped beside the samples). ``tests/reference/`` checks the same files against the tools'
own readers (labelme's ``shapes_to_label``, datumaro's ``Dataset.import_from``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gcnet_core.files.masks import read_index_mask
from gcnet_core.formats.export import export_images
from gcnet_core.cli.main import main
from gcnet_core.formats.label_import import guess_format, import_labels
from gcnet_core.model.classes import VOC_CLASSES, ClassSet
from gcnet_core.project.store import Project

DATA = Path(__file__).resolve().parent / "data"
LABELME = DATA / "labelme"
DATUMARO = DATA / "datumaro"


def project_of(images: Path, root: Path) -> Project:
    """A project holding copies of the sample's images (its label files left behind)."""
    shutil.copytree(images, root, ignore=shutil.ignore_patterns("*.json", "*.txt", "*_gtFine_*", "labelme2voc"))
    return Project.create(root, ClassSet((), ()))


def counts(project: Project, image: str) -> dict[str, int]:
    """Pixels per class name (``ignore`` for 255) of an imported image."""
    values, number = np.unique(read_index_mask(project.label_path(project.root / image)), return_counts=True)
    names = [*project.classes.names, *[""] * (255 - len(project.classes)), "ignore"]
    return {names[v]: int(n) for v, n in zip(values.tolist(), number.tolist())}


def names_of(project: Project, image: str) -> np.ndarray:
    """The class name of every pixel of an imported image (``ignore`` for 255)."""
    names = np.array([*project.classes.names, *[""] * (255 - len(project.classes)), "ignore"], dtype=object)
    return names[read_index_mask(project.label_path(project.root / image))]


def labelme2voc_names(project: Project, image: str) -> np.ndarray:
    """The class names labelme2voc wrote for ``image`` (its PNG beside the samples)."""
    names = (LABELME / "labelme2voc" / "class_names.txt").read_text().split("\n")
    table = np.array([*names, *[""] * (255 - len(names)), "ignore"], dtype=object)
    table[0] = "background"  # labelme2voc's _background_
    return table[read_index_mask(LABELME / "labelme2voc" / "SegmentationClass" / Path(image).with_suffix(".png"))]


def test_labelme_s_examples_import_as_labelme2voc_converts_them(tmp_path):
    project = project_of(LABELME, tmp_path / "p")
    report = import_labels(project, "labelme", LABELME)
    assert report.complete, report.lines()
    assert project.classes.names == ("person", "bottle", "bus", "car", "background")
    assert counts(project, "2011_000003.jpg") == {"person": 32900, "bottle": 873, "background": 125767, "ignore": 9460}
    assert counts(project, "2011_000025.jpg") == {"bus": 118222, "car": 7256, "background": 62022}
    for image in ("2011_000003.jpg", "2011_000025.jpg"):
        ours = names_of(project, image)
        np.testing.assert_array_equal(ours, labelme2voc_names(project, image))  # 100 % of the pixels
    export_images(project, ["2011_000003.jpg", "2011_000025.jpg"], "labelme", tmp_path / "out")  # and back out
    again = project_of(LABELME, tmp_path / "again")
    assert import_labels(again, "labelme", tmp_path / "out").complete
    for image in ("2011_000003.jpg", "2011_000025.jpg"):
        np.testing.assert_array_equal(names_of(again, image), names_of(project, image))


def test_datumaro_s_voc_sample_imports_with_the_voc_classes(tmp_path):
    project = project_of(DATUMARO / "voc_dataset1" / "JPEGImages", tmp_path / "p")
    report = import_labels(project, "voc", DATUMARO / "voc_dataset1", split="train")
    assert report.complete, report.lines()
    assert project.classes.names == VOC_CLASSES
    assert counts(project, "2007_000001.jpg") == {"bicycle": 200}
    export_images(project, ["2007_000001.jpg"], "voc", tmp_path / "out")  # and back out: the same colours
    with Image.open(DATUMARO / "voc_dataset1" / "SegmentationClass" / "2007_000001.png") as original, \
            Image.open(tmp_path / "out" / "SegmentationClass" / "2007_000001.png") as ours:
        assert original.mode == "RGB" and ours.mode == "P"  # datumaro writes colours, we palette indices
        np.testing.assert_array_equal(np.asarray(ours.convert("RGB")), np.asarray(original))


def test_datumaro_s_coco_sample_imports_its_masks_and_names_a_box_only_image(tmp_path):
    project = project_of(DATUMARO / "coco_instances" / "images" / "val", tmp_path / "val")
    report = import_labels(project, "coco", DATUMARO / "coco_instances", split="val")
    assert report.complete, report.lines()
    assert project.classes.names == ("a", "b", "c")  # category ids 1, 2, 4
    assert counts(project, "b.jpg") == {"a": 2, "b": 18, "ignore": 30}  # a polygon over a crowd RLE
    export_images(project, ["b.jpg"], "coco", tmp_path / "out")  # and back out: the same pixels
    again = project_of(DATUMARO / "coco_instances" / "images" / "val", tmp_path / "again")
    assert import_labels(again, "coco", tmp_path / "out").complete
    np.testing.assert_array_equal(read_index_mask(again.label_path(again.root / "b.jpg")),
                                  read_index_mask(project.label_path(project.root / "b.jpg")))

    project = project_of(DATUMARO / "coco_instances" / "images" / "train", tmp_path / "train")
    report = import_labels(project, "coco", DATUMARO / "coco_instances", split="train")
    [(label, reason)] = report.failed
    assert label.name == "instances_train.json#a.jpg" and "only box annotations" in reason
    assert not report.complete


@pytest.mark.parametrize("tree,expected", [
    ("train_dataset", {"defaultcity_000002_000045": {"person": 1, "ignore": 4},  # labelTrainIds (19 = ignore)
                       "defaultcity_000001_000019": {"ignore": 5}}),
    ("dataset", {"defaultcity_000002_000045": {"person": 1, "ignore": 4},  # instanceIds only
                 "defaultcity_000001_000019": {"ignore": 5}}),
])
def test_datumaro_s_cityscapes_samples_import(tmp_path, tree, expected):
    for split, base in (("train", "defaultcity_000002_000045"), ("val", "defaultcity_000001_000019")):
        source = DATUMARO / "cityscapes_dataset" / tree
        project = project_of(source / "leftImg8bit" / split, tmp_path / tree / split)
        report = import_labels(project, "cityscapes", source, split=split)
        assert report.complete, report.lines()
        assert counts(project, f"defaultcity/{base}_leftImg8bit.png") == expected[base]


def test_datumaro_s_full_ade20k_sample_is_refused_naming_its_layout(tmp_path, capsys):
    source = DATUMARO / "ade20k2020_dataset"
    assert guess_format(source) != "labelme"  # its per-image JSON files are not labelme's
    project_of(source / "training" / "street", tmp_path / "p")
    assert main(["import", "--project", str(tmp_path / "p"), "--format", "ade20k", "--split", "training",
                 str(source)]) == 2
    err = capsys.readouterr().err
    assert "full ADE20K dataset layout" in err and "1_seg.png" in err and "annotations/<split>" in err
