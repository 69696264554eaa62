"""Dataset readers on tiny folder layouts built in tmp_path."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gcnet_core.model.classes import ClassSet
from gcnet_core.data import (
    SegDataset,
    ade20k_samples,
    cityscapes_samples,
    iter_valid,
    load_label,
    load_sample_safe,
    project_samples,
    voc_samples,
)
from gcnet_core.project.store import Project

H, W = 32, 48


def write_image(path: Path, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)


def write_label(path: Path, values: np.ndarray, palette: bool = True) -> None:
    """Indexed (palette) PNG by default, like VOC/project labels; else 8-bit grayscale."""
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(values.astype(np.uint8), mode="L")
    if palette:
        im = im.convert("P")
        im.putpalette([v for i in range(256) for v in ((i * 7) % 256, (i * 13) % 256, i)])
        im.putdata(values.astype(np.uint8).ravel().tolist())  # keep indices unchanged
    im.save(path, format="PNG")  # project masks are PNGs named *.mask


def label_of(*values: int) -> np.ndarray:
    """An H x W label made of vertical bands of the given values."""
    bands = np.array_split(np.arange(W), len(values))
    out = np.zeros((H, W), dtype=np.uint8)
    for value, cols in zip(values, bands):
        out[:, cols] = value
    return out


# ----------------------------------------------------------------------------- cityscapes
def make_cityscapes(root: Path) -> None:
    for i, (city, frame) in enumerate([("aachen", "000000_000019"), ("aachen", "000001_000019"),
                                       ("bremen", "000002_000019")]):
        base = f"{city}_{frame}"
        write_image(root / "leftImg8bit/val" / city / f"{base}_leftImg8bit.png", seed=i)
        gt = root / "gtFine/val" / city
        if city == "bremen":  # only raw labelIds: must be mapped on load
            write_label(gt / f"{base}_gtFine_labelIds.png", label_of(7, 26, 0, 33), palette=False)
        else:
            write_label(gt / f"{base}_gtFine_labelTrainIds.png", label_of(0, 13, 255), palette=False)
            write_label(gt / f"{base}_gtFine_labelIds.png", label_of(1), palette=False)


def test_cityscapes_pairing_and_labelids_mapping(tmp_path):
    make_cityscapes(tmp_path)
    # an image without any label is left out
    write_image(tmp_path / "leftImg8bit/val/bremen/bremen_000009_000019_leftImg8bit.png")
    samples = cityscapes_samples(tmp_path, "val")
    assert [s.name for s in samples] == ["aachen_000000_000019", "aachen_000001_000019",
                                         "bremen_000002_000019"]
    assert samples[0].label.name == "aachen_000000_000019_gtFine_labelTrainIds.png"
    assert not samples[0].label_ids
    assert samples[2].label.name == "bremen_000002_000019_gtFine_labelIds.png"
    assert samples[2].label_ids

    assert np.unique(load_label(samples[0])).tolist() == [0, 13, 255]
    mapped = load_label(samples[2])
    # labelId 7 (road) -> 0, 26 (car) -> 13, 0 (unlabeled) -> 255, 33 (bicycle) -> 18
    assert mapped[0, 0] == 0 and mapped[0, 20] == 13 and mapped[0, 30] == 255 and mapped[0, -1] == 18

    ds = SegDataset("cityscapes", tmp_path, "val")
    assert len(ds) == 3 and len(ds.classes) == 19
    image, label, name = ds[2]
    assert image.shape == (H, W, 3) and image.dtype == np.uint8
    assert label.dtype == np.uint8 and label.shape == (H, W)
    assert name == "bremen_000002_000019"
    assert set(np.unique(label).tolist()) == {0, 13, 18, 255}


def test_cityscapes_missing_split_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        cityscapes_samples(tmp_path, "train")


# ----------------------------------------------------------------------------- ADE20K
def make_ade(root: Path) -> None:
    for i, split, prefix in [(1, "validation", "val"), (2, "validation", "val"), (1, "training", "train")]:
        stem = f"ADE_{prefix}_{i:08d}"
        write_image(root / "images" / split / f"{stem}.jpg", seed=i)
        write_label(root / "annotations" / split / f"{stem}.png", label_of(0, 1, 150, 255), palette=False)


def test_ade20k_pairing_and_reduce_zero_label(tmp_path):
    make_ade(tmp_path)
    samples = ade20k_samples(tmp_path, "val")
    assert [s.name for s in samples] == ["ADE_val_00000001", "ADE_val_00000002"]
    assert samples == ade20k_samples(tmp_path, "validation")
    assert [s.name for s in ade20k_samples(tmp_path, "train")] == ["ADE_train_00000001"]
    with pytest.raises(ValueError):
        ade20k_samples(tmp_path, "test")

    raw = load_label(samples[0])
    assert np.unique(raw).tolist() == [0, 1, 150, 255]
    ds = SegDataset("ade20k", tmp_path, "validation")
    assert ds.reduce_zero_label and len(ds.classes) == 150
    _, label, _ = ds[0]
    # 0 -> 255 (ignore), 1 -> 0, 150 -> 149, 255 stays 255
    expected = label_of(255, 0, 149, 255)
    np.testing.assert_array_equal(label, expected)


# ----------------------------------------------------------------------------- VOC
def make_voc(devkit: Path) -> Path:
    root = devkit / "VOC2012"
    for i, image_id in enumerate(["2007_000032", "2007_000033", "2008_000001"]):
        write_image(root / "JPEGImages" / f"{image_id}.jpg", seed=i)
    write_label(root / "SegmentationClass/2007_000032.png", label_of(0, 1, 255))
    write_label(root / "SegmentationClass/2007_000033.png", label_of(0, 15))
    # 2008_000001 has only an SBD label
    write_label(root / "SegmentationClassAug/2008_000001.png", label_of(0, 12), palette=False)
    write_label(root / "SegmentationClassAug/2007_000032.png", label_of(3), palette=False)
    sets = root / "ImageSets/Segmentation"
    sets.mkdir(parents=True)
    (sets / "val.txt").write_text("2007_000032\n2007_000033\n2008_000001\n")
    (sets / "trainaug.txt").write_text("2007_000032\n2008_000001\n")
    return root


def test_voc_pairing_palette_indices_and_aug_fallback(tmp_path):
    root = make_voc(tmp_path / "VOCdevkit")
    val = voc_samples(root, "val")
    # no SegmentationClass label for 2008_000001 and val does not fall back to Aug
    assert [s.name for s in val] == ["2007_000032", "2007_000033"]
    # palette PNGs give indices, not colours
    np.testing.assert_array_equal(load_label(val[0]), label_of(0, 1, 255))

    aug = voc_samples(tmp_path / "VOCdevkit", "trainaug")  # a VOCdevkit root works too
    assert [s.name for s in aug] == ["2007_000032", "2008_000001"]
    assert aug[0].label.parent.name == "SegmentationClass"  # the official one wins
    assert aug[1].label.parent.name == "SegmentationClassAug"

    ds = SegDataset("voc", root, "trainaug")
    assert len(ds.classes) == 21
    _, label, name = ds[1]
    assert name == "2008_000001"
    np.testing.assert_array_equal(label, label_of(0, 12))

    with pytest.raises(FileNotFoundError):
        voc_samples(root, "nope")


# ----------------------------------------------------------------------------- project
def test_project_reader_with_states(tmp_path):
    classes = ClassSet(("bg", "thing"), ((0, 0, 0), (255, 0, 0)))
    names = ["a.jpg", "nested/b.png", "nested/c.jpg", "d.jpg"]
    for i, rel in enumerate(names):
        write_image(tmp_path / rel, seed=i)
    project = Project.create(tmp_path, classes)
    project.set_state("a.jpg", "corrected")
    project.set_state("nested/b.png", "exported")
    project.set_state("nested/c.jpg", "predicted")
    project.set_state("d.jpg", "corrected")  # but no label file yet: left out
    project.save()
    for rel in names[:3]:
        write_label(project.label_path(rel), label_of(0, 1, 255))

    assert [s.name for s in project_samples(tmp_path, ("corrected",))] == ["a.jpg"]
    both = project_samples(tmp_path)  # by default the images a person marked done
    assert [s.name for s in both] == ["a.jpg", "nested/b.png"]
    assert both[1].label == tmp_path.resolve() / ".gcnet/labels/nested/b.mask"

    ds = SegDataset("project", tmp_path, "corrected,exported")
    assert len(ds) == 2 and ds.classes == classes
    _, label, name = ds[1]
    assert name == "nested/b.png"
    np.testing.assert_array_equal(label, label_of(0, 1, 255))
    assert len(SegDataset("project", tmp_path, None)) == 2  # done: corrected and exported


# ----------------------------------------------------------------------------- corrupt files
def test_corrupt_image_and_mask_are_skipped_with_warning(tmp_path, caplog):
    root = make_voc(tmp_path)
    bad_image = root / "JPEGImages/2007_000033.jpg"
    bad_image.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    ds = SegDataset("voc", root, "trainaug")
    bad_mask = root / "SegmentationClassAug/2008_000001.png"
    bad_mask.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    ds_val = SegDataset("voc", root, "val")

    with caplog.at_level(logging.WARNING, logger="gcnet_core.data"):
        assert [name for _, _, name in iter_valid(ds_val)] == ["2007_000032"]
        assert [name for _, _, name in iter_valid(ds)] == ["2007_000032"]
    messages = [r.getMessage() for r in caplog.records if r.name == "gcnet_core.data"]
    assert any(str(bad_image) in m for m in messages)
    assert any(str(bad_mask) in m for m in messages)

    assert load_sample_safe(ds_val, 1) is None
    assert load_sample_safe(ds_val, 0)[2] == "2007_000032"


def test_label_size_mismatch_is_reported(tmp_path, caplog):
    root = make_voc(tmp_path)
    small = root / "SegmentationClass/2007_000033.png"
    write_label(small, np.zeros((5, 5), dtype=np.uint8))
    ds = SegDataset("voc", root, "val")
    with caplog.at_level(logging.WARNING, logger="gcnet_core.data"):
        assert load_sample_safe(ds, 1) is None
    assert str(small) in caplog.text


def test_unknown_kind():
    with pytest.raises(ValueError):
        SegDataset("coco", ".", "val")
