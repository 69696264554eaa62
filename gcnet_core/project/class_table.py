"""The class table as the project's files store it: ``[{"name": ..., "color": [r, g, b]}, ...]``.

Both the project file and a class removal's commit marker hold it, so both read it here.
"""

from __future__ import annotations

from typing import Any

from ..model.classes import ClassSet


def classes_to_json(classes: ClassSet) -> list[dict[str, Any]]:
    """The class table as JSON-ready records, in class-index order."""
    return [{"name": name, "color": list(color)} for name, color in zip(classes.names, classes.palette)]


def classes_from_json(items: Any) -> ClassSet:
    """The class table of :func:`classes_to_json` records; ValueError / KeyError / TypeError when malformed."""
    names = tuple(str(item["name"]) for item in items)
    palette = tuple(tuple(int(c) for c in item["color"]) for item in items)
    if any(len(color) != 3 for color in palette):
        raise ValueError("each class colour must be [r, g, b]")
    return ClassSet(names, palette)  # type: ignore[arg-type]
