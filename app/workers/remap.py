"""Renumbering every saved mask of a project after a class was removed.

The work is :func:`gcnet_core.project.renumber.renumber_masks` (all or nothing across a
crash); the window runs it on its serial writer, so it is ordered with every other write.
"""

from __future__ import annotations

import numpy as np

from gcnet_core.model.classes import IGNORE_INDEX, ClassSet
from gcnet_core.project.renumber import renumber_masks
from gcnet_core.project.store import Project


def removal_lut(removed: int) -> np.ndarray:
    """Class ``removed`` becomes ignore, the classes after it move down by one."""
    lut = np.arange(256, dtype=np.uint8)
    lut[removed] = IGNORE_INDEX
    lut[removed + 1:IGNORE_INDEX] = np.arange(removed, IGNORE_INDEX - 1, dtype=np.uint8)
    return lut


def remap_project_masks(project: Project, lut: np.ndarray, classes: ClassSet) -> int:
    """Apply ``lut`` to every label file of the project and make ``classes`` its class table,
    as one transaction (see :mod:`gcnet_core.project.renumber`). Returns the count."""
    return renumber_masks(project, lut, classes)
