"""The fast path's code on the CPU: same labels as the exact path, batching, memory fallbacks,
precision resolution, and the folder pipeline. (CUDA-only parts are in test_gpu.py.)"""

from __future__ import annotations

import copy
import threading
import time

import cv2
import numpy as np
import pytest
import torch

from gcnet_core import init_model
from gcnet_core.predict.acceleration import fold_batch_norms, inference_copy, is_out_of_memory
from gcnet_core.predict.fast import FastOptions, FastPredictor
from gcnet_core.predict.folder import segment_files
from gcnet_core.files.images import read_image_rgb
from gcnet_core.files.prefetch import prefetch
from gcnet_core.predict.predictor import Predictor, resolve_precision
from gcnet_core.files.masks import read_index_mask
from gcnet_core.model.heads import ContextBlock

from helpers import SHARED_IMAGES, WHOLE_ADE, register_entry, small_entry

PHOTOS = [SHARED_IMAGES / name for name in ("astronaut.png", "chelsea.png", "coffee.png")]


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a == b))


def test_auto_precision_is_exact_fp32_on_the_cpu(ade_model):
    assert ade_model.precision == "fp32" and ade_model.backend == "exact"
    assert type(ade_model.predictor()) is Predictor
    assert resolve_precision(torch.device("cpu"), "auto") == "fp32"
    assert resolve_precision(torch.device("cpu"), "fp16") == "fp16"  # allowed, if slow
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision(torch.device("cpu"), "fp8")


def test_fast_can_be_asked_for_on_the_cpu(monkeypatch, ade_checkpoint):
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(96, 48)))
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cpu", fast=True)
    assert isinstance(model.predictor(), FastPredictor)
    assert model.predictor().description.startswith("fp32 (channels last, fold bn")


def test_cuda_graphs_and_pinned_uploads_are_opt_in(tmp_path):
    """Never run on a GPU of ours: off by default, on only through FastOptions or the flags."""
    from gcnet_core.cli.main import build_parser
    from gcnet_core.predict.fast import options_from_flags

    defaults = FastOptions()
    assert not defaults.cuda_graphs and not defaults.pinned_upload and not defaults.compile
    assert defaults.fold_bn and defaults.channels_last
    parser = build_parser()
    plain = parser.parse_args(["predict", "--model", WHOLE_ADE, "--out", str(tmp_path), "x.png"])
    assert options_from_flags(plain) is None
    both = parser.parse_args(["benchmark", "--model", WHOLE_ADE, "--cuda-graphs", "--pinned-upload"])
    assert options_from_flags(both) == FastOptions(cuda_graphs=True, pinned_upload=True)


@pytest.mark.parametrize("fast", [False, True])
def test_both_paths_follow_the_models_weights(monkeypatch, ade_checkpoint, fast):
    """After load_state_dict or an in-place update (as training does) in the same process,
    inference() answers with the new weights on the exact and on the fast path."""
    from gcnet_core import inference

    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(96, 48)))
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cpu", fast=fast)
    image = cv2.resize(read_image_rgb(PHOTOS[0]), (64, 48))
    before = inference(model, image).labels
    assert len(np.unique(before)) > 1
    state = model.network.state_dict()
    state["decode_head.conv_seg.bias"][7] += 1000.0
    model.network.load_state_dict(state)
    assert np.all(inference(model, image).labels == 7)
    with torch.no_grad():  # an optimiser step changes the tensors in place
        model.network.decode_head.conv_seg.bias[7] -= 1000.0
        model.network.decode_head.conv_seg.bias[11] += 1000.0
    assert np.all(inference(model, image).labels == 11)


def test_folded_batch_norms_compute_the_same_function(ade_model):
    x = torch.randn(1, 3, 64, 80)
    network = ade_model.network
    runner = inference_copy(network, "fp32", channels_last=False, fold_bn=True)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in runner.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in network.modules())  # the original is untouched
    with torch.no_grad():  # the copy is backbone + decode head: logits at 1/8, before the resize, and features
        expected, (folded, features) = network.decode_head(network.backbone(x)), runner(x)
    assert torch.allclose(folded, expected, rtol=1e-4, atol=1e-3 * expected.abs().max().item())
    assert features.shape == (1, 512, *expected.shape[2:])
    plain = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()  # nothing to fold is fine:
    kept = fold_batch_norms(copy.deepcopy(plain))  # the same layers, the same function
    assert [type(m) for m in kept.modules()] == [type(m) for m in plain.modules()]
    with torch.no_grad():
        assert torch.equal(kept(x), plain(x))


