"""An untrained GCNet shaped as a zoo entry: the one place a network is put together."""

from __future__ import annotations

from typing import Protocol

from .classes import ClassSet
from .segmentor import GCNet


class NetworkShape(Protocol):
    """What a network is built from: a zoo entry (``gcnet_core.weights.zoo.ZooEntry``) is one."""

    @property
    def depth(self) -> int: ...
    @property
    def align_corners(self) -> bool: ...
    @property
    def classes(self) -> ClassSet: ...


def build_model(entry: NetworkShape, classes: ClassSet | None = None, with_auxiliary_head: bool = False) -> GCNet:
    """An untrained GCNet shaped as ``entry`` (depth, align_corners), for ``classes``."""
    return GCNet(len(classes or entry.classes), entry.depth, entry.align_corners, with_auxiliary_head)


__all__ = ["NetworkShape", "build_model"]
