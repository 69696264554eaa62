"""Training augmentations (docs/training.md, "Augmentations") on tiny arrays."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from gcnet_core.data.transforms import (
    TrainTransform,
    clear_padding,
    crop_is_diverse,
    pad_to,
    photometric_distortion,
    random_crop,
    random_flip,
    random_resize,
    resize_pair,
    sample_rng,
)
from gcnet_core.predict.network_input import rescale_size


def image(h: int = 20, w: int = 30, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def bands(h: int = 20, w: int = 30, values=(0, 3, 7, 255)) -> np.ndarray:
    """Vertical bands of the given class ids."""
    out = np.zeros((h, w), dtype=np.uint8)
    for value, cols in zip(values, np.array_split(np.arange(w), len(values))):
        out[:, cols] = value
    return out


# ------------------------------------------------------------------------------ resize
def test_resize_follows_keep_ratio_rule_and_keeps_label_values():
    img, lbl = image(20, 30), bands(20, 30)
    out_img, out_lbl = resize_pair(img, lbl, (64, 24))
    assert out_img.shape[:2][::-1] == rescale_size(30, 20, (64, 24)) == (36, 24)
    assert out_lbl.shape == out_img.shape[:2]
    assert out_img.dtype == np.uint8 and out_lbl.dtype == np.uint8
    assert set(np.unique(out_lbl)) <= {0, 3, 7, 255}
    assert np.array_equal(out_img, cv2.resize(img, (36, 24), interpolation=cv2.INTER_LINEAR))


def test_random_resize_ratio_in_range_and_nearest_labels():
    rng = np.random.default_rng(1)
    img, lbl = image(20, 40), bands(20, 40)
    for _ in range(20):
        out_img, out_lbl = random_resize(img, lbl, (40, 20), rng=rng)
        h, w = out_img.shape[:2]
        assert out_lbl.shape == (h, w)
        assert 10 - 1 <= h <= 40 + 1 and 20 - 1 <= w <= 80 + 1  # ratio in [0.5, 2)
        assert set(np.unique(out_lbl)) <= {0, 3, 7, 255}


def test_random_resize_uses_truncated_target_scale():
    class FixedRatio:
        def random(self):
            return 0.5  # ratio = 0.5 * 1.5 + 0.5 = 1.25

    img, lbl = image(10, 20), bands(10, 20)
    out_img, _ = random_resize(img, lbl, (33, 17), rng=FixedRatio())
    target = (int(33 * 1.25), int(17 * 1.25))  # (41, 21)
    assert out_img.shape[:2][::-1] == rescale_size(20, 10, target)


# -------------------------------------------------------------------------------- crop
def test_crop_shape_and_bounds():
    rng = np.random.default_rng(0)
    img, lbl = image(20, 30), bands(20, 30)
    for _ in range(20):
        out_img, out_lbl = random_crop(img, lbl, (8, 12), rng=rng)
        assert out_img.shape == (8, 12, 3) and out_lbl.shape == (8, 12)
    # smaller than the crop: kept whole, not enlarged
    out_img, out_lbl = random_crop(img, lbl, (25, 40), rng=rng)
    assert out_img.shape == (20, 30, 3) and np.array_equal(out_lbl, lbl)
    # one side smaller
    out_img, _ = random_crop(img, lbl, (25, 10), rng=rng)
    assert out_img.shape == (20, 10, 3)


def test_crop_is_a_window_of_the_input():
    rng = np.random.default_rng(3)
    img = np.arange(20 * 30 * 3, dtype=np.int64).reshape(20, 30, 3)
    lbl = np.arange(20 * 30).reshape(20, 30)
    out_img, out_lbl = random_crop(img, lbl, (5, 7), cat_max_ratio=1.0, rng=rng)
    y, x = divmod(int(out_lbl[0, 0]), 30)
    assert np.array_equal(out_lbl, lbl[y:y + 5, x:x + 7])
    assert np.array_equal(out_img, img[y:y + 5, x:x + 7])


def test_crop_is_diverse_rule():
    assert not crop_is_diverse(np.zeros((4, 4), np.uint8), 0.75)  # one class
    assert not crop_is_diverse(np.full((4, 4), 255, np.uint8), 0.75)  # all ignored
    lbl = np.zeros((4, 4), np.uint8)
    lbl[0, :2] = 1  # 14/16 = 87.5 % class 0
    assert not crop_is_diverse(lbl, 0.75)
    lbl[2:, :] = 255  # of the 8 valid: 6 vs 2 -> 75 %, not < 75 %
    assert not crop_is_diverse(lbl, 0.75)
    lbl[1, 0] = 1  # 5 vs 3 -> 62.5 %
    assert crop_is_diverse(lbl, 0.75)


def test_cat_max_ratio_prefers_mixed_crops():
    """95 % one class, a 2-column stripe of another: retries find crops holding both columns."""
    lbl = np.zeros((20, 40), dtype=np.uint8)
    lbl[:, 10:12] = 5  # 5 % of the pixels
    img = image(20, 40)

    def dominant_share(crop: np.ndarray) -> float:
        counts = np.bincount(crop.ravel(), minlength=256)[:255]
        return counts.max() / counts.sum()

    def shares(ratio: float) -> list[float]:
        rng = np.random.default_rng(0)
        return [dominant_share(random_crop(img, lbl, (20, 4), ratio, rng=rng)[1]) for _ in range(200)]

    assert np.mean(shares(0.75)) < np.mean(shares(1.0)) - 0.1
    assert min(shares(0.75)) == 0.5 and max(shares(1.0)) == 1.0


def test_crop_uses_last_sample_when_nothing_passes():
    """11 boxes are drawn (1 + 10 retries) and the last one is returned."""
    lbl = np.zeros((30, 30), dtype=np.uint8)
    img = image(30, 30)
    rng = np.random.default_rng(5)
    out_img, _ = random_crop(img, lbl, (6, 6), rng=rng)
    replay = np.random.default_rng(5)
    boxes = [(int(replay.integers(0, 25)), int(replay.integers(0, 25))) for _ in range(11)]
    y, x = boxes[-1]
    assert np.array_equal(out_img, img[y:y + 6, x:x + 6])


# -------------------------------------------------------------------------------- flip
def test_flip_flips_image_and_label_together():
    img, lbl = image(), bands()
    flips = 0
    rng = np.random.default_rng(0)
    for _ in range(40):
        out_img, out_lbl = random_flip(img, lbl, rng=rng)
        flipped = np.array_equal(out_img, img[:, ::-1])
        assert flipped or np.array_equal(out_img, img)
        assert np.array_equal(out_lbl, lbl[:, ::-1] if flipped else lbl)
        flips += flipped
    assert 5 < flips < 35
    assert np.array_equal(random_flip(img, lbl, prob=1.0, rng=rng)[1], lbl[:, ::-1])
    assert random_flip(img, lbl, prob=0.0, rng=rng)[0] is img


# ------------------------------------------------------------------------- photometric
def test_photometric_keeps_dtype_shape_and_changes_pixels():
    img = image(12, 16)
    rng = np.random.default_rng(0)
    changed = 0
    for _ in range(10):
        out = photometric_distortion(img, rng=rng)
        assert out.dtype == np.uint8 and out.shape == img.shape
        changed += not np.array_equal(out, img)
    assert changed >= 8  # all four steps skipped has probability 1/16
    assert np.array_equal(img, image(12, 16))  # input untouched


class Draws:
    """A generator stand-in that replays fixed draws, to pin each step's effect."""

    def __init__(self, integers, uniforms):
        self._ints, self._floats = list(integers), list(uniforms)

    def integers(self, *args):
        return self._ints.pop(0)

    def uniform(self, *args):
        return self._floats.pop(0)


