"""Every format of the registry: export -> import -> export -> import gives identical arrays and
class names, and our own dataset readers (``gcnet eval/train --dataset``) read the dataset layouts
back. A format added to the registry is tested here without a line of its own. A project's
background class is written as each format names it, and with ignore pixels the labelme, VOC
and COCO round trips are identical both ways."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from gcnet_core.data.readers import SegDataset
from gcnet_core.files.masks import read_index_mask, write_index_mask
from gcnet_core.formats.export import export_images
from gcnet_core.formats.format import Format
from gcnet_core.formats.label_import import guess_format, import_labels
from gcnet_core.formats.registry import export_format, export_formats, import_formats
from gcnet_core.model.classes import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, ClassSet
from gcnet_core.project.store import Project

IMAGES = ("frankfurt/frankfurt_000000_000001_leftImg8bit.png", "lindau/lindau_000000_000002_leftImg8bit.png")
CUSTOM = ClassSet(("road", "cat", "sky", "tree"), ((128, 64, 128), (200, 0, 0), (70, 130, 180), (0, 140, 0)))
CITYSCAPES = ClassSet(CITYSCAPES_CLASSES, CITYSCAPES_PALETTE)


def read_back_as(fmt: Format) -> str | None:
    """The import format that reads an export in ``fmt`` (None: a picture, not read back)."""
    return fmt.name if fmt.reader is not None else fmt.read_back_as


READ_BACK = [fmt.name for fmt in export_formats() if read_back_as(fmt)]


def test_every_import_format_reads_some_export():
    assert {read_back_as(fmt) for fmt in export_formats()} - {None} == {fmt.name for fmt in import_formats()}


def _labels(seed: int, classes: ClassSet) -> np.ndarray:
    """Blocks of every class (so each appears), some ignore pixels, a few single pixels."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.repeat(rng.integers(0, len(classes), (6, 8)), 4, axis=0), 4, axis=1).astype(np.uint8)
    labels[:4, :4] = 255
    labels[rng.integers(0, 24, 5), rng.integers(0, 32, 5)] = rng.integers(0, len(classes), 5)
    labels.flat[: len(classes)] = np.arange(len(classes))
    return labels


