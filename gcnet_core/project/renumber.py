"""Renumbering every saved mask of a project (a class removed) as one transaction, and the
transaction itself, which imports use too.

A crash halfway must not leave half the masks in the old numbering and half in the new (nor
half an import's masks on disk with no class table or states listing them). The new masks are
first written to a staging folder (``.gcnet/renumber-<random>``, ``.gcnet/import-<random>``);
a marker file then commits the change (:func:`commit_staged`: the new class table and the image
states it sets); only after it are the masks moved into place and the project file updated.
:func:`recover` (run by ``Project.open``) finishes a committed change and throws away an
uncommitted one, so the next open always sees the project before or after, never between.
Before the commit every replaced mask is also kept in the project's backups (``remove-class-<time>``).

The functions take the :class:`~gcnet_core.project.store.Project` whose files they change and
reach those files through it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np

from ..files.atomic import atomic_write_text
from ..files.masks import read_index_mask, write_index_mask
from ..model.classes import IGNORE_INDEX, ClassSet
from .class_table import classes_from_json, classes_to_json

log = logging.getLogger("gcnet_core.project")

MARKER = "commit.json"  # the commit point of a staged change
STAGING_KIND = "renumber"  # staged masks: .gcnet/renumber-<random>/
STAGED_KINDS = (STAGING_KIND, "import")  # every staging folder a change may leave behind


def removal_lut(removed: int) -> np.ndarray:
    """Class ``removed`` becomes ignore, the classes after it move down by one."""
    lut = np.arange(256, dtype=np.uint8)
    lut[removed] = IGNORE_INDEX
    lut[removed + 1:IGNORE_INDEX] = np.arange(removed, IGNORE_INDEX - 1, dtype=np.uint8)
    return lut


def without_class(classes: ClassSet, index: int) -> tuple[ClassSet, np.ndarray]:
    """The class table without class ``index`` and the value map its masks need."""
    kept = ClassSet(classes.names[:index] + classes.names[index + 1:],
                    classes.palette[:index] + classes.palette[index + 1:])
    return kept, removal_lut(index)


def renumber_masks(project, lut: np.ndarray, classes: ClassSet) -> int:
    """Apply ``lut`` to every label mask of ``project`` and make ``classes`` its class table,
    all or nothing across a crash. Returns how many masks were rewritten."""
    staging = project.staging_folder(STAGING_KIND)
    files = project.label_files()
    for path in files:  # phase 1: nothing of the project changes yet
        write_index_mask(staging / path.relative_to(project.labels_root), lut[read_index_mask(path)], classes)
    backup = project.backup("remove-class")
    for path in files:
        backup.keep(path)
    commit_staged(project, staging, classes)
    return len(files)


def commit_staged(project, staging: Path, classes: ClassSet, records: dict | None = None) -> None:
    """Commit the masks staged in ``staging`` (laid out as under ``project.labels_root``) with
    ``classes`` as the class table and ``records`` (relative path -> image record) merged into the
    project's images: after the marker is written the change completes, even across a crash."""
    marker = {"staging": staging.name, "classes": classes_to_json(classes), "images": records or {}}
    atomic_write_text(project.data_root / MARKER, json.dumps(marker) + "\n")  # the commit point
    _finish(project, staging, classes, records or {})


def is_committed(project) -> bool:
    """A staged change was committed and is not finished yet (the next open finishes it)."""
    return (project.data_root / MARKER).is_file()


def recover(project) -> str | None:
    """Finish a committed renumbering or roll back one that was not; says which, or None."""
    data = project.data_root
    if not data.is_dir():
        return None
    marker_path = data / MARKER
    if marker_path.is_file():
        marker = json.loads(marker_path.read_text(encoding="utf-8"))
        classes = classes_from_json(marker["classes"])
        _finish(project, data / str(marker["staging"]), classes, dict(marker.get("images") or {}))
        log.warning("finished a change of the masks of %s (%s, interrupted last time)", project.root,
                    str(marker["staging"]).split("-")[0])
        return "finished"
    stale = [p for p in data.iterdir() if p.is_dir() and p.name.split("-")[0] in STAGED_KINDS]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    if stale:
        log.warning("rolled back an interrupted %s of %s: the project is as it was before",
                    stale[0].name.split("-")[0], project.root)
        return "rolled back"
    return None


def _finish(project, staging: Path, classes: ClassSet, records: dict) -> None:
    """Phase 2 (idempotent): the class table and records into the project file, the masks into place."""
    project.save_classes(classes, records)
    if staging.is_dir():
        for folder, _dirs, names in os.walk(staging):
            for name in names:
                staged = Path(folder, name)
                target = project.labels_root / staged.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, target)
        shutil.rmtree(staging, ignore_errors=True)
    (project.data_root / MARKER).unlink(missing_ok=True)
