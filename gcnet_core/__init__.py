"""GCNet semantic segmentation that reproduces mmsegmentation's zoo checkpoints.

Public API (mirrors mmsegmentation's): :func:`init_model` and :func:`inference`.
This package never imports Qt.
"""

import importlib as _importlib

from . import _aliases

_aliases.install()
# Bind the old module name ``gcnet_core.inference`` now, so that a later ``import gcnet_core.inference``
# finds it loaded and never rebinds the package attribute, which is the function below.
_importlib.import_module("gcnet_core.inference")

from .api import build_model, init_model  # noqa: E402
from .predict.exact import SegmentationResult  # noqa: E402
from .predict.running import inference, inference_many  # noqa: E402
from .version import read_version  # noqa: E402
from .weights.zoo import ZOO, get_entry  # noqa: E402

__version__ = read_version()  # pyproject.toml's, through the installed metadata

__all__ = ["ZOO", "SegmentationResult", "build_model", "get_entry", "inference", "inference_many", "init_model"]
