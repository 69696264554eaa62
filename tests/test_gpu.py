"""CUDA paths: device choice, mixed precision agreement, slide on the GPU (skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gcnet_core import inference, init_model
from gcnet_core.benchmark import run_benchmark
from gcnet_core.inference import resolve_device

from helpers import SHARED_IMAGES, SLIDE_CS, WHOLE_ADE, register_entry, small_entry

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
pytestmark = [pytest.mark.gpu, needs_cuda]


def test_auto_picks_the_gpu():
    assert resolve_device("auto").type == "cuda"


def test_cuda_fp32_matches_cpu(ade_checkpoint):
    cpu = inference(init_model(WHOLE_ADE, ade_checkpoint, device="cpu"), SHARED_IMAGES / "coffee.png", return_logits=True)
    gpu = inference(init_model(WHOLE_ADE, ade_checkpoint, device="cuda"), SHARED_IMAGES / "coffee.png", return_logits=True)
    assert (cpu.labels == gpu.labels).mean() > 0.999
    scale = np.abs(cpu.logits).max()
    assert np.abs(cpu.logits - gpu.logits).max() / scale < 1e-4  # fp32 really is fp32 (no TF32)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_agrees_with_fp32(ade_checkpoint, precision):
    fp32 = inference(init_model(WHOLE_ADE, ade_checkpoint, device="cuda"), SHARED_IMAGES / "astronaut.png")
    mixed_model = init_model(WHOLE_ADE, ade_checkpoint, device="cuda", precision=precision)
    mixed = inference(mixed_model, SHARED_IMAGES / "astronaut.png")
    assert mixed.confidence.dtype == np.float32
    assert (fp32.labels == mixed.labels).mean() > 0.99


def test_slide_entry_on_the_gpu(cityscapes_checkpoint):
    model = init_model(SLIDE_CS, cityscapes_checkpoint, device="cuda", precision="bf16")
    image = np.zeros((1024, 2048, 3), np.uint8)
    image[:, :1024] = 200
    result = inference(model, image)
    assert result.labels.shape == (1024, 2048)


def test_benchmark_reports_speed_and_memory(monkeypatch, ade_checkpoint):
    register_entry(monkeypatch, small_entry(WHOLE_ADE, base_scale=(256, 128)))
    report = run_benchmark(init_model(WHOLE_ADE, ade_checkpoint, device="cuda"), images=3, warmup=1)
    assert len(report.seconds) == 3 and report.peak_memory_bytes > 0 and "images/s" in report.format()
