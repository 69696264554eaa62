"""What the benchmark measures besides time: a row's peak memory, the network's
floating-point work per image, and the CPU's fp32 peak to compare the achieved rate with."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from ..model.build import build_model
from .predictor import Predictor

if TYPE_CHECKING:
    from .loaded import LoadedModel

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class MemoryProbe:
    """Peak memory a block adds above what was in use when it started: CUDA memory
    allocated (exact, from the allocator) or, on the CPU, the process RSS sampled every
    few milliseconds by a thread (Linux ``/proc``; None elsewhere)."""

    def __init__(self, device: torch.device, interval: float = 0.003) -> None:
        self.device, self.interval = device, interval
        self.peak_bytes: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = self._max = 0

    def __enter__(self) -> "MemoryProbe":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
            return self
        start = _rss_bytes()
        if start is not None:
            self._start = self._max = start
            self._thread = threading.Thread(target=self._sample, name="rss-probe", daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._max = max(self._max, _rss_bytes() or 0)

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device) - self._start
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._max = max(self._max, _rss_bytes() or 0)
            self.peak_bytes = self._max - self._start


def network_flops(model: "LoadedModel", input_shape: tuple[int, ...]) -> int:
    """Floating-point operations (a multiply-add counts 2) of the exact recipe's network
    passes for one normalised input of ``input_shape`` (whole image or all its sliding
    windows), counted by torch's FlopCounterMode on a weightless copy on the meta device."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        network = build_model(model.entry, model.classes).eval()
    predictor = Predictor(network, model.entry, precision="fp32")
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        predictor.logits_at_input(torch.empty(input_shape, device="meta"))
    return int(counter.get_total_flops())


@dataclass(frozen=True)
class CpuPeak:
    """A CPU's fp32 peak: threads x clock x vector lanes x 2 (multiply + add) x FMA units."""

    threads: int
    ghz: float
    lanes: int  # fp32 lanes of the widest FMA vector (16 for AVX-512, 8 for AVX2)
    fma_units: int  # per core; 2 on most AVX2/AVX-512 server cores (assumed, not detected)
    isa: str

    @property
    def gflops(self) -> float:
        return self.threads * self.ghz * self.lanes * 2 * self.fma_units

    def describe(self) -> str:
        return (f"{self.threads} threads x {self.ghz:.2f} GHz x {self.lanes} fp32 lanes ({self.isa}) x 2 (FMA) "
                f"x {self.fma_units} FMA units = {self.gflops:.0f} GFLOP/s")


def cpu_fp32_peak(threads: int | None = None) -> CpuPeak | None:
    """The fp32 peak of the threads torch uses, from ``/proc/cpuinfo`` (None when unreadable)."""
    try:
        with open("/proc/cpuinfo") as info:
            text = info.read()
    except OSError:
        return None
    flags, mhz = set(), None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags" and not flags:
            flags = set(value.split())
        elif key.strip() == "cpu MHz" and mhz is None:
            mhz = float(value)
    if not mhz:
        return None
    if "avx512f" in flags:
        lanes, isa, fma = 16, "AVX-512", 2
    elif "avx2" in flags and "fma" in flags:
        lanes, isa, fma = 8, "AVX2+FMA", 2
    elif "avx" in flags:
        lanes, isa, fma = 8, "AVX", 1  # no fused multiply-add: mul and add ports
    else:
        lanes, isa, fma = 4, "SSE", 1
    return CpuPeak(threads or torch.get_num_threads(), mhz / 1000, lanes, fma, isa)


__all__ = ["CpuPeak", "MemoryProbe", "cpu_fp32_peak", "network_flops"]
