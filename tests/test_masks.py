"""gcnet_core.files.masks: index PNGs, colouring, overlays, Cityscapes labelIds and atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from gcnet_core.files import masks
from gcnet_core.model.classes import DATASET_CLASSES, IGNORE_INDEX, ClassSet
from gcnet_core.files.images import ImageReadError, read_image_rgb
from gcnet_core.files.atomic import atomic_write_bytes, atomic_write_text
from gcnet_core.files.masks import (
    MASK_FORMATS,
    MaskReadError,
    colorize,
    overlay,
    read_index_mask,
    write_index_mask,
    write_mask,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "images"

CITY = DATASET_CLASSES["cityscapes"]
VOC = DATASET_CLASSES["voc"]
ADE = DATASET_CLASSES["ade20k"]


@pytest.fixture
def labels():
    rng = np.random.default_rng(7)
    lab = rng.integers(0, len(CITY), (23, 31), dtype=np.uint8)
    lab[0, :3] = (0, 18, IGNORE_INDEX)
    lab[5:9, 5:12] = IGNORE_INDEX
    return lab


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith("."))


# --------------------------------------------------------------------------- atomic writes


def test_atomic_write_creates_parents_and_replaces(tmp_path):
    p = tmp_path / "a" / "b" / "out.bin"
    atomic_write_bytes(p, b"first")
    assert p.read_bytes() == b"first"
    atomic_write_bytes(p, b"second, longer")
    assert p.read_bytes() == b"second, longer"
    atomic_write_text(p.with_suffix(".txt"), "héllo\nwörld\n")
    assert p.with_suffix(".txt").read_bytes() == "héllo\nwörld\n".encode()
    assert leftovers(p.parent) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_write_uses_normal_permissions(tmp_path):
    p = tmp_path / "perm.bin"
    atomic_write_bytes(p, b"x")
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")  # what open() gives
    mode = stat.S_IMODE(p.stat().st_mode)
    assert mode == stat.S_IMODE(plain.stat().st_mode) and mode != 0o600  # not mkstemp's 0o600


def test_failed_replace_keeps_previous_file_and_cleans_up(tmp_path, monkeypatch, labels):
    p = tmp_path / "mask.png"
    write_index_mask(p, labels, CITY)
    before = p.read_bytes()

    def boom(src, dst):
        assert Path(src).exists() and Path(src).parent == p.parent  # temp file in the same folder
        raise OSError("disk on fire")

    monkeypatch.setattr(masks.os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        write_index_mask(p, np.zeros_like(labels), CITY)
    assert p.read_bytes() == before
    assert leftovers(tmp_path) == []
    assert sorted(x.name for x in tmp_path.iterdir()) == ["mask.png"]


def test_failed_write_midway_cleans_up(tmp_path, monkeypatch):
    p = tmp_path / "out.txt"
    atomic_write_text(p, "old")

    def boom(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(masks.os, "fsync", boom)
    with pytest.raises(OSError, match="fsync failed"):
        atomic_write_text(p, "new content")
    assert p.read_text() == "old"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.txt"]


def test_failed_write_of_new_file_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(masks.os, "replace", lambda s, d: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(tmp_path / "new.bin", b"data")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- index masks


def test_index_mask_round_trip_and_palette(tmp_path, labels):
    p = tmp_path / "m.png"
    write_index_mask(p, labels, CITY)
    with Image.open(p) as im:
        assert im.format == "PNG"
        assert im.mode == "P"
        assert im.size == (31, 23)
        assert im.getpalette() == CITY.palette_array().flatten().tolist()
        np.testing.assert_array_equal(np.asarray(im), labels)
    back = read_index_mask(p)
    assert back.dtype == np.uint8 and back.shape == labels.shape
    np.testing.assert_array_equal(back, labels)
    assert back[0, 2] == IGNORE_INDEX
    # palette viewable: ignore is white, class 0 is its colour
    rgb = np.asarray(Image.open(p).convert("RGB"))
    assert tuple(rgb[0, 2]) == (255, 255, 255)
    assert tuple(rgb[0, 0]) == CITY.palette[0]


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16, np.int8])
def test_index_mask_accepts_integer_dtypes(tmp_path, dtype):
    lab = np.array([[0, 1, 2], [20, 100, 127 if dtype == np.int8 else 255]], dtype=dtype)
    p = tmp_path / "m.png"
    write_index_mask(p, lab, VOC)
    np.testing.assert_array_equal(read_index_mask(p), lab.astype(np.uint8))


def test_index_mask_all_150_ade_classes(tmp_path):
    lab = np.arange(150, dtype=np.int64).reshape(10, 15)
    p = tmp_path / "ade.png"
    write_index_mask(p, lab, ADE)
    np.testing.assert_array_equal(read_index_mask(p), lab)
    assert Image.open(p).getpalette()[: 150 * 3] == np.asarray(ADE.palette, np.uint8).flatten().tolist()


@pytest.mark.parametrize(
    "bad",
    [
        np.array([[0, 256]], dtype=np.int32),
        np.array([[-1, 0]], dtype=np.int32),
        np.zeros((2, 2), dtype=np.float32),
        np.zeros((2, 2), dtype=bool),
        np.zeros((2, 2, 3), dtype=np.uint8),
    ],
)
def test_index_mask_rejects_bad_labels(tmp_path, bad):
    p = tmp_path / "m.png"
    with pytest.raises(ValueError):
        write_index_mask(p, bad, VOC)
    assert not p.exists()
    assert list(tmp_path.iterdir()) == []


def test_read_plain_gray_mask(tmp_path, labels):
    p = tmp_path / "gray.png"
    Image.fromarray(labels).save(p)  # mode "L"
    assert Image.open(p).mode == "L"
    np.testing.assert_array_equal(read_index_mask(p), labels)


def test_read_gray16_mask_with_small_values(tmp_path, labels):
    p = tmp_path / "gray16.png"
    assert cv2.imwrite(str(p), labels.astype(np.uint16))
    np.testing.assert_array_equal(read_index_mask(p), labels)
    big = labels.astype(np.uint16)
    big[0, 0] = 1000
    assert cv2.imwrite(str(p), big)
    with pytest.raises(MaskReadError, match="above 255"):
        read_index_mask(p)


def test_read_index_mask_rejects_colour_images(tmp_path, labels):
    p = tmp_path / "colour_mask.png"
    Image.fromarray(colorize(labels, CITY)).save(p)
    with pytest.raises(MaskReadError) as info:
        read_index_mask(p)
    msg = str(info.value)
    assert "colour_mask.png" in msg
    assert "colour" in msg and "not an index mask" in msg
    assert isinstance(info.value, ImageReadError)


def test_read_index_mask_errors_name_the_file(tmp_path):
    with pytest.raises(ImageReadError, match="missing.png"):
        read_index_mask(tmp_path / "missing.png")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty.png.*empty"):
        read_index_mask(empty)
    junk = tmp_path / "junk.png"
    junk.write_bytes(os.urandom(300))
    with pytest.raises(ImageReadError, match="junk.png"):
        read_index_mask(junk)


def test_index_mask_non_ascii_path(tmp_path, labels):
    p = tmp_path / "Masken ü" / "標籤.png"
    write_index_mask(p, labels, CITY)
    np.testing.assert_array_equal(read_index_mask(p), labels)


# --------------------------------------------------------------------------- colorize / overlay


def test_colorize(labels):
    rgb = colorize(labels, CITY)
    assert rgb.shape == labels.shape + (3,) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 0]) == CITY.palette[0]
    assert tuple(rgb[0, 1]) == CITY.palette[18]
    assert tuple(rgb[0, 2]) == (255, 255, 255)
    np.testing.assert_array_equal(rgb, CITY.palette_array()[labels])
    np.testing.assert_array_equal(colorize(labels.astype(np.int64), CITY), rgb)


def test_overlay(labels):
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, labels.shape + (3,), dtype=np.uint8)
    out = overlay(img, labels, CITY, alpha=0.5)
    assert out.shape == img.shape and out.dtype == np.uint8
    ignore = labels == IGNORE_INDEX
    np.testing.assert_array_equal(out[ignore], img[ignore])
    colour = CITY.palette_array()[labels].astype(np.float64)
    expected = np.rint(img * 0.5 + colour * 0.5)
    assert np.abs(out[~ignore].astype(np.float64) - expected[~ignore]).max() <= 1
    np.testing.assert_array_equal(overlay(img, labels, CITY, alpha=0.0), img)
    full = overlay(img, labels, CITY, alpha=1.0)
    np.testing.assert_array_equal(full[~ignore], CITY.palette_array()[labels][~ignore])
    np.testing.assert_array_equal(full[ignore], img[ignore])


def test_overlay_validates(labels):
    img = np.zeros(labels.shape + (3,), np.uint8)
    with pytest.raises(ValueError):
        overlay(img[:-1], labels, CITY)
    with pytest.raises(ValueError):
        overlay(img, labels, CITY, alpha=1.5)
    with pytest.raises(ValueError):
        overlay(img.astype(np.float32), labels, CITY)


# --------------------------------------------------------------------------- write_mask


@pytest.mark.parametrize("fmt", MASK_FORMATS)
def test_every_listed_format_writes_a_png_of_the_labels_size(tmp_path, labels, fmt):
    """What write_mask advertises it writes (each format's content: the tests below)."""
    p = tmp_path / f"{fmt}.png"
    write_mask(p, labels, CITY, fmt, image_rgb=np.zeros(labels.shape + (3,), np.uint8))
    with Image.open(p) as im:
        assert im.format == "PNG" and im.size == (labels.shape[1], labels.shape[0])


def test_write_mask_index(tmp_path, labels):
    p = tmp_path / "index.png"
    write_mask(p, labels, CITY, "index")
    np.testing.assert_array_equal(read_index_mask(p), labels)
    assert Image.open(p).getpalette() == CITY.palette_array().flatten().tolist()


def test_write_mask_color(tmp_path, labels):
    p = tmp_path / "color.png"
    write_mask(p, labels, CITY, "color")
    with Image.open(p) as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), colorize(labels, CITY))
    np.testing.assert_array_equal(read_image_rgb(p), colorize(labels, CITY))


