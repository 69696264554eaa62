"""A coarse first look: the exact recipe at a fraction of the test scale.

On a CPU a full-scale pass of an ADE20K model takes seconds; at half the scale the network
sees a quarter of the pixels, so a preview is on screen in about a quarter of the time and
the full result replaces it. Only the window uses this; batch runs, the CLI and evaluation
keep the full-scale path of :mod:`gcnet_core.predict.predictor`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .predictor import SegmentationResult, as_rgb_array

if TYPE_CHECKING:
    from .loaded import LoadedModel

PREVIEW_FRACTION = 0.5


def preview_scale(test_scale: tuple[int, int], fraction: float = PREVIEW_FRACTION) -> tuple[int, int]:
    """The test scale shrunk by ``fraction`` (each side at least 32 pixels)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"the preview fraction must be in (0, 1], not {fraction}")
    return tuple(max(32, int(side * fraction)) for side in test_scale)  # type: ignore[return-value]


@torch.inference_mode()
def preview_inference(model: "LoadedModel", image: np.ndarray | str | Path,
                      fraction: float = PREVIEW_FRACTION) -> SegmentationResult:
    """Labels, confidence and rankings at the image's size from a pass at ``fraction`` of the
    entry's test scale (single scale, no flip)."""
    rgb = as_rgb_array(image)
    predictor = model.predictor()
    size = rgb.shape[:2]
    with predictor.math_settings():
        network_pass = predictor.run(predictor.prepare([rgb], preview_scale(predictor.entry.test_scale, fraction)))
        return predictor.finish(network_pass, 0, size)  # the exact path's own resize + argmax
