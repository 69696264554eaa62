"""GCNet semantic segmentation that reproduces mmsegmentation's zoo checkpoints.

Public API (mirrors mmsegmentation's): :func:`init_model` and :func:`inference`.
This package never imports Qt.
"""

from .api import build_model, init_model
from .predict.loaded import LoadedModel
from .predict.predictor import SegmentationResult
from .predict.running import inference, inference_many
from .version import read_version
from .weights.zoo import ZOO, get_entry

__version__ = read_version()  # pyproject.toml's, through the installed metadata

__all__ = ["ZOO", "LoadedModel", "SegmentationResult", "build_model", "get_entry", "inference", "inference_many",
           "init_model"]
