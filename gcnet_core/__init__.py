"""GCNet semantic segmentation that reproduces mmsegmentation's zoo checkpoints.

Public API (mirrors mmsegmentation's): :func:`init_model` and :func:`inference`.
This package never imports Qt.
"""

__version__ = "0.1.0"
