"""The onnxruntime CPU engine: labels as the exact path's, the export cache (hit, new weights,
a fine-tuned file), the fallback to the exact torch path with a note, and its selection."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from gcnet_core import init_model
from gcnet_core.files.images import read_image_rgb
from gcnet_core.predict import onnx_engine
from gcnet_core.predict.predictor import Predictor
from gcnet_core.predict.onnx_engine import EnginePredictor, ExactFallback, engine_path, engines_dir
from gcnet_core.predict.running import inference
from gcnet_core.predict.stopping import PassStopped, StopToken, stoppable

from helpers import SHARED_IMAGES, WHOLE_ADE, register_entry, small_entry

pytest.importorskip("onnxruntime")
PHOTOS = [SHARED_IMAGES / name for name in ("astronaut.png", "chelsea.png", "coffee.png")]


@pytest.fixture(autouse=True)
def _engine_on(monkeypatch):
    monkeypatch.delenv("GCNET_CPU_ENGINE", raising=False)  # conftest turns it off for the other tests


def stages_of(model) -> tuple[EnginePredictor, list[str]]:
    stages: list[str] = []
    engine = EnginePredictor(model.network, model.entry, progress=lambda stage, done, total: stages.append(stage))
    return engine, stages


@pytest.mark.parametrize("model_fixture", ["ade_model", "slide_model"])
def test_engine_labels_agree_with_the_exact_path(request, model_fixture):
    model = request.getfixturevalue(model_fixture)
    engine, exact = EnginePredictor(model.network, model.entry), Predictor(model.network, model.entry)
    assert type(engine).prepare is Predictor.prepare  # the exact path's input, by construction
    for path in PHOTOS:
        image = read_image_rgb(path)
        ours, theirs = engine.predict(image), exact.predict(image)
        assert np.mean(ours.labels == theirs.labels) >= 0.999
        assert np.abs(ours.confidence - theirs.confidence).max() < 1e-3
    image = cv2.resize(read_image_rgb(PHOTOS[1]), (90, 60))
    assert np.mean(engine.predict(image, tta=True).labels == exact.predict(image, tta=True).labels) >= 0.999
    batch = [cv2.resize(read_image_rgb(p), (80, 60)) for p in PHOTOS]
    for image, result in zip(batch, engine.predict_batch(batch)):  # dynamic batch size
        assert np.mean(result.labels == exact.predict(image).labels) >= 0.999


def test_export_once_then_cache_hits(ade_model):
    first, stages = stages_of(ade_model)
    assert stages == ["export", "load", "ready"] and first.export_seconds > 0
    path = engine_path(ade_model.network, ade_model.entry)
    assert path.is_file() and path.parent == engines_dir()
    assert torch.__version__.split("+")[0] in path.name and onnx_engine.onnxruntime_version() in path.name
    again, stages = stages_of(ade_model)
    assert stages == ["load", "ready"] and again.export_seconds == 0
    assert sorted(engines_dir().iterdir()) == [path]  # nothing else left behind (no .part files)


def test_new_weights_make_a_new_engine(ade_model, tmp_path):
    """Weights changed in this process (training, load_state_dict) re-export before the next
    image; a fine-tuned checkpoint file has its own engine, keyed by its content."""
    image = cv2.resize(read_image_rgb(PHOTOS[0]), (64, 48))
    engine = EnginePredictor(ade_model.network, ade_model.entry)
    before = engine_path(ade_model.network, ade_model.entry)
    assert len(np.unique(engine.predict(image).labels)) > 1
    with torch.no_grad():
        ade_model.network.decode_head.conv_seg.bias[9] += 1000.0
    assert np.all(engine.predict(image).labels == 9)
    after = engine_path(ade_model.network, ade_model.entry)
    assert after != before and after.is_file() and engine.export_seconds > 0

    tuned = tmp_path / "tuned.pth"
    torch.save({"meta": {}, "state_dict": ade_model.network.state_dict()}, tuned)
    reloaded = init_model(WHOLE_ADE, tuned, device="cpu")
    assert engine_path(reloaded.network, reloaded.entry) == after
    cached, stages = stages_of(reloaded)
    assert stages == ["load", "ready"] and np.all(cached.predict(image).labels == 9)


def test_new_weights_whose_export_fails_run_through_torch(monkeypatch, ade_model):
    image = cv2.resize(read_image_rgb(PHOTOS[0]), (64, 48))
    engine = EnginePredictor(ade_model.network, ade_model.entry)

    def broken(model, path):
        raise RuntimeError("disk full")

    monkeypatch.setattr(onnx_engine, "export_network", broken)
    with torch.no_grad():
        ade_model.network.decode_head.conv_seg.bias[4] += 1000.0
    assert np.all(engine.predict(image).labels == 4)  # never the old weights' answer
    assert engine.session is None


def test_without_onnxruntime_the_exact_path_runs_with_a_note(monkeypatch, ade_model):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    assert onnx_engine.onnxruntime_version() is None
    ade_model = replace(ade_model, backend="onnxruntime")
    predictor = ade_model.predictor()
    assert isinstance(predictor, ExactFallback)
    image = read_image_rgb(PHOTOS[2])
    first, second = inference(ade_model, image), inference(ade_model, image)
    assert "onnxruntime is not installed" in first.note and "exact torch path" in first.note
    assert second.note is None  # said once
    assert np.array_equal(first.labels, Predictor(ade_model.network, ade_model.entry).predict(image).labels)


def test_a_failed_export_falls_back_with_the_reason(monkeypatch, ade_model):
    def broken(model, path):
        raise RuntimeError("unsupported operator aten::weird")

    monkeypatch.setattr(onnx_engine, "export_network", broken)
    predictor = onnx_engine.engine_or_exact(ade_model.network, ade_model.entry)
    assert isinstance(predictor, ExactFallback)
    image = read_image_rgb(PHOTOS[0])
    result = predictor.predict(image)
    assert "aten::weird" in result.note and "exporting or loading" in result.note
    assert np.array_equal(result.labels, Predictor(ade_model.network, ade_model.entry).predict(image).labels)
    assert not list(engines_dir().glob("*.onnx"))


def test_the_engine_is_the_cpu_default(monkeypatch, ade_checkpoint):
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(96, 48)))
    default = init_model(WHOLE_ADE, ade_checkpoint, device="cpu")
    assert default.backend == "onnxruntime" and isinstance(default.predictor(), EnginePredictor)
    exact = init_model(WHOLE_ADE, ade_checkpoint, device="cpu", fast=False)
    assert exact.backend == "exact" and type(exact.predictor()) is Predictor
    assert init_model(WHOLE_ADE, ade_checkpoint, device="cpu", precision="bf16").backend == "exact"
    monkeypatch.setenv("GCNET_CPU_ENGINE", "torch")
    assert type(init_model(WHOLE_ADE, ade_checkpoint, device="cpu").predictor()) is Predictor


def test_the_app_reports_the_one_off_export(qapp, monkeypatch, ade_checkpoint, tmp_path):
    """The annotator's inference worker names the export step before the first image, once."""
    from app.workers.inference import InferenceRequest, InferenceWorker, ModelConfig

    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(96, 48)))
    image = tmp_path / "photo.png"
    cv2.imwrite(str(image), cv2.resize(cv2.imread(str(PHOTOS[1])), (90, 60)))
    worker = InferenceWorker()
    messages, results = [], []
    worker.preparing.connect(messages.append)
    worker.finished.connect(results.append)
    worker.failed.connect(lambda request_id, message: results.append(message))
    config = ModelConfig(WHOLE_ADE, ade_checkpoint, device="cpu")
    worker.run(InferenceRequest(1, image, config))
    assert messages == [f"{WHOLE_ADE}: one-off export of the CPU engine (step 1 of 2)…",
                        f"{WHOLE_ADE}: loading the CPU engine (step 2 of 2)…"]
    worker.run(InferenceRequest(2, image, config))  # the model and its engine stay loaded
    assert len(messages) == 2 and len(results) == 2
    assert all("onnxruntime" in result.device for result in results), results
    assert results[0].load_seconds > 0 and results[1].load_seconds == 0
    exact = Predictor(worker._model.network, worker._model.entry).predict(read_image_rgb(image)).labels
    assert np.mean(results[1].labels == exact) >= 0.999