def test_context_block_gives_the_same_result_in_channels_last():
    block = ContextBlock(32).eval()
    x = torch.randn(2, 32, 9, 13)
    with torch.no_grad():
        plain = block(x)
        channels_last = block(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(plain, channels_last, atol=1e-5)


SIZES = [(48, 64), (300, 451), (451, 300), (512, 683), (683, 512), (37, 211), (211, 37), (1, 9), (7, 1),
         (1000, 250), (250, 1000), (97, 97), (513, 511), (1024, 2048), (2048, 1024)]
SCALES = [(683, 512), (96, 48), (2048, 1024)]


def test_every_path_feeds_the_network_the_exact_paths_input(ade_model):
    """Bit-identical network input on a sweep of sizes and aspect ratios (down- and
    up-scaling, no resize at all), flipped or not, one image or a batch of two."""
    rng = np.random.default_rng(0)
    exact = Predictor(ade_model.network, ade_model.entry)
    others = [FastPredictor(ade_model.network, ade_model.entry, "fp32"),
              FastPredictor(ade_model.network, ade_model.entry, "bf16", FastOptions(channels_last=False))]
    checked = 0
    for height, width in SIZES:
        images = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(2)]
        for scale in SCALES:
            for flip in (False, True):
                for batch in (images[:1], images):
                    expected = exact.prepare(batch, scale, flip)
                    for other in others:
                        got = other.prepare(batch, scale, flip)
                        assert got.dtype == torch.float32 and got.shape == expected.shape
                        assert torch.equal(got, expected), (height, width, scale, flip, len(batch))
                        checked += 1
    assert checked == len(SIZES) * len(SCALES) * 2 * 2 * len(others)
    assert others[0].prepare(images, SCALES[0]).is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("model_fixture", ["ade_model", "slide_model"])
def test_fast_path_agrees_with_the_exact_path(request, model_fixture):
    model = request.getfixturevalue(model_fixture)
    exact, fast = Predictor(model.network, model.entry, "fp32"), FastPredictor(model.network, model.entry, "fp32")
    for path in PHOTOS:
        image = read_image_rgb(path)
        assert agreement(fast.predict(image).labels, exact.predict(image).labels) >= 0.995
    image = read_image_rgb(PHOTOS[0])
    assert agreement(fast.predict(image, tta=True).labels, exact.predict(image, tta=True).labels) >= 0.995


def test_bf16_fast_path_runs_on_the_cpu(ade_model):
    image = read_image_rgb(PHOTOS[1])
    result = FastPredictor(ade_model.network, ade_model.entry, "bf16").predict(image)
    assert result.labels.shape == image.shape[:2] and result.confidence.dtype == np.float32
    assert agreement(result.labels, Predictor(ade_model.network, ade_model.entry).predict(image).labels) > 0.9


@pytest.mark.parametrize("model_fixture", ["ade_model", "slide_model"])
def test_a_batch_gives_the_labels_of_one_by_one(request, model_fixture):
    model = request.getfixturevalue(model_fixture)
    images = [cv2.resize(read_image_rgb(p), (120, 90)) for p in PHOTOS]
    for predictor in (Predictor(model.network, model.entry),
                      FastPredictor(model.network, model.entry, "fp32", FastOptions(window_batch=2))):
        batched = predictor.predict_batch(images)
        for image, result in zip(images, batched):
            single = predictor.predict(image)
            # batched convolutions block their sums differently: rare near-ties may flip
            assert agreement(result.labels, single.labels) >= 0.999
            assert np.allclose(result.confidence, single.confidence, atol=1e-3)


class _FailingNetwork:
    """Raises CUDA's out-of-memory error for passes bigger than ``max_pixels`` (or always)."""

    def __init__(self, predictor, max_pixels: int | None):
        self.real, self.max_pixels, self.failures = predictor.head_outputs, max_pixels, 0

    def __call__(self, x):
        if self.max_pixels is None or x.shape[0] * x.shape[2] * x.shape[3] > self.max_pixels:
            self.failures += 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 12.00 GiB")
        return self.real(x)