def _project(root, classes: ClassSet, with_labels: bool) -> Project:
    for i, rel in enumerate(IMAGES):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        rgb = np.random.default_rng(10 + i).integers(0, 256, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(root / rel)
    project = Project.create(root, classes)
    if with_labels:
        for i, rel in enumerate(IMAGES):
            write_index_mask(project.label_path(rel), _labels(i, classes), classes)
            project.set_state(rel, "corrected")
        project.save()
    return project


def round_trip(tmp_path, fmt: Format) -> None:
    """Export -> import -> export -> import in ``fmt`` (and the import format that reads it)."""
    export_fmt, import_fmt = fmt.name, read_back_as(fmt)
    classes = CUSTOM if fmt.problem_with(CUSTOM) is None else CITYSCAPES
    options = {"with_images": True} if "with_images" in fmt.options else {}
    a = _project(tmp_path / "a", classes, with_labels=True)
    export_images(a, IMAGES, export_fmt, tmp_path / "out1", **options)
    assert guess_format(tmp_path / "out1") == import_fmt

    b = _project(tmp_path / "b", classes, with_labels=False)
    report = import_labels(b, import_fmt, tmp_path / "out1")
    assert len(report.imported) == 2, report.lines()
    assert not (report.unmatched or report.unknown_classes or report.size_mismatches or report.failed)
    assert b.classes == classes and report.added_classes == []
    for i, rel in enumerate(IMAGES):
        np.testing.assert_array_equal(read_index_mask(b.label_path(rel)), _labels(i, classes))
        assert b.state(rel) == "corrected"
        np.testing.assert_array_equal(b.read_edited(rel), _labels(i, classes) != 255)

    export_images(b, IMAGES, export_fmt, tmp_path / "out2", **options)
    c = _project(tmp_path / "c", ClassSet((), ()), with_labels=False)  # no classes yet: the file's
    report = import_labels(c, import_fmt, tmp_path / "out2")
    assert len(report.imported) == 2, report.lines()
    if import_fmt == "labelme":  # labelme files name only the classes present, in first-seen order
        assert set(c.classes.names) == set(classes.names)
        names = np.array(c.classes.names + ("",) * (256 - len(c.classes)), dtype=object)
        names[255] = "ignore"
        expected = np.array(classes.names + ("",) * (256 - len(classes)), dtype=object)
        expected[255] = "ignore"
        for i, rel in enumerate(IMAGES):
            np.testing.assert_array_equal(names[read_index_mask(c.label_path(rel))], expected[_labels(i, classes)])
    else:
        assert c.classes.names == classes.names
        for i, rel in enumerate(IMAGES):
            np.testing.assert_array_equal(read_index_mask(c.label_path(rel)), _labels(i, classes))


@pytest.mark.parametrize("name", READ_BACK)
def test_round_trip(tmp_path, name):
    round_trip(tmp_path, next(fmt for fmt in export_formats() if fmt.name == name))


@pytest.mark.parametrize("kind,export_fmt,split", [("cityscapes", "cityscapes", "val"), ("ade20k", "ade20k", "val"),
                                                    ("voc", "voc", "train")])
def test_our_dataset_readers_read_the_exports(tmp_path, kind, export_fmt, split):
    classes = CITYSCAPES if kind == "cityscapes" else CUSTOM
    project = _project(tmp_path / "p", classes, with_labels=True)
    export_images(project, IMAGES, export_fmt, tmp_path / "out", split=split, with_images=True)
    dataset = SegDataset(kind, tmp_path / "out", split)  # the class list comes with the export
    assert len(dataset) == 2 and dataset.classes.names == classes.names
    by_name = {name: label for _, label, name in (dataset[i] for i in range(2))}
    for i, rel in enumerate(IMAGES):
        stem = rel.split("/")[-1].removesuffix("_leftImg8bit.png")
        key = stem if kind == "cityscapes" else rel.removesuffix(".png").replace("/", "__")
        np.testing.assert_array_equal(by_name[key], _labels(i, classes))


def test_cityscapes_export_uses_the_official_names(tmp_path):
    project = _project(tmp_path / "p", CITYSCAPES, with_labels=True)
    export_images(project, IMAGES, "cityscapes", tmp_path / "out", split="val", with_images=True)
    folder = tmp_path / "out" / "gtFine" / "val" / "frankfurt"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"frankfurt_000000_000001_gtFine_{kind}.png" for kind in ("color", "instanceIds", "labelIds", "labelTrainIds")]
    image = tmp_path / "out" / "leftImg8bit" / "val" / "frankfurt" / "frankfurt_000000_000001_leftImg8bit.png"
    assert image.read_bytes() == (project.root / IMAGES[0]).read_bytes()  # a byte-exact copy
    instance = Image.open(folder / "frankfurt_000000_000001_gtFine_instanceIds.png")
    label_ids = np.asarray(Image.open(folder / "frankfurt_000000_000001_gtFine_labelIds.png"))
    np.testing.assert_array_equal(np.asarray(instance).astype(np.int64), label_ids)
    assert instance.mode.startswith("I")  # 16-bit, as the official files
    colour = np.asarray(Image.open(folder / "frankfurt_000000_000001_gtFine_color.png").convert("RGB"))
    labels = _labels(0, CITYSCAPES)
    assert tuple(colour[labels == 0][0]) == CITYSCAPES_PALETTE[0] and tuple(colour[labels == 255][0]) == (0, 0, 0)
    assert label_ids[labels == 255].max() == 0 and label_ids[labels == 13].min() == 26  # car
    export_images(project, IMAGES[:1], "trainids", tmp_path / "flat")  # beside the image's folder, official name
    assert [p.name for p in (tmp_path / "flat" / "frankfurt").iterdir()] == [
        "frankfurt_000000_000001_gtFine_labelTrainIds.png"]


def test_ade20k_export_stores_class_plus_one(tmp_path):
    project = _project(tmp_path / "p", CUSTOM, with_labels=True)
    export_images(project, IMAGES[:1], "ade20k", tmp_path / "out", split="val")
    stored = np.asarray(Image.open(tmp_path / "out/annotations/validation/frankfurt__frankfurt_000000_000001_leftImg8bit.png"))
    labels = _labels(0, CUSTOM)
    np.testing.assert_array_equal(stored, np.where(labels == 255, 0, labels.astype(int) + 1))
    assert (tmp_path / "out/images/validation/frankfurt__frankfurt_000000_000001_leftImg8bit.jpg").is_file()


def test_coco_categories_have_a_supercategory(tmp_path):
    import json

    project = _project(tmp_path / "p", CITYSCAPES, with_labels=True)
    export_images(project, IMAGES, "coco", tmp_path / "out")
    categories = json.loads((tmp_path / "out/annotations/instances_train.json").read_text())["categories"]
    assert categories[0] == {"id": 1, "name": "road", "supercategory": "flat", "color": [128, 64, 128]}
    assert categories[13]["supercategory"] == "vehicle"


def test_exports_leave_no_project_files_in_the_way(tmp_path):
    """The copy of a project tree keeps its masks where no image scanner matches them."""
    project = _project(tmp_path / "p", CITYSCAPES, with_labels=True)
    scanned = [p for p in project.root.rglob("*") if p.is_file() and p.name.endswith("_leftImg8bit.png")]
    assert sorted(p.relative_to(project.root).as_posix() for p in scanned) == sorted(IMAGES)


# ----------------------------------------------------- background and ignore, both ways (issue 23 item 2)
WITH_BACKGROUND = ClassSet(("cat", "background", "dog"), ((200, 0, 0), (0, 0, 0), (0, 0, 200)))


