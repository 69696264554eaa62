"""Prediction sidecars: class rankings from the network, kept on disk, batch runs write them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gcnet_core.cli.main import main
from gcnet_core.predict.running import inference
from gcnet_core.predict.preview import preview_inference
from gcnet_core.predict.rankings import ClassRankings, grid_size, rankings_from_logits
from gcnet_core.project.predictions import (PredictionFileError, StoredPrediction, load_prediction,
                                            save_prediction)
from gcnet_core.project.store import Project

from helpers import SHARED_IMAGES, WHOLE_ADE, register_entry, small_entry


def test_rankings_order_classes_by_probability_on_a_coarse_grid():
    logits = torch.full((1, 6, 40, 80), -5.0)
    logits[0, 2, :, :40] = 3.0  # left half: class 2 first, class 4 second
    logits[0, 4, :, :40] = 2.0
    logits[0, 1, :, 40:] = 4.0  # right half: class 1
    rankings = rankings_from_logits(logits, (400, 800), k=3, long_side=20)
    assert rankings.grid_size == (10, 20) == grid_size(400, 800, 20)
    assert rankings.classes[:2, 5, 3].tolist() == [2, 4] and rankings.classes[0, 5, 15] == 1
    p = torch.softmax(torch.tensor([3.0, 2.0] + [-5.0] * 4), 0)
    assert abs(rankings.probabilities[0, 5, 3] - round(float(p[0]) * 255)) <= 1
    # A region straddling both halves: class 2 and 1 share it, class 4 follows.
    region = np.zeros((400, 800), bool)
    region[100:200, 300:500] = True
    ranked = rankings.region_ranking(region)
    assert [c for c, _ in ranked[:3]] == [2, 1, 4] or [c for c, _ in ranked[:3]] == [1, 2, 4]
    left = np.zeros((50, 50), bool)
    left[:] = True  # a crop at (x=10, y=10): entirely on the left
    assert rankings.region_ranking(left, origin=(10, 10), limit=2)[0][0] == 2


def test_a_prediction_survives_the_disk_and_follows_class_names(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (30, 40), dtype=np.uint8)
    confidence = rng.random((30, 40), dtype=np.float32)
    rankings = ClassRankings(rng.integers(0, 3, (3, 6, 8)), rng.integers(0, 256, (3, 6, 8)), (30, 40))
    path = tmp_path / "p" / "a.npz"
    save_prediction(path, StoredPrediction(labels, confidence, rankings, ("sky", "road", "car"), "v3"))
    back = load_prediction(path, (30, 40))
    assert np.array_equal(back.labels, labels) and back.model == "v3"
    assert np.abs(back.confidence - confidence).max() <= 0.5 / 255 + 1e-6
    assert np.array_equal(back.rankings.classes, rankings.classes) and back.rankings.image_size == (30, 40)
    # In a project whose classes are (road, sky): car becomes ignore and leaves the rankings.
    mapped = back.for_classes(("road", "sky"))
    assert np.array_equal(mapped.labels, np.array([1, 0, 255], np.uint8)[labels])
    assert not (mapped.rankings.probabilities[mapped.rankings.classes == 255]).any()
    with pytest.raises(PredictionFileError, match="not 41x30"):
        load_prediction(path, (30, 41))
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(PredictionFileError, match="broken.npz"):
        load_prediction(broken)


def test_inference_and_preview_carry_rankings_that_agree_with_the_labels(ade_model):
    image = SHARED_IMAGES / "astronaut.png"
    result = inference(ade_model, image)
    assert result.rankings is not None and result.rankings.image_size == result.labels.shape
    rows, cols = result.rankings.cell_of(np.arange(result.labels.shape[0])[:, None],
                                         np.arange(result.labels.shape[1])[None, :])
    agree = np.mean(result.rankings.classes[0][rows, cols] == result.labels)
    assert agree > 0.6  # the coarse grid's first guess is the label away from boundaries
    same = preview_inference(ade_model, image, fraction=1.0)  # the exact recipe, at a chosen scale
    assert np.array_equal(same.labels, result.labels) and np.array_equal(same.confidence, result.confidence)
    preview = preview_inference(ade_model, image, fraction=0.75)  # = an entry made for that scale
    half = inference(dataclasses.replace(ade_model, entry=small_entry(WHOLE_ADE, base_scale=(72, 36))), image)
    assert preview.labels.shape == result.labels.shape and np.array_equal(preview.labels, half.labels)
    assert preview.rankings is not None


def test_gcnet_predict_writes_sidecars_for_a_project(tmp_path, monkeypatch, ade_checkpoint):
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 32)))
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("chelsea.png", "coffee.png"):
        (root / name).write_bytes((SHARED_IMAGES / name).read_bytes())
    project = Project(root, None)
    out = tmp_path / "staged"
    assert main(["predict", "--model", WHOLE_ADE, "--checkpoint", str(ade_checkpoint), "--device", "cpu",
                 "--quiet", "--out", str(out), "--predictions", str(project.predictions_root),
                 "--model-id", "my-version", "--relative-to", str(root), str(root)]) == 0
    for image in project.image_paths():
        stored = load_prediction(project.prediction_path(image))
        from gcnet_core.files.masks import read_index_mask

        mask = read_index_mask(out / image.relative_to(root).with_suffix(".png"))
        assert np.array_equal(stored.labels, mask) and stored.model == "my-version"
        assert len(stored.class_names) == 150 and stored.rankings.k == 5
    assert not list(project.predictions_root.rglob("*.tmp"))
