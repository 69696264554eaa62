"""Sharing one GPU between a training process and interactive inference.

While a fine-tuning worker trains on a CUDA device, the window's inference keeps using
that GPU only if enough memory is free for it; otherwise it runs on the CPU. Either way
the status bar says which device is used and why.
"""

from __future__ import annotations

from collections.abc import Callable

#: Free GPU memory below which interactive inference moves to the CPU while training runs
#: (an R50/R101 GCNet forward pass on a 2048x1024 image in fp32 peaks around 2-3 GiB).
INFERENCE_BYTES = 3 * 2**30


def cuda_free_bytes(device: str) -> int | None:
    """Free memory on a CUDA device as the driver sees it (all processes), or None."""
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        free, _total = torch.cuda.mem_get_info(torch.device(device if ":" in device else "cuda"))
        return int(free)
    except Exception:  # no driver, a device that vanished: treat as unknown
        return None


class GpuShare:
    """Knows on which device a training worker runs and picks the inference device."""

    def __init__(self, free_bytes: Callable[[str], int | None] = cuda_free_bytes,
                 needed_bytes: int = INFERENCE_BYTES) -> None:
        self.free_bytes = free_bytes
        self.needed_bytes = needed_bytes
        self.training_device: str | None = None  # e.g. "cuda:0" or "cpu" while a run is going

    @property
    def training_on_gpu(self) -> bool:
        return bool(self.training_device) and self.training_device.startswith("cuda")

    def inference_device(self, requested: str) -> tuple[str, str]:
        """(device to use, a note for the status bar; empty when nothing changed)."""
        if not self.training_on_gpu or requested == "cpu":
            return requested, ""
        free = self.free_bytes(self.training_device if requested == "auto" else requested)
        if free is not None and free >= self.needed_bytes:
            return requested, f"GPU shared with training ({free / 2**30:.1f} GiB free)"
        return "cpu", "CPU while training uses the GPU"


__all__ = ["GpuShare", "INFERENCE_BYTES", "cuda_free_bytes"]
