"""GCNet semantic segmentation that reproduces mmsegmentation's zoo checkpoints.

Public API (mirrors mmsegmentation's): :func:`init_model` and :func:`inference`.
This package never imports Qt.
"""

__version__ = "0.1.0"

from .api import build_model, init_model
from .inference import SegmentationResult, inference, inference_many
from .zoo import ZOO, get_entry

__all__ = ["ZOO", "SegmentationResult", "build_model", "get_entry", "inference", "inference_many", "init_model"]