def test_write_mask_overlay(tmp_path, labels):
    img = np.random.default_rng(5).integers(0, 256, labels.shape + (3,), dtype=np.uint8)
    p = tmp_path / "overlay.png"
    write_mask(p, labels, CITY, "overlay", image_rgb=img)
    with Image.open(p) as im:
        assert im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), overlay(img, labels, CITY))
    with pytest.raises(ValueError, match="image"):
        write_mask(tmp_path / "no_image.png", labels, CITY, "overlay")
    assert not (tmp_path / "no_image.png").exists()


def test_write_mask_cityscapes_labelids(tmp_path, labels):
    p = tmp_path / "x_labelIds.png"
    write_mask(p, labels, CITY, "cityscapes-labelids")
    with Image.open(p) as im:
        assert im.mode == "L"
        ids = np.asarray(im)
    assert ids[0, 0] == 7  # road
    assert ids[0, 1] == 33  # bicycle
    assert ids[0, 2] == 0  # ignore -> unlabeled
    train_to_label = np.array([7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33])
    valid = labels != IGNORE_INDEX
    np.testing.assert_array_equal(ids[valid], train_to_label[labels[valid]])
    assert (ids[~valid] == 0).all()


def test_write_mask_cityscapes_labelids_needs_cityscapes_classes(tmp_path, labels):
    with pytest.raises(ValueError, match="Cityscapes"):
        write_mask(tmp_path / "v.png", labels, VOC, "cityscapes-labelids")


