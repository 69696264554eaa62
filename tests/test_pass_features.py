"""Every pass keeps the features it computed: ``conv_seg`` of ``result.features``, resized as
the predictor resizes its logits, gives that pass's labels (exact, fast and onnxruntime paths,
whole images and sliding windows), and the default call's rankings come from the network's grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gcnet_core import inference, inference_many
from gcnet_core.predict.fast import FastPredictor
from gcnet_core.predict.features import logits_from_features
from gcnet_core.predict.predictor import Predictor
from gcnet_core.predict.rankings import network_grid

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def textured_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 150, width)[None, :, None]
    return np.clip(rng.integers(0, 100, (height, width, 3)) + ramp, 0, 255).astype(np.uint8)


def labels_from_features(model, result) -> np.ndarray:
    conv_seg = model.network.decode_head.conv_seg
    return logits_from_features(conv_seg.weight, conv_seg.bias, result.features).max(dim=0).indices.numpy()


def test_the_exact_whole_image_pass_keeps_its_features(ade_model):
    image = textured_image(50, 75)
    result = inference(ade_model, image, keep_features=True)
    features = result.features
    assert features.features.dtype == np.float16 and features.features.shape == (512, 6, 9)
    assert features.image_size == (50, 75) and features.input_size == (48, 72)
    # float16 storage rounds the features a little: the labels of a random network still agree
    assert (labels_from_features(ade_model, result) == result.labels).mean() >= 0.999
    plain = inference(ade_model, image)
    assert plain.features is None and np.array_equal(plain.labels, result.labels)
    assert np.array_equal(plain.confidence, result.confidence)


def test_sliding_windows_keep_their_combined_features(slide_model):
    image = textured_image(50, 75, seed=3)
    result = inference(slide_model, image, keep_features=True)
    assert result.features.grid_corners and result.features.input_size == (65, 97)
    # The windows' features are combined on one grid (predict/features.py says why labels can
    # differ between grid points on a random network); most pixels agree.
    assert (labels_from_features(slide_model, result) == result.labels).mean() >= 0.8


def test_batches_and_ms_flip_keep_each_images_own_features(ade_model):
    images = [textured_image(40, 60, seed) for seed in (1, 2)]
    items = list(inference_many(ade_model, images, batch_size=2, keep_features=True))
    singles = [inference(ade_model, image, keep_features=True).features.features.astype(np.float32)
               for image in images]
    for item, single, other in zip(items, singles, singles[::-1]):  # one pass of two, each its own
        kept = item.result.features.features.astype(np.float32)
        assert np.abs(kept - single).max() <= 1e-2 * np.abs(single).max() < np.abs(kept - other).max()
    tta = inference(ade_model, images[0], tta=True, keep_features=True)  # the plain pass at the test scale
    assert np.array_equal(tta.features.features.astype(np.float32), singles[0])


def test_the_fast_path_keeps_its_features(ade_model):
    image = textured_image(50, 75, seed=4)
    fast = FastPredictor(ade_model.network, ade_model.entry, precision="fp32")
    result = fast.predict(image, keep_features=True)
    assert result.features.features.shape == (512, 6, 9)
    assert (labels_from_features(ade_model, result) == result.labels).mean() >= 0.99


def test_rankings_come_from_the_network_grid(ade_model):
    image = textured_image(50, 75, seed=6)
    result = inference(ade_model, image)
    assert result.rankings.grid_size == network_grid(48, 72) == (6, 9)
    predictor = Predictor(ade_model.network, ade_model.entry)
    with torch.inference_mode():
        coarse, _ = predictor.head_outputs(predictor.prepare([image], ade_model.entry.test_scale))
    best = coarse[0].argmax(dim=0).numpy()
    assert np.array_equal(result.rankings.classes[0], best)  # the network's own first guess per cell


@pytest.mark.parametrize("model_fixture", ["ade_model", "slide_model"])
def test_the_onnxruntime_engine_returns_its_graphs_features(request, model_fixture):
    pytest.importorskip("onnxruntime")
    from gcnet_core.predict.onnx_engine import EXPORT_FORMAT, EnginePredictor, engine_path

    model = request.getfixturevalue(model_fixture)
    engine = EnginePredictor(model.network, model.entry)
    assert [output.name for output in engine.session.get_outputs()] == ["logits", "features"]
    assert engine_path(model.network, model.entry).name.endswith(f"-f{EXPORT_FORMAT}.onnx") and EXPORT_FORMAT >= 2
    image = textured_image(50, 75, seed=7)
    result = engine.predict(image, keep_features=True)
    exact = Predictor(model.network, model.entry).predict(image, keep_features=True)
    assert result.features.features.shape == exact.features.features.shape
    scale = np.abs(exact.features.features.astype(np.float32)).max()
    assert np.abs(result.features.features.astype(np.float32) - exact.features.features).max() <= 1e-2 * scale
    agree = 0.999 if model.entry.test_mode == "whole" else 0.8  # windows: see the slide test above
    assert (labels_from_features(model, result) == result.labels).mean() >= agree


# ------------------------------------------------------------------ the app's passes keep them
def disk_full(fd):
    import errno

    raise OSError(errno.ENOSPC, "No space left on device")


def write_image(path, seed: int):
    import cv2

    cv2.imwrite(str(path), cv2.cvtColor(textured_image(48, 64, seed), cv2.COLOR_RGB2BGR))
    return path


def test_the_inference_worker_keeps_features_and_says_a_full_disk_once(monkeypatch, tmp_path, ade_checkpoint):
    pytest.importorskip("PySide6")
    from helpers import WHOLE_ADE, register_entry, small_entry

    from app.workers.inference import InferenceRequest, InferenceWorker, ModelConfig
    from gcnet_core.predict.features import feature_version
    from gcnet_core.project.feature_cache import FeatureCache, content_key

    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 48)))
    images = [write_image(tmp_path / f"scene{i}.png", i) for i in range(3)]
    config = ModelConfig(WHOLE_ADE, ade_checkpoint, device="cpu")
    worker, results, problems = InferenceWorker(), [], []
    worker.finished.connect(results.append)
    worker.cache_problem.connect(problems.append)
    worker.failed.connect(lambda request_id, message: pytest.fail(message))
    cache = FeatureCache(tmp_path / "features")
    worker.run(InferenceRequest(1, images[0], config, features=cache))
    version = feature_version(worker._model.network, worker._model.entry)
    kept = FeatureCache(tmp_path / "features").get(content_key(images[0]), version)  # read back from its file
    labels = labels_from_features(worker._model, inference(worker._model, images[0], keep_features=True))
    conv_seg = worker._model.network.decode_head.conv_seg
    assert np.array_equal(logits_from_features(conv_seg.weight, conv_seg.bias, kept).max(dim=0).indices.numpy(),
                          labels)
    worker.run(InferenceRequest(2, images[1], config, preview=True, features=cache))  # a coarse look keeps none
    assert (content_key(images[1]), version) not in cache
    monkeypatch.setattr("gcnet_core.files.atomic.os.fsync", disk_full)
    for request_id, image in ((3, images[1]), (4, images[2])):
        worker.run(InferenceRequest(request_id, image, config, features=cache))
    assert len(results) == 4  # every prediction arrived
    assert len(problems) == 1 and "No space left on device" in problems[0] and "memory" in problems[0]
    assert (content_key(images[2]), version) in cache  # kept in memory
    assert not [p for p in (tmp_path / "features").rglob("*") if p.is_file() and p.suffix != ".feat"]


def test_gcnet_predict_keeps_features_and_warns_once_of_a_full_disk(monkeypatch, tmp_path, capsys, ade_checkpoint):
    import json

    from helpers import WHOLE_ADE, register_entry, small_entry

    from gcnet_core.cli.main import main
    from gcnet_core.files.masks import read_index_mask
    from gcnet_core.project.feature_cache import SUFFIX

    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 48)))
    root = tmp_path / "photos"
    root.mkdir()
    images = [write_image(root / f"scene{i}.png", i) for i in range(2)]
    command = ["predict", "--model", WHOLE_ADE, "--checkpoint", str(ade_checkpoint), "--device", "cpu",
               "--progress", "jsonl", "--relative-to", str(root)]
    assert main(command + ["--out", str(tmp_path / "out"), "--features", str(tmp_path / "features"),
                           *map(str, images)]) == 0
    assert len(list((tmp_path / "features").rglob(f"*{SUFFIX}"))) == 2
    capsys.readouterr()
    monkeypatch.setattr("gcnet_core.project.feature_cache.atomic_write_bytes", lambda path, data: disk_full(0))
    assert main(command + ["--out", str(tmp_path / "again"), "--features", str(tmp_path / "full"),
                           *map(str, images)]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    warnings = [e for e in events if e["event"] == "warning"]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]["message"]
    assert all(read_index_mask(tmp_path / "again" / image.name).shape == (48, 64) for image in images)


def test_the_session_owns_one_feature_cache_per_open_project(tmp_path):
    from gcnet_core.model.classes import ClassSet
    from gcnet_core.project.session import AnnotationSession
    from gcnet_core.project.store import Project

    session = AnnotationSession(writer=None)
    assert session.features is None  # no project open
    session.feature_cache_mb = 100  # Preferences' limit, for the next project opened
    classes = ClassSet(("a", "b"), ((0, 0, 0), (255, 255, 255)))
    first, second = (Project(tmp_path / name, classes) for name in ("one", "two"))
    session.open_project(first)
    cache = session.features
    assert cache.folder == first.features_root and cache.disk_mb == 100
    session.open_project(second)
    assert session.features is not cache and session.features.folder == second.features_root


def test_a_pre_segmentation_through_the_service_lands_in_the_open_projects_cache(qtbot, monkeypatch, tmp_path,
                                                                                 ade_checkpoint):
    """The window points the service at ``session.features``; a full pass's features are there
    when its result arrives, a preview's are not."""
    pytest.importorskip("pytestqt")
    from helpers import WHOLE_ADE, register_entry, small_entry

    from app.workers.inference import InferenceService, ModelConfig
    from gcnet_core.model.classes import ClassSet
    from gcnet_core.project.feature_cache import content_key
    from gcnet_core.project.session import AnnotationSession
    from gcnet_core.project.store import Project

    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 48)))
    root = tmp_path / "photos"
    root.mkdir()
    image = write_image(root / "scene.png", 5)
    session = AnnotationSession(writer=None)
    session.open_project(Project(root, ClassSet(("a", "b"), ((0, 0, 0), (255, 255, 255)))))
    service = InferenceService()
    service.feature_cache = lambda: session.features
    config = ModelConfig(WHOLE_ADE, ade_checkpoint, device="cpu")
    try:
        with qtbot.waitSignal(service.finished, timeout=120000):
            service.submit(image, config, preview=True)
        assert not list(session.features.folder.rglob("*.feat"))
        with qtbot.waitSignal(service.finished, timeout=120000):
            service.submit(image, config)
        files = list(session.features.folder.rglob("*.feat"))
        assert len(files) == 1 and files[0].stem == content_key(image)
        assert files[0].is_relative_to(root / ".gcnet")
    finally:
        service.shutdown()
