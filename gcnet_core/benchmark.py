"""Inference speed timed the way mmsegmentation times its published fps (SPEC §8.1).

Batch 1, the entry's single-scale test input, the first ``warmup`` images discarded; each
timed image includes the host-to-device copy, the network, both resizes back to the
original size, argmax and the copy of the labels to the CPU. Decoding is excluded.
"""

from __future__ import annotations

import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

from .imageio import read_image_rgb
from .inference import predictor_for, rescale_size

SAMPLES = Path(__file__).resolve().parent.parent / "resources" / "samples"


@dataclass
class BenchmarkReport:
    model: str
    device: str
    precision: str
    input_size: tuple[int, int]  # (h, w) of the images fed in
    seconds: list[float] = field(default_factory=list)
    peak_memory_bytes: int = 0
    memory_kind: str = ""

    @property
    def images_per_second(self) -> float:
        return len(self.seconds) / sum(self.seconds)

    def format(self) -> str:
        ms = [s * 1000 for s in self.seconds]
        return (
            f"model      {self.model}\n"
            f"device     {self.device} ({self.precision})\n"
            f"input      {self.input_size[1]}x{self.input_size[0]} (w x h), batch 1, {len(ms)} timed images\n"
            f"speed      {self.images_per_second:.2f} images/s, {statistics.mean(ms):.1f} ms/image "
            f"(median {statistics.median(ms):.1f}, min {min(ms):.1f})\n"
            f"peak mem   {self.peak_memory_bytes / 2**20:.0f} MiB ({self.memory_kind})"
        )


def test_input_size(entry) -> tuple[int, int]:
    """(h, w) of a typical test image: 1024x2048 for Cityscapes, short side 512 (4:3) otherwise."""
    if entry.dataset.key == "cityscapes":
        return 1024, 2048
    width, height = rescale_size(500, 375, entry.test_scale)
    return height, width


def sample_images(size: tuple[int, int], count: int = 5) -> list[np.ndarray]:
    """The bundled photographs resized to ``size`` (different content, same shape)."""
    paths = sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".png", ".jpg"))[:count]
    if not paths:
        rng = np.random.default_rng(0)
        return [rng.integers(0, 256, (*size, 3), dtype=np.uint8)]
    return [cv2.resize(read_image_rgb(p), (size[1], size[0]), interpolation=cv2.INTER_AREA) for p in paths]


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def run_benchmark(model, images: int = 50, warmup: int = 5) -> BenchmarkReport:
    """Time ``images`` single-image predictions after ``warmup`` untimed ones."""
    predictor = predictor_for(model)
    device = predictor.device
    size = test_input_size(model.entry)
    inputs = sample_images(size)
    report = BenchmarkReport(model.entry.name, device_name(device), predictor.precision, size)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = False  # as mmsegmentation's benchmark script
        torch.cuda.reset_peak_memory_stats(device)
    for index in range(warmup + images):
        image = inputs[index % len(inputs)]
        _synchronize(device)
        start = time.perf_counter()
        predictor.predict_batch([image])
        _synchronize(device)
        if index >= warmup:
            report.seconds.append(time.perf_counter() - start)
    if device.type == "cuda":
        report.peak_memory_bytes, report.memory_kind = torch.cuda.max_memory_allocated(device), "CUDA allocated"
    else:
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux, bytes on macOS
        report.peak_memory_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        report.memory_kind = "process peak RSS"
    return report


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