def test_write_mask_unknown_format(tmp_path, labels):
    with pytest.raises(ValueError, match="unknown mask format"):
        write_mask(tmp_path / "x.png", labels, CITY, "jpeg")
    assert list(tmp_path.iterdir()) == []


def test_custom_class_set(tmp_path):
    cs = ClassSet(("bg", "cat"), ((1, 2, 3), (250, 0, 5)))
    lab = np.array([[0, 1], [255, 1]], np.uint8)
    p = tmp_path / "c.png"
    write_mask(p, lab, cs, "index")
    assert Image.open(p).getpalette()[:6] == [1, 2, 3, 250, 0, 5]
    np.testing.assert_array_equal(read_index_mask(p), lab)


@pytest.mark.skipif(not DATA.is_dir(), reason="shared sample images are not available")
def test_overlay_on_real_photo(tmp_path):
    img = read_image_rgb(DATA / "astronaut.png")
    lab = np.full(img.shape[:2], IGNORE_INDEX, np.uint8)
    lab[100:200, 100:300] = 15  # person
    p = tmp_path / "astronaut_overlay.png"
    write_mask(p, lab, VOC, "overlay", image_rgb=img)
    out = read_image_rgb(p)
    np.testing.assert_array_equal(out[:100], img[:100])
    assert not np.array_equal(out[100:200, 100:300], img[100:200, 100:300])
