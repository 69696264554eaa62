"""Inference semantics of docs/inference.md on small inputs: resize rule, whole vs slide, ms+flip, batching."""

from __future__ import annotations

import dataclasses
import importlib

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gcnet_core import inference, inference_many, init_model
from gcnet_core.files.images import ImageReadError
from gcnet_core.predict.network_input import normalize, rescale_size, slide_windows
from gcnet_core.predict.predictor import Predictor, tta_scales

from helpers import SHARED_IMAGES, SLIDE_CS, WHOLE_ADE, register_entry, small_entry

inference_module = importlib.import_module("gcnet_core.predict.predictor")


def test_keep_ratio_rule_matches_the_spec_examples():
    assert rescale_size(2048, 1024, (2048, 1024)) == (2048, 1024)
    assert rescale_size(2048, 1024, (2049, 1025)) == (2049, 1025)
    assert rescale_size(500, 375, (2048, 512)) == (683, 512)
    assert rescale_size(451, 300, (2048, 512)) == (770, 512)


def test_tta_scales_follow_the_0x_rule():
    assert tta_scales((2048, 512)) == [(1024, 256), (1536, 384), (2048, 512), (2560, 640), (3072, 768), (3584, 896)]
    assert tta_scales((2049, 1025)) == [(1024, 512), (1536, 768), (2049, 1025), (2561, 1281), (3073, 1537), (3585, 1793)]


def test_slide_windows_for_a_cityscapes_image():
    windows = slide_windows(1025, 2049, (769, 769), (513, 513))
    assert sorted({(y1, y2) for y1, y2, _, _ in windows}) == [(0, 769), (256, 1025)]
    assert sorted({(x1, x2) for _, _, x1, x2 in windows}) == [(0, 769), (513, 1282), (1026, 1795), (1280, 2049)]
    assert slide_windows(500, 600, (769, 769), (513, 513)) == [(0, 500, 0, 600)]  # smaller: one unpadded crop


