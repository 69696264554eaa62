"""Our exports loaded by datumaro's own importers (``Dataset.import_from``), each mask equal to
what the project holds, and datumaro's own sample datasets (``tests/data/datumaro``) imported by
us as datumaro reads them. datumaro lives in its own venv (``.refvenv-datumaro``, datumaro==1.13.12)
and runs in a subprocess (``datumaro_read.py``); the tests are skipped without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_formats_roundtrip import CITYSCAPES, CUSTOM, IMAGES, WITH_BACKGROUND, _labels, _project  # noqa: E402
from test_formats_samples import DATUMARO as DATA, names_of, project_of  # noqa: E402

from gcnet_core.formats.export import export_images  # noqa: E402
from gcnet_core.formats.label_import import import_labels  # noqa: E402
from gcnet_core.formats.voc import VOID_LABEL  # noqa: E402
from gcnet_core.project.store import Project  # noqa: E402

pytestmark = pytest.mark.reference

REPO = Path(__file__).resolve().parents[2]
DATUMARO = REPO / ".refvenv-datumaro" / "bin" / "python"
needs_datumaro = pytest.mark.skipif(not DATUMARO.is_file(), reason="datumaro's venv (.refvenv-datumaro) is absent")


def read_with_datumaro(dataset: Path, fmt: str, tmp_path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """(label names, item id -> class mask with 255 where no mask covers a pixel) as datumaro reads them
    (and ``<id>#layers``, ``<id>#labels``: each of its masks, see ``datumaro_read.py``)."""
    out = tmp_path / "datumaro.npz"
    done = subprocess.run([str(DATUMARO), str(Path(__file__).with_name("datumaro_read.py")), str(dataset), fmt,
                           str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    data = np.load(out)
    return [str(n) for n in data["__names__"]], {k: data[k] for k in data.files if k != "__names__"}


def as_project_values(names: list[str], masks: np.ndarray) -> np.ndarray:
    """datumaro's label indices as the project's class indices (its ``ignored`` label = 255)."""
    lut = np.full(256, 255, np.uint8)
    for i, name in enumerate(names):
        lut[i] = 255 if name == VOID_LABEL else CUSTOM.names.index(name)
    return lut[masks]


@needs_datumaro
def test_datumaro_loads_the_voc_export_with_equal_masks(tmp_path):
    project = _project(tmp_path / "p", CUSTOM, with_labels=True)
    export_images(project, IMAGES, "voc", tmp_path / "voc")
    names, masks = read_with_datumaro(tmp_path / "voc", "voc_segmentation", tmp_path)
    assert names == [*CUSTOM.names, VOID_LABEL]
    assert len([item for item in masks if "#" not in item]) == len(IMAGES)
    for i, rel in enumerate(IMAGES):
        voc_id = Path(rel).with_suffix("").as_posix().replace("/", "__")
        np.testing.assert_array_equal(as_project_values(names, masks[voc_id]), _labels(i, CUSTOM))


@needs_datumaro
def test_datumaro_loads_the_coco_export_with_equal_masks(tmp_path):
    project = _project(tmp_path / "p", CUSTOM, with_labels=True)
    export_images(project, IMAGES, "coco", tmp_path / "coco")  # annotations/instances_train.json, images/train/
    names, masks = read_with_datumaro(tmp_path / "coco", "coco_instances", tmp_path)
    assert names == list(CUSTOM.names)
    assert len([item for item in masks if "#" not in item]) == len(IMAGES)
    for i, rel in enumerate(IMAGES):
        np.testing.assert_array_equal(as_project_values(names, masks[Path(rel).with_suffix("").as_posix()]),
                                      _labels(i, CUSTOM))


def cityscapes_as_project_values(names: list[str], masks: np.ndarray) -> np.ndarray:
    """datumaro's Cityscapes labels (official names without spaces) as the project's train ids."""
    ours = {name.replace(" ", ""): i for i, name in enumerate(CITYSCAPES.names)}
    lut = np.full(256, 255, np.uint8)
    for i, name in enumerate(names):
        lut[i] = ours.get(name, 255)  # unlabeled, ego vehicle, ... are not classes of the project
    return lut[masks]


@needs_datumaro
def test_datumaro_loads_the_official_cityscapes_export_with_equal_masks(tmp_path):
    project = _project(tmp_path / "p", CITYSCAPES, with_labels=True)
    export_images(project, IMAGES, "cityscapes", tmp_path / "cs", split="val", with_images=True,
                  cityscapes_kinds="official")
    assert not list((tmp_path / "cs").rglob("*_labelTrainIds.png"))
    names, masks = read_with_datumaro(tmp_path / "cs", "cityscapes", tmp_path)
    assert names[0] == "unlabeled" and "trafficlight" in names  # its 34-class table, read from instanceIds
    assert len([item for item in masks if "#" not in item]) == len(IMAGES)
    for i, rel in enumerate(IMAGES):
        item = Path(rel).parent.name + "/" + Path(rel).name.removesuffix("_leftImg8bit.png")
        np.testing.assert_array_equal(cityscapes_as_project_values(names, masks[item]), _labels(i, CITYSCAPES))


@needs_datumaro
def test_datumaro_drops_train_id_0_of_the_default_cityscapes_export(tmp_path):
    """Why "official" exists: with labelTrainIds datumaro reads its 19-class table and skips label 0
    (road) as background (``if label_id:`` in CityscapesBase._load_items); every other class agrees."""
    project = _project(tmp_path / "p", CITYSCAPES, with_labels=True)
    export_images(project, IMAGES, "cityscapes", tmp_path / "cs", split="val", with_images=True)
    names, masks = read_with_datumaro(tmp_path / "cs", "cityscapes", tmp_path)
    assert names[0] == "road"
    item = "frankfurt/frankfurt_000000_000001"
    expected = _labels(0, CITYSCAPES)
    np.testing.assert_array_equal(cityscapes_as_project_values(names, masks[item]),
                                  np.where(expected == 0, 255, expected))


# ------------------------------------------------------------------ the public samples (tests/data/)
def their_names(names: list[str], canvas: np.ndarray, unlabelled: tuple[str, ...] = ()) -> np.ndarray:
    """datumaro's label of every pixel as our class names: ``ignore`` where no mask covers it or
    its label is one of ``unlabelled`` (VOC's ``ignored``, Cityscapes' background and void ids)."""
    ours = {name.replace(" ", ""): name for name in CITYSCAPES.names}
    table = np.array([*["ignore" if n in unlabelled else ours.get(n, n) for n in names],
                      *[""] * (255 - len(names)), "ignore"], dtype=object)
    return table[canvas]


def agree(project: Project, image: str, theirs: np.ndarray, fmt: str) -> None:
    ours = names_of(project, image)
    share = float((ours == theirs).mean())
    print(f"{fmt}: {image}: {share:.1%} of {ours.size} pixels agree with datumaro")
    np.testing.assert_array_equal(ours, theirs)


@needs_datumaro
def test_datumaro_s_voc_sample_reads_as_datumaro_reads_it(tmp_path):
    project = project_of(DATA / "voc_dataset1" / "JPEGImages", tmp_path / "p")
    assert import_labels(project, "voc", DATA / "voc_dataset1", split="train").complete
    names, masks = read_with_datumaro(DATA / "voc_dataset1", "voc_segmentation", tmp_path)
    agree(project, "2007_000001.jpg", their_names(names, masks["2007_000001"], (VOID_LABEL,)), "VOC sample")


@needs_datumaro
def test_datumaro_s_coco_sample_reads_as_datumaro_reads_it(tmp_path):
    project = project_of(DATA / "coco_instances" / "images" / "val", tmp_path / "p")
    assert import_labels(project, "coco", DATA / "coco_instances", split="val").complete
    names, masks = read_with_datumaro(DATA / "coco_instances", "coco_instances", tmp_path)
    assert "a" not in masks  # the train image has a box only: datumaro reads no mask, we import none
    agree(project, "b.jpg", their_names(names, masks["b"]), "COCO sample")
    ours = names_of(project, "b.jpg")
    layers, labels = masks["b#layers"], masks["b#labels"]
    for layer, label in zip(layers, labels):  # where one annotation alone covers a pixel: its class
        alone = layer & (layers.sum(axis=0) == 1)
        assert (ours[alone] == names[label]).all()


@needs_datumaro
@pytest.mark.parametrize("tree", ["train_dataset", "dataset"])  # labelTrainIds + instanceIds; instanceIds only
def test_datumaro_s_cityscapes_samples_read_as_datumaro_reads_them(tmp_path, tree):
    source = DATA / "cityscapes_dataset" / tree
    void = ("background", "unlabeled", "egovehicle", "rectificationborder", "outofroi", "static", "dynamic",
            "ground", "parking", "railtrack", "guardrail", "bridge", "tunnel", "polegroup", "caravan", "trailer",
            "licenseplate")  # datumaro's labels that are no train class: ignore in a Cityscapes project
    images = sorted(p.relative_to(source / "leftImg8bit") for p in (source / "leftImg8bit").rglob("*.png"))
    for split in sorted({image.parts[0] for image in images}):
        project = project_of(source / "leftImg8bit" / split, tmp_path / split)
        assert import_labels(project, "cityscapes", source, split=split).complete
        names, masks = read_with_datumaro(source / "gtFine" / split, "cityscapes", tmp_path)
        for image in (i for i in images if i.parts[0] == split):
            rel = Path(*image.parts[1:]).as_posix()
            item = rel.removesuffix("_leftImg8bit.png")
            agree(project, rel, their_names(names, masks[item], void), f"Cityscapes sample {tree}")


@needs_datumaro
def test_datumaro_reads_the_background_class_of_a_voc_export_at_0(tmp_path):
    project = _project(tmp_path / "p", WITH_BACKGROUND, with_labels=True)  # background at 1, ignore pixels
    export_images(project, IMAGES, "voc", tmp_path / "voc")
    names, masks = read_with_datumaro(tmp_path / "voc", "voc_segmentation", tmp_path)
    assert names == ["background", "cat", "dog", VOID_LABEL]
    for rel in IMAGES:
        voc_id = Path(rel).with_suffix("").as_posix().replace("/", "__")
        agree(project, rel, their_names(names, masks[voc_id], (VOID_LABEL,)), "VOC export with a background class")


@needs_datumaro
@pytest.mark.parametrize("fmt,reader", [("voc", "voc_segmentation"), ("coco", "coco_instances")])
def test_datumaro_sees_a_turned_photo_s_copy_as_its_mask(tmp_path, fmt, reader):
    """datumaro decodes images with IMREAD_UNCHANGED, which ignores the EXIF tag: our copy is
    stored turned, so its pixels have the mask's (the displayed) size."""
    root = tmp_path / "p"
    root.mkdir()
    exif = PILImage.Exif()
    exif[0x0112] = 6  # turned 90 degrees: 10 x 6 stored, 6 x 10 shown
    PILImage.fromarray(np.zeros((6, 10, 3), np.uint8)).save(root / "a.jpg", exif=exif)
    project = Project.create(root, CUSTOM)
    labels = np.zeros((10, 6), np.uint8)
    labels[:5] = 1
    project.write_masks(root / "a.jpg", labels, None)
    export_images(project, ["a.jpg"], fmt, tmp_path / fmt)
    names, masks = read_with_datumaro(tmp_path / fmt, reader, tmp_path)
    assert masks["a#image"].shape[:2] == masks["a"].shape == (10, 6)
    np.testing.assert_array_equal(as_project_values(names, masks["a"]), labels)
