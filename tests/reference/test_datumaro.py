"""Our exports loaded by datumaro's own importers (``Dataset.import_from``), each mask equal to
what the project holds. datumaro lives in its own venv (``.refvenv-datumaro``, datumaro==1.13.12)
and runs in a subprocess (``datumaro_read.py``); the tests are skipped without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_formats_roundtrip import CITYSCAPES, CUSTOM, IMAGES, _labels, _project  # noqa: E402

from gcnet_core.formats.export import export_images  # noqa: E402
from gcnet_core.formats.voc import VOID_LABEL  # noqa: E402

pytestmark = pytest.mark.reference

REPO = Path(__file__).resolve().parents[2]
DATUMARO = REPO / ".refvenv-datumaro" / "bin" / "python"
needs_datumaro = pytest.mark.skipif(not DATUMARO.is_file(), reason="datumaro's venv (.refvenv-datumaro) is absent")


def read_with_datumaro(dataset: Path, fmt: str, tmp_path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    """(label names, item id -> class mask with 255 where no mask covers a pixel) as datumaro reads them."""
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
    assert len(masks) == len(IMAGES)
    for i, rel in enumerate(IMAGES):
        voc_id = Path(rel).with_suffix("").as_posix().replace("/", "__")
        np.testing.assert_array_equal(as_project_values(names, masks[voc_id]), _labels(i, CUSTOM))


@needs_datumaro
def test_datumaro_loads_the_coco_export_with_equal_masks(tmp_path):
    project = _project(tmp_path / "p", CUSTOM, with_labels=True)
    export_images(project, IMAGES, "coco", tmp_path / "coco")  # annotations/instances_train.json, images/train/
    names, masks = read_with_datumaro(tmp_path / "coco", "coco_instances", tmp_path)
    assert names == list(CUSTOM.names)
    assert len(masks) == len(IMAGES)
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
    assert len(masks) == len(IMAGES)
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