def reference_whole(model, rgb: np.ndarray) -> torch.Tensor:
    """docs/inference.md, "Reference single-scale recipe", step by step from a cv2 BGR decode."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    h, w = bgr.shape[:2]
    new_w, new_h = rescale_size(w, h, model.entry.test_scale)
    bgr = cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    x = bgr[:, :, ::-1].astype(np.float32)
    x = (x - np.array([123.675, 116.28, 103.53], np.float32)) / np.array([58.395, 57.12, 57.375], np.float32)
    x = torch.from_numpy(x.transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        logits = model.network.decode_head(model.network.backbone(x))
        logits = F.interpolate(logits, size=(new_h, new_w), mode="bilinear", align_corners=False)
        return F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)[0]


def test_whole_inference_follows_the_reference_recipe(ade_model):
    path = SHARED_IMAGES / "chelsea.png"
    result = inference(ade_model, path, return_logits=True)
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    expected = reference_whole(ade_model, rgb)
    assert result.logits.shape == (150, 300, 451) and result.logits.dtype == np.float32
    assert result.labels.shape == (300, 451) and result.confidence.shape == (300, 451)
    scale = float(np.abs(expected.numpy()).max())  # float32 summation order differs: relative to the range
    np.testing.assert_allclose(result.logits, expected.numpy(), rtol=0, atol=2e-5 * scale)
    assert (result.labels == expected.argmax(0).numpy()).mean() > 0.999
    assert len(np.unique(result.labels)) > 1  # a non-trivial prediction was compared
    probabilities = torch.softmax(torch.from_numpy(result.logits), 0).max(0).values.numpy()
    np.testing.assert_allclose(result.confidence, probabilities, rtol=1e-5)


def test_chunked_argmax_equals_the_full_computation(ade_model, monkeypatch):
    full = inference(ade_model, SHARED_IMAGES / "coffee.png", return_logits=True)
    monkeypatch.setattr(inference_module, "_CHUNK_ELEMENTS", 400 * 600 * 7)  # 7 classes a chunk
    chunked = inference(ade_model, SHARED_IMAGES / "coffee.png")
    assert np.array_equal(chunked.labels, full.labels)
    np.testing.assert_allclose(chunked.confidence, full.confidence, rtol=1e-4)


def test_slide_averages_window_logits(slide_model):
    """Several overlapping windows: the result is the coverage-weighted mean of window logits."""
    rgb = cv2.cvtColor(cv2.imread(str(SHARED_IMAGES / "rocket.jpg")), cv2.COLOR_BGR2RGB)
    result = inference(slide_model, rgb, return_logits=True)
    h0, w0 = rgb.shape[:2]
    new_w, new_h = rescale_size(w0, h0, slide_model.entry.test_scale)
    x = normalize([cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)], torch.device("cpu"))
    total = torch.zeros(1, 19, new_h, new_w)
    count = torch.zeros(1, 1, new_h, new_w)
    windows = slide_windows(new_h, new_w, (41, 41), (25, 25))
    assert len(windows) > 4
    with torch.no_grad():
        for y1, y2, x1, x2 in windows:
            total[:, :, y1:y2, x1:x2] += slide_model.network(x[:, :, y1:y2, x1:x2])
            count[:, :, y1:y2, x1:x2] += 1
        expected = F.interpolate(total / count, size=(h0, w0), mode="bilinear", align_corners=True)[0].numpy()
    np.testing.assert_allclose(result.logits, expected, rtol=0, atol=2e-5 * np.abs(expected).max())


def test_one_window_covering_the_image_equals_whole_mode(monkeypatch, cityscapes_checkpoint):
    rgb = cv2.cvtColor(cv2.imread(str(SHARED_IMAGES / "astronaut.png")), cv2.COLOR_BGR2RGB)
    register_entry(monkeypatch, small_entry(SLIDE_CS, base_scale=(60, 60), crop=(64, 64), stride=(40, 40)))
    slide = inference(init_model(SLIDE_CS, cityscapes_checkpoint, device="cpu"), rgb, return_logits=True)
    whole_entry = small_entry(SLIDE_CS, base_scale=(60, 60))
    whole_entry = dataclasses.replace(whole_entry, dataset=dataclasses.replace(whole_entry.dataset, slide_stride=None))
    register_entry(monkeypatch, whole_entry)
    model = init_model(SLIDE_CS, cityscapes_checkpoint, device="cpu")
    assert model.entry.test_mode == "whole" and model.network.align_corners
    whole = inference(model, rgb, return_logits=True)
    np.testing.assert_allclose(slide.logits, whole.logits, rtol=1e-5, atol=1e-5)


def test_tta_is_flip_symmetric_and_returns_probabilities(monkeypatch, ade_checkpoint):
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 32)))
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cpu")
    rgb = cv2.cvtColor(cv2.imread(str(SHARED_IMAGES / "chelsea.png")), cv2.COLOR_BGR2RGB)[::4, ::4].copy()
    result = inference(model, rgb, tta=True, return_logits=True)
    assert result.labels.shape == rgb.shape[:2] and result.logits.shape == (150, *rgb.shape[:2])
    np.testing.assert_allclose(result.logits.sum(0), 1.0, rtol=1e-5)
    np.testing.assert_allclose(result.confidence, result.logits.max(0), rtol=1e-6)
    mirrored = inference(model, rgb[:, ::-1].copy(), tta=True, return_logits=True)
    np.testing.assert_allclose(mirrored.logits, result.logits[:, :, ::-1], atol=1e-4)
    # ms+flip is the mean of the softmax of twelve passes: six scales, each plain and mirrored
    predictor, size = Predictor(model.network, model.entry), rgb.shape[:2]
    expected = torch.zeros((150, *size))
    for scale in tta_scales(model.entry.test_scale):
        for image, unflip in ((rgb, lambda t: t), (rgb[:, ::-1].copy(), lambda t: t.flip(dims=(2,)))):
            logits = predictor.to_original(predictor.logits_at_input(predictor.prepare([image], scale)), size)
            expected += unflip(torch.softmax(logits[0], dim=0))
    np.testing.assert_allclose(result.logits, (expected / 12).detach().numpy(), atol=1e-4)
    assert len(tta_scales(model.entry.test_scale)) == 6


def test_grayscale_and_rgba_inputs_are_segmented(ade_model, tmp_path):
    gray = inference(ade_model, SHARED_IMAGES / "camera.png")
    assert gray.labels.shape == (512, 512)
    rgba = cv2.imread(str(SHARED_IMAGES / "astronaut.png"))
    rgba = np.dstack([rgba, np.full(rgba.shape[:2], 7, np.uint8)])
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    with_alpha = inference(ade_model, tmp_path / "rgba.png")
    plain = inference(ade_model, SHARED_IMAGES / "astronaut.png")
    assert np.array_equal(with_alpha.labels, plain.labels)


def test_unreadable_image_is_named(ade_model, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ImageReadError, match="broken.jpg"):
        inference(ade_model, bad)
    with pytest.raises(ValueError, match="RGB uint8"):
        inference(ade_model, np.zeros((4, 4), np.float32))


def test_inference_many_batches_equal_sizes_and_reports_bad_files(ade_model, tmp_path):
    rgb = cv2.cvtColor(cv2.imread(str(SHARED_IMAGES / "coffee.png")), cv2.COLOR_BGR2RGB)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"img{i}.png")
        cv2.imwrite(str(paths[-1]), np.roll(rgb, 40 * i, axis=1)[:, :, ::-1])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    items = list(inference_many(ade_model, [paths[0], paths[1], bad, paths[2]], batch_size=2))
    assert [item.source for item in items] == [paths[0], paths[1], bad, paths[2]]
    assert items[2].error is not None and items[2].result is None and "bad.png" in str(items[2].error)
    for item in (items[0], items[1], items[3]):
        single = inference(ade_model, item.source)
        assert (item.result.labels == single.labels).mean() > 0.999
