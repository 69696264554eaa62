"""An untrained GCNet shaped as a zoo entry: the one place a network is put together."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .classes import ClassSet
from .segmentor import GCNet

if TYPE_CHECKING:  # the entry is plain data from gcnet_core.weights.zoo; no import at run time
    from ..weights.zoo import ZooEntry


def build_model(entry: "ZooEntry", classes: ClassSet | None = None, with_auxiliary_head: bool = False) -> GCNet:
    """An untrained GCNet shaped as ``entry`` (depth, align_corners), for ``classes``."""
    return GCNet(len(classes or entry.classes), entry.depth, entry.align_corners, with_auxiliary_head)


__all__ = ["build_model"]
