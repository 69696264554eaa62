"""A model's labels for an image that is not open go into its mask file, where the rule allows.

Work-ahead results and batch (``gcnet predict``) results for images further down the list
are written here, on the project's one ordered writer thread, through the project's own
file methods. The file on disk is the truth for such an image, so the rule
(:func:`~gcnet_core.project.overwrite.may_overwrite`) is asked with the edited pixels saved
beside it: those pixels keep the labels on disk, everything else takes the model's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files.images import ImageReadError
from ..files.masks import read_index_mask
from ..model.classes import ClassSet
from .overwrite import Permission, may_overwrite
from .store import Project

__all__ = ["discard", "edited_on_disk", "place_labels", "place_staged"]


def edited_on_disk(project: Project, rel: str, shape: tuple[int, int]) -> np.ndarray | None:
    """The pixels a person edited in ``rel``, as saved (None: no such file). A file that cannot
    be read or does not fit the image protects every pixel: nobody can tell which are a person's."""
    if not project.edited_path(rel).exists():
        return None
    try:
        edited = project.read_edited(rel)
    except ImageReadError:
        return np.ones(shape, bool)
    return edited if edited.shape == tuple(shape) else np.ones(shape, bool)


def place_labels(project: Project, rel: str, labels: np.ndarray, classes: ClassSet, *, state: str) -> Permission:
    """Write ``labels`` (ids of ``classes``, the project's) as the mask of ``rel`` where the rule
    allows: pixels a person edited keep the labels saved before. ``state`` is the image's state
    when the write was asked for. Returns the rule's answer (refused: nothing was written)."""
    permission = may_overwrite(edited_on_disk(project, rel, labels.shape), state=state)
    if not permission:
        return permission
    if permission.protected is not None:
        try:
            saved = project.read_labels(rel)
        except ImageReadError as error:
            return Permission(f"its saved mask cannot be read to keep the edited pixels ({error.reason})")
        if saved.shape != labels.shape:
            return Permission("its saved mask does not fit the image, so its edited pixels cannot be kept")
        labels = np.where(permission.protected, saved, labels)
    project.write_masks(rel, labels, None, classes)
    return permission


def place_staged(project: Project, rel: str, staged: Path, staged_prediction: Path | None, classes: ClassSet,
                 lut: np.ndarray | None, *, state: str) -> Permission:
    """Place a batch result: the mask ``staged`` (the model's class ids, mapped through ``lut``
    when given) and its prediction sidecar. A mask that needs no mapping and no edited pixel
    kept is moved into place as it is (no decoding). The staged files are gone afterwards."""
    if not staged.exists():
        return Permission("the batch wrote no mask for it")
    permission = may_overwrite(None, state=state)
    if permission and lut is None and not project.edited_path(rel).exists():
        project.adopt_labels(rel, staged)
    elif permission:
        labels = read_index_mask(staged)
        permission = place_labels(project, rel, labels if lut is None else lut[labels], classes, state=state)
    if permission and staged_prediction is not None:
        project.adopt_prediction(rel, staged_prediction)
    discard(staged, staged_prediction)
    return permission


def discard(*staged: Path | None) -> None:
    """Remove staged files nobody takes (a person got to their image first)."""
    for path in staged:
        if path is not None:
            path.unlink(missing_ok=True)