def test_photometric_brightness_and_contrast_are_float32_scale_shift_truncated():
    img = image(6, 8)
    # brightness on (+10.7), mode 0 (contrast last), saturation off, hue off, contrast on (x1.3)
    out = photometric_distortion(img, rng=Draws([1, 0, 0, 0, 1], [10.7, 1.3]))
    step = np.clip(img.astype(np.float32) + np.float32(10.7), 0, 255).astype(np.uint8)
    expected = np.clip(step.astype(np.float32) * np.float32(1.3), 0, 255).astype(np.uint8)
    assert np.array_equal(out, expected)


def test_photometric_hsv_steps_match_the_bgr_computation():
    """Saturation then hue done on RGB equal mmseg's BGR ops on the BGR copy, read back as RGB."""
    img = image(10, 12, seed=4)
    out = photometric_distortion(img, rng=Draws([0, 0, 1, 1, -7, 0], [0.6]))
    bgr = img[:, :, ::-1].copy()
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    hsv[:, :, 1] = np.clip(hsv[:, :, 1].astype(np.float32) * np.float32(0.6), 0, 255).astype(np.uint8)
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    hsv = cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)
    hsv[:, :, 0] = (hsv[:, :, 0].astype(int) - 7) % 180
    bgr = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    assert np.array_equal(out, bgr[:, :, ::-1])
    assert not np.array_equal(out, img)


