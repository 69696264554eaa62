"""A model's labels for an image that is not open go into its mask file, where the rule allows.

Work-ahead results and batch (``gcnet predict``) results for images further down the list
are written here, on the project's one ordered writer thread. The file on disk is the truth
for such an image, so the rule (:func:`~gcnet_core.project.overwrite.may_overwrite`) is asked
with the edited pixels saved beside it: those pixels keep the labels on disk, everything else
takes the model's. Every write is atomic (:mod:`gcnet_core.files.atomic`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..files.atomic import fsync_dir
from ..files.images import ImageReadError
from ..files.masks import read_index_mask, write_index_mask
from ..model.classes import ClassSet
from .overwrite import Permission, may_overwrite
from .store import Project

__all__ = ["ImageFiles", "discard", "place_labels", "place_staged", "read_edited"]


@dataclass(frozen=True)
class ImageFiles:
    """Where one image's mask, edited pixels and prediction sidecar live (worked out on the
    UI thread, where the project is changed, and handed to the writer thread)."""

    labels: Path
    edited: Path
    prediction: Path

    @classmethod
    def of(cls, project: Project, rel: str) -> "ImageFiles":
        return cls(project.label_path(rel), project.edited_path(rel), project.prediction_path(rel))


def read_edited(files: ImageFiles, shape: tuple[int, int]) -> np.ndarray | None:
    """The pixels a person edited, as saved (None: no such file). A file that cannot be read
    or does not fit the image protects every pixel: nobody can tell which are a person's."""
    if not files.edited.exists():
        return None
    try:
        edited = read_index_mask(files.edited)
    except ImageReadError:
        return np.ones(shape, bool)
    return edited > 0 if edited.shape == tuple(shape) else np.ones(shape, bool)


def place_labels(files: ImageFiles, labels: np.ndarray, classes: ClassSet, *, state: str) -> Permission:
    """Write ``labels`` (the project's class ids) as the image's mask where the rule allows:
    pixels a person edited keep the labels saved before. ``state`` is the image's state when
    the write was asked for. Returns the rule's answer (refused: nothing was written)."""
    permission = may_overwrite(read_edited(files, labels.shape), state=state)
    if not permission:
        return permission
    if permission.protected is not None:
        try:
            saved = read_index_mask(files.labels)
        except ImageReadError as error:
            return Permission(f"its saved mask cannot be read to keep the edited pixels ({error.reason})")
        if saved.shape != labels.shape:
            return Permission("its saved mask does not fit the image, so its edited pixels cannot be kept")
        labels = np.where(permission.protected, saved, labels)
    write_index_mask(files.labels, labels, classes)
    return permission


def place_staged(files: ImageFiles, staged: Path, staged_prediction: Path | None, classes: ClassSet,
                 lut: np.ndarray | None, *, state: str) -> Permission:
    """Place a batch result: the mask ``staged`` (model class ids, mapped through ``lut`` when
    given) and its prediction sidecar. A mask that needs no mapping and no edited pixel kept
    is moved into place as it is (no decoding). The staged files are gone afterwards."""
    if not staged.exists():
        return Permission("the batch wrote no mask for it")
    permission = may_overwrite(None, state=state)
    if permission and lut is None and not files.edited.exists():
        _move(staged, files.labels)
    elif permission:
        labels = read_index_mask(staged)
        permission = place_labels(files, labels if lut is None else lut[labels], classes, state=state)
    if permission and staged_prediction is not None and staged_prediction.exists():
        _move(staged_prediction, files.prediction)
    discard(staged, staged_prediction)
    return permission


def discard(*staged: Path | None) -> None:
    """Remove staged files nobody takes (a person got to their image first)."""
    for path in staged:
        if path is not None:
            path.unlink(missing_ok=True)


def _move(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target`` (one file system: the staging folder is in the project)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    fsync_dir(target.parent)