def test_gcnet_predict_runs_the_engine_and_says_when_it_exports(monkeypatch, ade_checkpoint, tmp_path, capsys):
    from gcnet_core.cli.main import main
    from gcnet_core.files.masks import read_index_mask

    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(96, 48)))
    image = tmp_path / "photo.png"
    cv2.imwrite(str(image), cv2.resize(cv2.imread(str(PHOTOS[2])), (90, 60)))
    command = ["predict", "--model", WHOLE_ADE, "--checkpoint", str(ade_checkpoint), "--device", "cpu",
               "--out", str(tmp_path / "out"), "--quiet", str(image)]
    assert main(command) == 0
    assert "for onnxruntime (once per checkpoint)" in capsys.readouterr().err
    exact = init_model(WHOLE_ADE, ade_checkpoint, device="cpu", fast=False).predictor().predict(read_image_rgb(image))
    assert np.mean(read_index_mask(tmp_path / "out" / "photo.png") == exact.labels) >= 0.999
    assert main(command) == 0
    assert "onnxruntime" not in capsys.readouterr().err  # the export is in the cache


def test_the_cache_keeps_the_most_recently_used_engines(ade_model):
    folder = engines_dir()
    folder.mkdir(parents=True, exist_ok=True)
    old = []
    for index in range(onnx_engine.KEEP_ENGINES + 2):  # engines of other checkpoints, oldest first
        path = folder / f"other-{index}.onnx"
        path.write_bytes(b"x")
        os.utime(path, (1000 + index, 1000 + index))
        old.append(path)
    EnginePredictor(ade_model.network, ade_model.entry)
    kept = sorted(p.name for p in folder.glob("*.onnx"))
    made = engine_path(ade_model.network, ade_model.entry).name
    assert len(kept) == onnx_engine.KEEP_ENGINES and made in kept
    newest_others = {p.name for p in old[-(onnx_engine.KEEP_ENGINES - 1):]}
    assert set(kept) - {made} == newest_others


