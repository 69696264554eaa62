"""Streaming mIoU (docs/metrics.md) against hand-computed numbers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from gcnet_core.evaluation.metrics import IoUAccumulator, MetricResult

# 3x3 example, 3 classes. The bottom-left pixel is ignored (label 255).
LABEL = np.array([[0, 0, 1],
                  [1, 2, 2],
                  [255, 1, 0]], dtype=np.uint8)
PRED = np.array([[0, 1, 1],
                 [1, 2, 0],
                 [2, 1, 0]], dtype=np.uint8)
# By hand over the 8 kept pixels, (label, pred) pairs:
#   (0,0) (0,1) (1,1) (1,1) (2,2) (2,0) (1,1) (0,0)
# intersect = [2, 3, 1]; label = [3, 3, 2]; pred = [3, 4, 1]; union = [4, 4, 2]
# IoU = [2/4, 3/4, 1/2] -> mIoU = 0.58333 -> 58.33
# Acc = [2/3, 3/3, 1/2] -> mAcc = 0.72222 -> 72.22
# aAcc = 6/8 = 75.00


def test_hand_computed_3x3():
    acc = IoUAccumulator(3)
    acc.update(PRED, LABEL)
    h = acc.histograms()
    assert h["intersect"].tolist() == [2, 3, 1]
    assert h["label"].tolist() == [3, 3, 2]
    assert h["pred"].tolist() == [3, 4, 1]
    assert h["union"].tolist() == [4, 4, 2]

    result = acc.compute(["a", "b", "c"])
    assert result.aAcc == 75.0
    assert result.mIoU == 58.33
    assert result.mAcc == 72.22
    assert result.per_class == {
        "a": {"IoU": 50.0, "Acc": 66.67},
        "b": {"IoU": 75.0, "Acc": 100.0},
        "c": {"IoU": 50.0, "Acc": 50.0},
    }


def test_torch_tensors_accepted():
    acc = IoUAccumulator(3)
    acc.update(torch.from_numpy(PRED.astype(np.int64)), torch.from_numpy(LABEL))
    assert acc.compute().mIoU == 58.33


def test_absent_classes_both_ways():
    # class 0: I=2, label 4, pred 2 -> IoU 0.5, Acc 0.5
    # class 1: in neither GT nor prediction -> IoU NaN, Acc NaN (excluded)
    # class 2: predicted, not in GT -> IoU 0 (counted), Acc NaN (excluded)
    acc = IoUAccumulator(3)
    acc.update(np.array([0, 0, 2, 2]), np.array([0, 0, 0, 0]))
    r = acc.compute(["zero", "one", "two"])
    assert r.per_class["zero"] == {"IoU": 50.0, "Acc": 50.0}
    assert math.isnan(r.per_class["one"]["IoU"]) and math.isnan(r.per_class["one"]["Acc"])
    assert r.per_class["two"]["IoU"] == 0.0 and math.isnan(r.per_class["two"]["Acc"])
    assert r.mIoU == 25.0  # mean(0.5, 0.0)
    assert r.mAcc == 50.0  # mean(0.5)
    assert r.aAcc == 50.0


def test_ignore_pixels_and_out_of_range_values():
    acc = IoUAccumulator(2)
    # ignored label pixels don't count even where the prediction is valid;
    # a prediction outside [0, nc) still leaves its label pixel in the label histogram.
    acc.update(np.array([0, 1, 1, 7]), np.array([255, 255, 1, 1]))
    h = acc.histograms()
    assert h["intersect"].tolist() == [0, 1]
    assert h["label"].tolist() == [0, 2]
    assert h["pred"].tolist() == [0, 1]
    r = acc.compute()
    assert r.aAcc == 50.0
    assert math.isnan(r.per_class["0"]["IoU"])
    assert r.mIoU == 50.0


def test_custom_ignore_index():
    acc = IoUAccumulator(2, ignore_index=9)
    acc.update(np.array([0, 1]), np.array([9, 1]))
    assert acc.histograms()["label"].tolist() == [0, 1]


def test_reduce_zero_label():
    # raw labels: 0 -> ignore, 1 -> class 0, 2 -> class 1, 255 stays ignore
    label = np.array([0, 1, 2, 255, 2], dtype=np.uint8)
    pred = np.array([1, 0, 1, 0, 0], dtype=np.uint8)
    acc = IoUAccumulator(2, reduce_zero_label=True)
    acc.update(pred, label)
    h = acc.histograms()
    assert h["label"].tolist() == [1, 2]
    assert h["intersect"].tolist() == [1, 1]
    assert h["pred"].tolist() == [2, 1]
    assert acc.compute().aAcc == round(2 / 3 * 100, 2)


def test_accumulation_equals_one_big_image():
    rng = np.random.default_rng(0)
    labels = [rng.integers(0, 6, (17, 23)) for _ in range(4)]
    preds = [rng.integers(0, 5, (17, 23)) for _ in range(4)]
    for lab in labels:
        lab[rng.random(lab.shape) < 0.1] = 255
        lab[lab == 5] = 255

    streamed = IoUAccumulator(5)
    for p, lab in zip(preds, labels):
        streamed.update(p, lab)
    big = IoUAccumulator(5)
    big.update(np.concatenate(preds), np.concatenate(labels))
    np.testing.assert_array_equal(streamed.state, big.state)
    assert streamed.compute() == big.compute()

    # the metric sums histograms first, it does not average per-image IoUs
    h = big.histograms()
    expected = np.round(np.nanmean(h["intersect"] / h["union"]) * 100, 2)
    assert big.compute().mIoU == expected


def test_merge_and_state_all_reduce():
    a, b, whole = IoUAccumulator(3), IoUAccumulator(3), IoUAccumulator(3)
    a.update(PRED[:2], LABEL[:2])
    b.update(PRED[2:], LABEL[2:])
    whole.update(PRED, LABEL)

    merged = IoUAccumulator(3)
    merged.merge(a)
    merged.merge(b)
    assert merged.compute() == whole.compute()

    reduced = IoUAccumulator(3)
    reduced.load_state(torch.from_numpy(a.state) + torch.from_numpy(b.state))
    assert reduced.compute() == whole.compute()

    with pytest.raises(ValueError):
        merged.merge(IoUAccumulator(4))


def test_memory_does_not_grow():
    acc = IoUAccumulator(3)
    size = acc.state.nbytes
    for _ in range(5):
        acc.update(PRED, LABEL)
    assert acc.state.nbytes == size
    assert acc.histograms()["intersect"].tolist() == [10, 15, 5]


def test_shape_mismatch_rejected():
    with pytest.raises(ValueError):
        IoUAccumulator(3).update(np.zeros((2, 2)), np.zeros((2, 3)))


def test_json_serialises_nan_as_null_and_table():
    acc = IoUAccumulator(3)
    acc.update(np.array([0, 0, 2, 2]), np.array([0, 0, 0, 0]))
    result = acc.compute(["road", "sky", "car"])
    data = result.to_json()
    assert set(data) == {"aAcc", "mIoU", "mAcc", "per_class"}
    assert data["per_class"]["sky"] == {"IoU": None, "Acc": None}
    assert data["per_class"]["car"] == {"IoU": 0.0, "Acc": None}
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["mIoU"] == 25.0

    table = result.format_table()
    assert "road" in table and "car" in table and "mIoU" in table
    assert "25.00" in table


def test_empty_accumulator_is_nan():
    r = IoUAccumulator(2).compute()
    assert isinstance(r, MetricResult)
    assert math.isnan(r.mIoU) and math.isnan(r.aAcc) and math.isnan(r.mAcc)
