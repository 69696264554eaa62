"""Renumbering every saved mask of a project (a class removed) as one transaction.

A crash halfway must not leave half the masks in the old numbering and half in the new.
The renumbered masks are first written to a staging folder; a marker file then commits
the change (with the new class table); only after it are the masks moved into place and
the project file updated. :func:`recover` (run by ``Project.open``) finishes a committed
renumbering and throws away an uncommitted one, so the next open always sees one numbering.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

from ..files.atomic import atomic_write_text
from ..files.masks import read_index_mask, write_index_mask
from ..model.classes import IGNORE_INDEX, ClassSet

log = logging.getLogger("gcnet_core.project")

MARKER = "renumber.json"
STAGING_PREFIX = "renumber-"


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


def label_files(project) -> list[Path]:
    """The project's label masks (not edited masks, predictions or other hidden folders)."""
    from .store import EDITED_DIR, LABEL_SUFFIX

    files = []
    for path in sorted(project.labels_root.rglob(f"*{LABEL_SUFFIX}")):
        parts = path.relative_to(project.labels_root).parts
        if parts[0] != EDITED_DIR and not parts[0].startswith("."):
            files.append(path)
    return files


def renumber_masks(project, lut: np.ndarray, classes: ClassSet) -> int:
    """Apply ``lut`` to every label mask of ``project`` and make ``classes`` its class table,
    all or nothing across a crash. Returns how many masks were rewritten."""
    from .store import DATA_DIR

    data = project.root / DATA_DIR
    staging = data / f"{STAGING_PREFIX}{uuid.uuid4().hex[:8]}"
    files = label_files(project)
    for path in files:  # phase 1: nothing of the project changes yet
        write_index_mask(staging / path.relative_to(project.labels_root), lut[read_index_mask(path)], classes)
    marker = {"staging": staging.name, "classes": [{"name": n, "color": list(c)}
                                                  for n, c in zip(classes.names, classes.palette)]}
    atomic_write_text(data / MARKER, json.dumps(marker) + "\n")  # the commit point
    _finish(project, staging, classes)
    return len(files)


def recover(project) -> str | None:
    """Finish a committed renumbering or roll back one that was not; says which, or None."""
    from .store import DATA_DIR, _classes_from_json

    data = project.root / DATA_DIR
    if not data.is_dir():
        return None
    marker_path = data / MARKER
    if marker_path.is_file():
        marker = json.loads(marker_path.read_text(encoding="utf-8"))
        classes = _classes_from_json(marker["classes"])
        _finish(project, data / str(marker["staging"]), classes)
        log.warning("finished renumbering the masks of %s (interrupted last time)", project.root)
        return "finished"
    stale = [p for p in data.iterdir() if p.is_dir() and p.name.startswith(STAGING_PREFIX)]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    if stale:
        log.warning("rolled back an interrupted renumbering of %s: the masks keep their numbering", project.root)
        return "rolled back"
    return None


def _finish(project, staging: Path, classes: ClassSet) -> None:
    """Phase 2 (idempotent): the class table into the project file, the masks into place."""
    from .store import DATA_DIR, PROJECT_FILE

    path = project.root / PROJECT_FILE
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
        data["classes"] = [{"name": n, "color": list(c)} for n, c in zip(classes.names, classes.palette)]
        atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    project.classes = classes
    if staging.is_dir():
        for folder, _dirs, names in os.walk(staging):
            for name in names:
                staged = Path(folder, name)
                target = project.labels_root / staged.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, target)
        shutil.rmtree(staging, ignore_errors=True)
    (project.root / DATA_DIR / MARKER).unlink(missing_ok=True)