def test_a_damaged_cached_engine_is_exported_again(ade_model):
    EnginePredictor(ade_model.network, ade_model.entry)
    path = engine_path(ade_model.network, ade_model.entry)
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    engine, stages = stages_of(ade_model)
    assert stages == ["load", "export", "load", "ready"] and engine.export_seconds > 0
    image = cv2.resize(read_image_rgb(PHOTOS[0]), (64, 48))
    exact = Predictor(ade_model.network, ade_model.entry).predict(image)
    assert np.mean(engine.predict(image).labels == exact.labels) >= 0.999


def test_exporting_keeps_a_model_in_training_mode(ade_model):
    ade_model.network.train()
    EnginePredictor(ade_model.network, ade_model.entry)
    assert all(module.training for module in ade_model.network.modules())
    ade_model.network.eval()


def test_the_engine_leaves_no_device_id_in_home(tmp_path):
    """onnxruntime's telemetry writes ~/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid
    unless it is off before the runtime starts: a fresh process opens and runs a session the
    engine's way with HOME in a temporary folder, which stays empty."""
    network = tmp_path / "conv.onnx"
    torch.onnx.export(torch.nn.Conv2d(3, 2, 1), torch.zeros(1, 3, 8, 8), str(network),
                      input_names=["image"], dynamo=False)
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    env["HOME"] = str(home)
    script = ("import sys, numpy as np; from gcnet_core.predict.onnx_engine import open_session; "
              "session = open_session(sys.argv[1], threads=1); "
              "print(session.run(None, {'image': np.zeros((1, 3, 8, 8), np.float32)})[0].shape)")
    done = subprocess.run([sys.executable, "-c", script, str(network)], env=env, capture_output=True,
                          cwd=Path(__file__).resolve().parents[1],
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "(1, 2, 8, 8)" in done.stdout
    assert list(home.rglob("*")) == []


def test_a_pass_stopped_from_another_thread_ends_early_and_gives_nothing(ade_model):
    """Esc (or leaving the image) stops the CPU engine's Run between its kernels."""
    engine, exact = EnginePredictor(ade_model.network, ade_model.entry), Predictor(ade_model.network, ade_model.entry)
    x = torch.zeros(1, 3, 640, 640)  # the network at this size runs long enough to stop in the middle
    start = time.perf_counter()
    engine.head_outputs(x)
    whole = time.perf_counter() - start
    token = StopToken()
    timer = threading.Timer(whole * 0.15, token.stop)
    start = time.perf_counter()
    timer.start()
    with stoppable(token), pytest.raises(PassStopped):
        engine.head_outputs(x)
    stopped_after = time.perf_counter() - start
    timer.join()
    assert stopped_after < 0.7 * whole, (stopped_after, whole)

    image = read_image_rgb(PHOTOS[0])
    for predictor in (engine, exact):  # stopped before it starts: no pass at all, on either path
        with stoppable(token), pytest.raises(PassStopped):
            predictor.predict(image)
        assert predictor.predict(image).labels.shape == image.shape[:2]  # outside the block it runs