def _names(project: Project, rel: str) -> np.ndarray:
    """The class name of every pixel of ``rel`` (``ignore`` for 255): what a round trip keeps."""
    table = np.array([*project.classes.names, *[""] * (255 - len(project.classes)), "ignore"], dtype=object)
    return table[read_index_mask(project.label_path(rel))]


def _as_read(fmt: str, source, tmp_path, name: str) -> dict[str, np.ndarray]:
    """What our import reads from ``source``, as class names per pixel, by image."""
    project = _project(tmp_path / name, ClassSet((), ()), with_labels=False)
    report = import_labels(project, fmt, source)
    assert report.complete, report.lines()
    return {rel: _names(project, rel) for rel in IMAGES}


@pytest.mark.parametrize("fmt", ["labelme", "voc", "coco"])
def test_background_and_ignore_round_trip_both_ways(tmp_path, fmt):
    a = _project(tmp_path / "a", WITH_BACKGROUND, with_labels=True)  # background at 1, ignore pixels
    assert all((_labels(i, WITH_BACKGROUND) == 255).any() for i in range(2))
    export_images(a, IMAGES, fmt, tmp_path / "out1")
    b = _project(tmp_path / "b", WITH_BACKGROUND, with_labels=False)  # project -> format -> project
    assert import_labels(b, fmt, tmp_path / "out1").complete
    assert b.classes == WITH_BACKGROUND
    for i, rel in enumerate(IMAGES):
        np.testing.assert_array_equal(read_index_mask(b.label_path(rel)), _labels(i, WITH_BACKGROUND))
    first = _as_read(fmt, tmp_path / "out1", tmp_path, "c")  # format -> project (new) -> format
    c = Project.open(tmp_path / "c")
    export_images(c, IMAGES, fmt, tmp_path / "out2")
    second = _as_read(fmt, tmp_path / "out2", tmp_path, "d")
    for rel in IMAGES:
        np.testing.assert_array_equal(first[rel], _names(a, rel))
        np.testing.assert_array_equal(second[rel], first[rel])


def test_voc_writes_the_background_class_at_0_named_background(tmp_path):
    classes = ClassSet(("cat", "_background_", "dog"), WITH_BACKGROUND.palette)
    project = _project(tmp_path / "p", classes, with_labels=True)
    export_images(project, IMAGES[:1], "voc", tmp_path / "out")
    stored = read_index_mask(tmp_path / "out" / "SegmentationClass" / "frankfurt__frankfurt_000000_000001_leftImg8bit.png")
    labels = _labels(0, classes)
    np.testing.assert_array_equal(stored, np.array([1, 0, 2] + list(range(3, 256)), np.uint8)[labels])
    assert (tmp_path / "out" / "labelmap.txt").read_text().splitlines()[1:] == [
        "background:0,0,0::", "cat:200,0,0::", "dog:0,0,200::", "ignored:224,224,192::"]
    assert (tmp_path / "out" / "classes.txt").read_text().split() == ["background", "cat", "dog"]


def test_ade20k_writes_the_background_class_as_its_0(tmp_path):
    project = _project(tmp_path / "p", WITH_BACKGROUND, with_labels=True)
    export_images(project, IMAGES[:1], "ade20k", tmp_path / "out")
    stored = read_index_mask(tmp_path / "out/annotations/training/frankfurt__frankfurt_000000_000001_leftImg8bit.png")
    labels = _labels(0, WITH_BACKGROUND)
    np.testing.assert_array_equal(stored, np.array([1, 0, 2] + [0] * 253, np.uint8)[labels])  # 255 -> 0 too
    assert (tmp_path / "out" / "classes.txt").read_text().split() == ["cat", "dog"]


def test_cityscapes_takes_a_background_class_after_the_19_as_unlabeled(tmp_path):
    classes = ClassSet((*CITYSCAPES_CLASSES, "background"), (*CITYSCAPES_PALETTE, (0, 0, 0)))
    project = _project(tmp_path / "p", classes, with_labels=True)
    labels = _labels(0, classes)
    assert (labels == 19).any()
    export_images(project, IMAGES[:1], "cityscapes", tmp_path / "out")
    folder = tmp_path / "out" / "gtFine" / "train" / "frankfurt"
    train_ids = read_index_mask(folder / "frankfurt_000000_000001_gtFine_labelTrainIds.png")
    label_ids = read_index_mask(folder / "frankfurt_000000_000001_gtFine_labelIds.png")
    np.testing.assert_array_equal(train_ids, np.where(labels == 19, 255, labels))
    assert (label_ids[labels == 19] == 0).all() and (label_ids[labels == 13] == 26).all()
    export_images(project, IMAGES[:1], "trainids", tmp_path / "flat")
    flat = read_index_mask(tmp_path / "flat" / "frankfurt" / "frankfurt_000000_000001_gtFine_labelTrainIds.png")
    np.testing.assert_array_equal(flat, train_ids)
    assert export_format("cityscapes").problem_with(ClassSet((*CITYSCAPES_CLASSES, "cat"), (*CITYSCAPES_PALETTE, (1, 2, 3))))
