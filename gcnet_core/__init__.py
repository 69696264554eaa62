"""GCNet semantic segmentation that reproduces mmsegmentation's zoo checkpoints.

Public API (mirrors mmsegmentation's): :func:`init_model` and :func:`inference`.
This package never imports Qt. Names are imported lazily, so ``gcnet --version`` or
``gcnet models`` start without loading torch.
"""

from importlib import import_module

from .version import read_version

__version__ = read_version()  # pyproject.toml's, through the installed metadata

_EXPORTS = {
    "build_model": "api", "init_model": "api",
    "SegmentationResult": "inference", "inference": "inference", "inference_many": "inference",
    "ZOO": "zoo", "get_entry": "zoo",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