# --------------------------------------------------------------------------------- pad
def test_pad_to_crop_size():
    img, lbl = image(5, 7), bands(5, 7, (1, 2))
    out_img, out_lbl = pad_to(img, lbl, (8, 10))
    assert out_img.shape == (8, 10, 3) and out_lbl.shape == (8, 10)
    assert np.array_equal(out_img[:5, :7], img) and np.array_equal(out_lbl[:5, :7], lbl)
    assert (out_img[5:] == 0).all() and (out_img[:, 7:] == 0).all()
    assert (out_lbl[5:] == 255).all() and (out_lbl[:, 7:] == 255).all()
    same_img, same_lbl = pad_to(img, lbl, (5, 7))
    assert same_img is img and same_lbl is lbl


def test_clear_padding_on_normalised_tensor():
    x = torch.ones(3, 6, 8)
    clear_padding(x, (4, 5))
    assert x[:, :4, :5].eq(1).all() and x[:, 4:].eq(0).all() and x[:, :, 5:].eq(0).all()


# ---------------------------------------------------------------------------- pipeline
def test_train_transform_output_is_exactly_crop_size():
    transform = TrainTransform((60, 30), (16, 24), seed=0)
    img, lbl = image(20, 40), bands(20, 40)
    for _ in range(10):
        sample = transform.sample(img, lbl)
        assert sample.image.shape == (16, 24, 3) and sample.label.shape == (16, 24)
        assert sample.image.dtype == np.uint8 and sample.label.dtype == np.uint8
        assert set(np.unique(sample.label)) <= {0, 3, 7, 255}
        h, w = sample.valid_hw
        assert (sample.label[h:] == 255).all() and (sample.label[:, w:] == 255).all()
    out_img, out_lbl = transform(img, lbl)
    assert out_img.shape == (16, 24, 3) and out_lbl.shape == (16, 24)


def test_train_transform_small_image_is_padded_and_valid_hw_reported():
    transform = TrainTransform((20, 10), (32, 32), seed=0)  # resized image is at most 40x20
    sample = transform.sample(image(10, 20), bands(10, 20))
    h, w = sample.valid_hw
    assert h < 32 and (sample.label[h:] == 255).all() and (sample.image[h:] == 0).all()
    raw = TrainTransform((20, 10), (32, 32), seed=0, image_pad="raw").sample(image(10, 20), bands(10, 20))
    assert raw.valid_hw == (32, 32) and np.array_equal(raw.image, sample.image)


