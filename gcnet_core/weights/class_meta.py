"""The class set a checkpoint carries in its ``meta`` (0.x ``CLASSES``/``PALETTE``, 1.x ``dataset_meta``)."""

from __future__ import annotations

from typing import Any, Mapping

from ..model.classes import ClassSet


def classes_from_meta(meta: Mapping[str, Any], num_classes: int | None) -> ClassSet | None:
    """Class names and palette stored in a checkpoint (0.x ``CLASSES``/``PALETTE`` or 1.x
    ``dataset_meta``), when they match the number of classes the weights predict."""
    dataset_meta = meta.get("dataset_meta") if isinstance(meta.get("dataset_meta"), Mapping) else {}
    names = meta.get("CLASSES") or dataset_meta.get("classes")
    palette = meta.get("PALETTE") or dataset_meta.get("palette")
    if not names or len(names) != num_classes:
        return None
    if not palette or len(palette) != len(names):
        palette = [tuple(int(c) for c in _default_colour(i)) for i in range(len(names))]
    return ClassSet(tuple(str(n) for n in names), tuple(tuple(int(c) for c in rgb) for rgb in palette))


def _default_colour(index: int) -> tuple[int, int, int]:
    """The PASCAL-style bit-interleaved colour map, for class sets saved without a palette."""
    r = g = b = 0
    for shift in range(8):
        r |= ((index >> 0) & 1) << (7 - shift)
        g |= ((index >> 1) & 1) << (7 - shift)
        b |= ((index >> 2) & 1) << (7 - shift)
        index >>= 3
    return r, g, b


__all__ = ["classes_from_meta"]
