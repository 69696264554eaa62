"""The effort benchmark's simulated annotator (benchmarks/annotation_effort.py) on a model
output with known mistakes: it must finish every way, and count what each tool costs."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("pytestqt")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import annotation_effort as effort  # noqa: E402

from gcnet_core.predict.rankings import ClassRankings  # noqa: E402


def mistaken_prediction(gt: np.ndarray):
    """The ground truth with each object drawn 3 pixels too big, as a model at output stride 8
    does; rankings: the model's label first, the true class second."""
    labels = gt.copy()
    for cls in range(1, len(effort.CLASSES)):
        grown = cv2.dilate((gt == cls).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        labels[grown & (labels == 0)] = cls
    second = np.where(labels != gt, gt, np.where(labels == 0, 1, 0)).astype(np.uint8)
    classes = np.stack([labels, second])
    probabilities = np.stack([np.full(gt.shape, 150, np.uint8), np.full(gt.shape, 100, np.uint8)])
    return labels, np.full(gt.shape, 0.6, np.float32), ClassRankings(classes, probabilities, gt.shape)


def test_every_way_reaches_the_target_and_the_model_aware_tools_need_fewer_actions():
    rgb, gt = effort.synthetic_pair(3)
    prediction = mistaken_prediction(gt)
    assert np.mean(prediction[0] == gt) < effort.TARGET
    done = {way: effort.annotate(rgb, gt, prediction, way, effort.CLASSES) for way in effort.WAYS}
    for way, result in done.items():
        assert result.accuracy >= effort.TARGET, way
        assert result.total == sum(result.actions.values()) > 0
    assert done["model"].total < min(done["manual"].total, done["polygons"].total) / 2
    assert any(name.startswith("snap") for name in done["model"].corrections)  # the snap tool did the work
    assert not any(name.startswith("snap") for name in done["manual"].corrections)


def test_a_labelled_folder_is_read_with_its_ignore_pixels(tmp_path):
    images, masks = tmp_path / "JPEGImages", tmp_path / "SegmentationClass"
    images.mkdir()
    masks.mkdir()
    rgb, gt = effort.synthetic_pair(4, size=320)
    gt[:3] = 255  # VOC's "void"
    cv2.imwrite(str(images / "a.jpg"), rgb[:, :, ::-1])
    cv2.imwrite(str(masks / "a.png"), gt)
    cv2.imwrite(str(images / "no_mask.jpg"), rgb[:, :, ::-1])
    pairs = effort.labelled_folder(images, masks, size=160)
    assert len(pairs) == 1 and pairs[0][0].shape == (160, 160, 3) and pairs[0][1].shape == (160, 160)
    assert 255 in pairs[0][1] and set(np.unique(pairs[0][1])) <= set(range(5)) | {255}
    assert effort.folder_classes(pairs).names == tuple(f"class {i}" for i in range(int(gt[gt != 255].max()) + 1))
