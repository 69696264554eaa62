"""CUDA paths: the fast path by default, its agreement with exact fp32, CUDA graphs, huge
images, out-of-memory fallbacks, memory release, the benchmark (skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gcnet_core import inference, init_model
from gcnet_core.predict.benchmark import run_benchmark
from gcnet_core.predict.fast import FastOptions, FastPredictor
from gcnet_core.files.images import read_image_rgb
from gcnet_core.predict.predictor import Predictor, resolve_device

from helpers import SHARED_IMAGES, SLIDE_CS, WHOLE_ADE, WHOLE_CS, random_checkpoint, register_entry, small_entry

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
pytestmark = [pytest.mark.gpu, needs_cuda]
PHOTOS = sorted(p for p in SHARED_IMAGES.iterdir() if p.suffix in (".png", ".jpg"))


@pytest.fixture(scope="module")
def cs_checkpoint(tmp_path_factory):
    from gcnet_core.weights.zoo import get_entry

    return random_checkpoint(get_entry(WHOLE_CS), tmp_path_factory.mktemp("ckpt") / "cs512.pth", seed=2)


def agreement(a, b) -> float:
    return float(np.mean(a == b))


def test_auto_picks_the_gpu_and_the_fast_path(ade_checkpoint):
    assert resolve_device("auto").type == "cuda"
    model = init_model(WHOLE_ADE, ade_checkpoint)
    assert model.backend == "fast" and model.precision == "fp16"  # auto on CUDA: fp16, closer to fp32 than bf16
    assert isinstance(model.predictor(), FastPredictor)


def test_exact_cuda_fp32_matches_cpu(ade_checkpoint):
    image = SHARED_IMAGES / "coffee.png"
    cpu = inference(init_model(WHOLE_ADE, ade_checkpoint, device="cpu"), image, return_logits=True)
    gpu = inference(init_model(WHOLE_ADE, ade_checkpoint, device="cuda", precision="fp32", fast=False), image,
                    return_logits=True)
    assert (cpu.labels == gpu.labels).mean() > 0.999
    scale = np.abs(cpu.logits).max()
    assert np.abs(cpu.logits - gpu.logits).max() / scale < 1e-4  # fp32 really is fp32 (no TF32)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_fast_path_agrees_with_exact_fp32(ade_checkpoint, precision):
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cuda", precision="fp32", fast=False)
    exact, fast = Predictor(model.network, model.entry, "fp32"), FastPredictor(model.network, model.entry, precision)
    for path in PHOTOS:
        image = read_image_rgb(path)
        result = fast.predict(image)
        assert result.confidence.dtype == np.float32 and result.note is None
        # random weights have small margins; trained ones agree more (see gcnet benchmark)
        assert agreement(result.labels, exact.predict(image).labels) > (0.995 if precision != "bf16" else 0.97)


def test_cuda_graph_replay_matches_eager(ade_checkpoint):
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cuda", precision="fp16")
    images = [np.ascontiguousarray(read_image_rgb(p)[:300, :400]) for p in PHOTOS[:3]]  # same size, new content
    graphs = FastPredictor(model.network, model.entry, "fp16", FastOptions(cuda_graphs=True))
    eager = FastPredictor(model.network, model.entry, "fp16")
    assert eager._graphs is None  # opt-in
    results = [graphs.predict(images[i % 3]).labels for i in range(6)]  # the 2nd call captures, then replays
    assert graphs._graphs.graphs, "no graph was captured"
    for i, labels in enumerate(results):
        assert agreement(labels, eager.predict(images[i % 3]).labels) > 0.9999, f"call {i}"


def test_pinned_uploads_give_the_labels_of_plain_uploads(ade_checkpoint):
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cuda", precision="fp16")
    pinned = FastPredictor(model.network, model.entry, "fp16", FastOptions(pinned_upload=True))
    plain = FastPredictor(model.network, model.entry, "fp16")
    assert plain._staging is None and pinned._staging is not None  # opt-in
    for path in PHOTOS[:3]:
        image = read_image_rgb(path)
        assert torch.equal(pinned.prepare([image], (683, 512)), plain.prepare([image], (683, 512)))
        assert np.array_equal(pinned.predict(image).labels, plain.predict(image).labels)


def test_batches_give_the_labels_of_one_by_one_on_the_gpu(ade_checkpoint):
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cuda")
    images = [np.ascontiguousarray(read_image_rgb(p)[:256, :256]) for p in PHOTOS[:4]]
    fast = model.predictor()
    for image, result in zip(images, fast.predict_batch(images)):
        assert agreement(result.labels, fast.predict(image).labels) > 0.999


def test_slide_entry_on_the_gpu(cityscapes_checkpoint):
    model = init_model(SLIDE_CS, cityscapes_checkpoint, device="cuda")
    image = np.zeros((1024, 2048, 3), np.uint8)
    image[:, :1024] = 200
    result = inference(model, image)
    assert result.labels.shape == (1024, 2048)


@pytest.mark.parametrize("name", [WHOLE_ADE, WHOLE_CS])
def test_a_4000x6000_photo_is_segmented(request, name):
    checkpoint = request.getfixturevalue("ade_checkpoint" if name == WHOLE_ADE else "cs_checkpoint")
    model = init_model(name, checkpoint, device="cuda")
    image = np.ascontiguousarray(np.tile(read_image_rgb(SHARED_IMAGES / "chelsea.png"), (10, 10, 1))[:4000, :6000])
    result = inference(model, image)
    assert result.labels.shape == (4000, 6000) and result.confidence.shape == (4000, 6000)
    model.release()


def test_real_out_of_memory_falls_back_without_crashing(cs_checkpoint):
    model = init_model(WHOLE_CS, cs_checkpoint, device="cuda", precision="fp16",
                       fast_options=FastOptions(window_batch=9, cuda_graphs=False))
    image = np.ascontiguousarray(np.tile(read_image_rgb(SHARED_IMAGES / "chelsea.png"), (3, 4, 1))[:1024, :2048])
    model.release()
    used = torch.cuda.memory_allocated()
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction((used + 700 * 2**20) / total)  # weights + 700 MiB
    try:
        result = inference(model, image)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    assert result.labels.shape == (1024, 2048)
    assert result.note and "Not enough GPU memory" in result.note
    print(result.note)


def test_release_hands_memory_back(ade_checkpoint):
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cuda")
    inference(model, SHARED_IMAGES / "coffee.png")
    before = torch.cuda.memory_reserved()
    model.release()
    assert torch.cuda.memory_reserved() < before


def test_benchmark_rows(monkeypatch, ade_checkpoint):
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(512, 256)))
    report = run_benchmark(init_model(WHOLE_ADE, ade_checkpoint, device="cuda"), images=3, warmup=2,
                           folder_images=4)
    modes = [t.mode for t in report.timings]
    assert modes[0].startswith("fp32 eager") and modes[1].startswith("fast path") and modes[2].startswith("folder")
    assert report.timings[1].agreement > 0.97 and all(t.peak_memory_bytes > 0 for t in report.timings)
    assert "images/s" in report.format()


@pytest.mark.slow
def test_compiled_fast_path_agrees(ade_checkpoint):
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cuda", precision="fp16")
    image = read_image_rgb(PHOTOS[0])
    compiled = FastPredictor(model.network, model.entry, "fp16", FastOptions(compile=True))
    plain = FastPredictor(model.network, model.entry, "fp16")
    assert agreement(compiled.predict(image).labels, plain.predict(image).labels) > 0.999