def test_out_of_memory_in_whole_mode_falls_back_to_sliding_windows(monkeypatch, ade_checkpoint):
    entry = small_entry(WHOLE_ADE, base_scale=(96, 48), crop=(32, 32), stride=None)  # whole mode, 32x32 crops
    register_entry(monkeypatch, entry)
    model = init_model(WHOLE_ADE, ade_checkpoint, device="cpu")
    image = read_image_rgb(PHOTOS[1])  # 48x72 network input
    fast = FastPredictor(model.network, model.entry, "fp32")
    windows = Predictor(model.network, model.entry)
    windows.force_slide = True  # what the fallback should compute: 32x32 windows, stride 21
    expected = windows.predict(image).labels
    fast.head_outputs = failing = _FailingNetwork(fast, max_pixels=32 * 32)
    result = fast.predict(image)
    assert failing.failures >= 1
    assert "Not enough GPU memory" in result.note and "sliding windows" in result.note
    assert result.labels.shape == image.shape[:2]
    assert agreement(result.labels, expected) > 0.99
    assert not fast.force_slide and fast.window_batch == FastOptions().window_batch  # restored


def test_out_of_memory_everywhere_falls_back_to_the_cpu(ade_model):
    images = [read_image_rgb(PHOTOS[0])] * 2
    fast = FastPredictor(ade_model.network, ade_model.entry, "fp32")
    fast.head_outputs = _FailingNetwork(fast, max_pixels=None)
    results = fast.predict_batch(images)  # the batch is split, then each image goes to the CPU
    expected = Predictor(ade_model.network, ade_model.entry).predict(images[0]).labels
    assert len(results) == 2
    for result in results:
        assert "on the CPU" in result.note
        assert np.array_equal(result.labels, expected)


def test_other_errors_are_not_swallowed(ade_model):
    fast = FastPredictor(ade_model.network, ade_model.entry, "fp32")

    def broken(x):
        raise RuntimeError("shape mismatch")

    fast.head_outputs = broken
    with pytest.raises(RuntimeError, match="shape mismatch"):
        fast.predict(read_image_rgb(PHOTOS[0]))


def test_out_of_memory_errors_are_recognised():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory"))
    assert is_out_of_memory(RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"))
    assert not is_out_of_memory(RuntimeError("expected scalar type Float"))
    assert not is_out_of_memory(ValueError("out of memory"))


def test_prefetch_keeps_order_and_a_bounded_lead():
    lock, started, taken, lead = threading.Lock(), [0], [0], []

    def work(index: int) -> int:
        with lock:
            started[0] += 1
            lead.append(started[0] - taken[0])
        time.sleep(0.001)
        return index * index

    results = []
    for value in prefetch(work, 60, workers=3, ahead=5):
        taken[0] += 1
        results.append(value)
    assert results == [i * i for i in range(60)]
    assert max(lead) <= 5 + 1


def test_folder_run_writes_masks_in_order_and_reports_failures(ade_model, tmp_path):
    sources = []
    for index, path in enumerate(PHOTOS):
        target = tmp_path / "in" / f"{index}.png"
        target.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(target), cv2.imread(str(path)))
        sources.append(target)
    broken = tmp_path / "in" / "broken.png"
    broken.write_bytes(b"not a png")
    sources.insert(1, broken)
    targets = {s: tmp_path / "out" / s.name for s in sources}
    blocked = tmp_path / "out" / "2.png"
    blocked.mkdir(parents=True)  # a folder where the mask should go: the write fails
    outcomes = list(segment_files(ade_model, sources, targets, readers=2, writers=2))
    assert [o.source for o in outcomes] == sources
    assert [o.ok for o in outcomes] == [True, False, True, False]
    assert "cannot read image" in outcomes[1].error and "could not write" in outcomes[3].error
    for outcome in (outcomes[0], outcomes[2]):
        expected = ade_model.predictor().predict(read_image_rgb(outcome.source)).labels
        assert np.array_equal(read_index_mask(outcome.target), expected)
        assert 0.0 <= outcome.uncertainty <= 1.0


