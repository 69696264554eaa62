"""Renumbering every saved mask of a project after a class was removed (runs off the UI thread)."""

from __future__ import annotations

import numpy as np

from gcnet_core.model.classes import IGNORE_INDEX, ClassSet
from gcnet_core.files.masks import read_index_mask, write_index_mask
from gcnet_core.project.store import EDITED_DIR, Project


def removal_lut(removed: int) -> np.ndarray:
    """Class ``removed`` becomes ignore, the classes after it move down by one."""
    lut = np.arange(256, dtype=np.uint8)
    lut[removed] = IGNORE_INDEX
    lut[removed + 1:IGNORE_INDEX] = np.arange(removed, IGNORE_INDEX - 1, dtype=np.uint8)
    return lut


def remap_project_masks(project: Project, lut: np.ndarray, classes: ClassSet) -> int:
    """Apply ``lut`` to every label file under ``labels/`` (not edited masks nor staging
    folders) and embed the new palette; each file is replaced atomically. Returns the count."""
    count = 0
    for path in sorted(project.labels_root.rglob("*.png")):
        rel_parts = path.relative_to(project.labels_root).parts
        if rel_parts[0] == EDITED_DIR or rel_parts[0].startswith("."):
            continue
        labels = read_index_mask(path)
        write_index_mask(path, lut[labels], classes)
        count += 1
    return count
