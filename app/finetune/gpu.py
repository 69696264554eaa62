"""Sharing one GPU between a training process and interactive inference.

While a fine-tuning worker trains on a CUDA device, the window's inference keeps using
that GPU only if enough memory is free for it; otherwise it runs on the CPU. Either way
the status bar says which device is used and why.

The free memory is asked of NVML (the driver's management library, through
``nvidia-ml-py``), never of torch: ``torch.cuda.mem_get_info`` creates a CUDA context of
hundreds of MB in the window's process, on the very GPU training needs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

log = logging.getLogger("gcnet_annotator.gpu")

#: Free GPU memory below which interactive inference moves to the CPU while training runs
#: (an R50/R101 GCNet forward pass on a 2048x1024 image in fp32 peaks around 2-3 GiB).
INFERENCE_BYTES = 3 * 2**30


def nvml_index(device: str) -> int | str:
    """The NVML index (or UUID) of a torch device name, through ``CUDA_VISIBLE_DEVICES``."""
    ordinal = int(device.split(":", 1)[1]) if ":" in device else 0
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if not visible or ordinal >= len(visible):
        return ordinal
    chosen = visible[ordinal]
    return int(chosen) if chosen.isdigit() else chosen


def cuda_free_bytes(device: str) -> int | None:
    """Free memory on a CUDA device as the driver sees it (all processes), or None when
    NVML cannot tell (no NVIDIA driver, no ``nvidia-ml-py``). Creates no CUDA context."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no library or no driver: unknown
        return None
    try:
        which = nvml_index(device)
        handle = (pynvml.nvmlDeviceGetHandleByUUID(which) if isinstance(which, str)
                  else pynvml.nvmlDeviceGetHandleByIndex(which))
        return int(pynvml.nvmlDeviceGetMemoryInfo(handle).free)
    except Exception:  # noqa: BLE001 - a device that vanished, a MIG slice NVML will not name
        log.debug("NVML could not report the free memory of %s", device, exc_info=True)
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


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


__all__ = ["GpuShare", "INFERENCE_BYTES", "cuda_free_bytes", "nvml_index"]