def test_cuda_math_flags_are_scoped_to_the_call():
    from gcnet_core.predict.acceleration import cuda_math

    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.benchmark)
    with cuda_math(tf32=not saved[0], autotune=not saved[2]):
        assert torch.backends.cudnn.allow_tf32 is (not saved[0]) and torch.backends.cudnn.benchmark is (not saved[2])
        assert torch.backends.cuda.matmul.allow_tf32 is (not saved[0])
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.benchmark) == saved


def test_an_fp16_overflow_is_redone_in_fp32(ade_model):
    image = read_image_rgb(PHOTOS[2])
    fast = FastPredictor(ade_model.network, ade_model.entry, "fp32")
    fast.precision = "fp16"  # as on a GPU; the half network is replaced by one that overflows

    def overflowing(x):  # logits and features, as the inference copy gives them
        return torch.full((x.shape[0], ade_model.network.num_classes, 4, 4), float("inf")), torch.zeros(x.shape[0], 512, 4, 4)

    fast._forward = overflowing
    result = fast.predict(image)
    assert "fp16 overflowed" in result.note
    assert np.array_equal(result.labels, Predictor(ade_model.network, ade_model.entry, "fp32").predict(image).labels)
    fast._forward = fast._eager_forward  # a healthy pass afterwards carries no note
    fast.precision = "fp32"
    assert fast.predict(image).note is None


def test_a_4000x6000_photo_goes_through_both_paths(monkeypatch, tmp_path):
    """A 24-megapixel photo: the logits are resized to full size a few classes at a time,
    so memory stays bounded; both paths give the full-size map and agree."""
    from helpers import random_checkpoint

    name = "gcnet_r50-d8_4xb4-20k_voc12aug-512x512"
    entry = small_entry(name, base_scale=(64, 48))
    register_entry(monkeypatch, entry)
    model = init_model(name, random_checkpoint(entry, tmp_path / "voc.pth", seed=4), device="cpu")
    photo = read_image_rgb(SHARED_IMAGES / "chelsea.png")
    image = cv2.resize(photo, (6000, 4000), interpolation=cv2.INTER_LINEAR)
    exact = Predictor(model.network, model.entry).predict(image)
    fast = FastPredictor(model.network, model.entry, "fp32").predict(image)
    assert exact.labels.shape == fast.labels.shape == (4000, 6000)
    assert fast.confidence.shape == (4000, 6000) and fast.note is None
    assert agreement(fast.labels, exact.labels) >= 0.99


def test_benchmark_command_reports_every_row(monkeypatch, ade_checkpoint, tmp_path, capsys):
    import json

    from gcnet_core.cli.main import main

    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(64, 48)))
    monkeypatch.setattr("gcnet_core.predict.mmseg_bridge.mmseg_available", lambda: False)
    out = tmp_path / "bench.json"
    assert main(["benchmark", "--model", WHOLE_ADE, "--checkpoint", str(ade_checkpoint), "--device", "cpu",
                 "--images", "2", "--warmup", "1", "--folder", "3", "--ablation", "--mmseg", "--size", "45x30",
                 "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fp32 eager (published method)" in text and "folder: decode + fast + PNG write (3 files)" in text
    assert "GFLOP/s" in text and "of peak" in text and "first s" in text
    report = json.loads(out.read_text())
    assert report["input_size"] == [30, 45]  # resized by every path to the 64x48 test scale
    rows = report["rows"]
    modes = [row["mode"] for row in rows]
    assert modes[0].startswith("fp32 eager") and modes[1].startswith("fast path, fp32")
    assert modes[2].startswith("engine, fp32 onnxruntime")
    assert any("without fold bn" in m for m in modes) and any(m.strip().startswith("in bf16") for m in modes)
    assert all(len(row["seconds"]) in (2, 3) and row["images_per_second"] > 0 for row in rows)
    assert rows[1]["agreement"] >= 0.999 and rows[2]["agreement"] >= 0.999
    for row in rows[:3]:  # set up one after the other, then timed in turns
        assert row["first_image_seconds"] > 0 and row["peak_memory_bytes"] is not None
        assert row["achieved_gflops"] > 0
    # the network's counted work: a 64x43 input of the R50-D8 GCNet is a few GFLOP
    assert 1e9 < report["flops_per_image"] < 1e11
    assert report["peak_gflops"] is None or report["peak_gflops"] > 1
    assert any("mmseg: not installed" in note for note in report["notes"])
    assert any(note.startswith("engine: one-off export") for note in report["notes"])