def test_train_transform_is_deterministic_for_a_seed():
    img, lbl = image(20, 40), bands(20, 40)
    first = [TrainTransform((60, 30), (16, 24), seed=7)(img, lbl) for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(first[0], first[1]))
    a = TrainTransform((60, 30), (16, 24), seed=7)
    b = TrainTransform((60, 30), (16, 24), seed=7)
    for _ in range(5):
        (ia, la), (ib, lb) = a(img, lbl), b(img, lbl)
        assert np.array_equal(ia, ib) and np.array_equal(la, lb)
    other = TrainTransform((60, 30), (16, 24), seed=8)
    fresh = TrainTransform((60, 30), (16, 24), seed=7)
    outs7 = [fresh(img, lbl)[0] for _ in range(3)]
    outs8 = [other(img, lbl)[0] for _ in range(3)]
    assert any(not np.array_equal(x, y) for x, y in zip(outs7, outs8))
    # per-sample generators: the same (seed, index) gives the same crop in any process
    t = TrainTransform((60, 30), (16, 24))
    assert np.array_equal(t(img, lbl, sample_rng(3, 0, 5))[0], t(img, lbl, sample_rng(3, 0, 5))[0])


def test_train_transform_refuses_an_unknown_image_pad():
    with pytest.raises(ValueError, match="image_pad"):
        TrainTransform((60, 30), (16, 24), image_pad="mean")


# ----------------------------------------------------- against mmsegmentation (opt-in)
HAVE_MMSEG = importlib.util.find_spec("mmseg") is not None


class LegacyAdapter:
    """Our draws served by NumPy's legacy global generator, which mmseg's transforms use."""

    def integers(self, low, high=None):
        return np.random.randint(low, high) if high is not None else np.random.randint(low)

    def uniform(self, low, high):
        return np.random.uniform(low, high)

    def random(self):
        return np.random.random_sample()


@pytest.mark.reference
@pytest.mark.skipif(not HAVE_MMSEG, reason="mmsegmentation is not installed (runs in .refvenv)")
def test_against_mmseg_resize_crop_photometric():
    sys.path.insert(0, str(Path(__file__).resolve().parent / "reference"))
    import mmseg_reference as R

    R.install_mmcv_ops_stub()
    from mmseg.datasets.transforms import PhotoMetricDistortion, RandomCrop

    distort = PhotoMetricDistortion()
    for seed in range(40):
        img = image(9, 11, seed=seed)
        np.random.seed(seed)
        ref = distort.transform({"img": img[:, :, ::-1].copy()})["img"][:, :, ::-1]
        np.random.seed(seed)
        ours = photometric_distortion(img, rng=LegacyAdapter())
        assert np.array_equal(ours, ref), seed

    lbl = np.zeros((30, 30), dtype=np.uint8)
    lbl[:6, :6] = 4
    crop = RandomCrop((10, 10), cat_max_ratio=0.75)
    for seed in range(20):
        np.random.seed(seed)
        ref = crop.transform({"img": image(30, 30), "gt_seg_map": lbl.copy(), "seg_fields": ["gt_seg_map"]})
        np.random.seed(seed)
        ours = random_crop(image(30, 30), lbl, (10, 10), 0.75, rng=LegacyAdapter())
        assert np.array_equal(ours[1], ref["gt_seg_map"]) and np.array_equal(ours[0], ref["img"])

    from mmcv.transforms import RandomResize

    resize = RandomResize(scale=(60, 30), ratio_range=(0.5, 2.0), keep_ratio=True)
    for seed in range(10):
        img, lbl = image(17, 23, seed=seed), bands(17, 23)
        np.random.seed(seed)
        ref = resize.transform({"img": img.copy(), "gt_seg_map": lbl.copy()})
        np.random.seed(seed)
        ours = random_resize(img, lbl, (60, 30), rng=LegacyAdapter())
        assert np.array_equal(ours[0], ref["img"]) and np.array_equal(ours[1], ref["gt_seg_map"])
