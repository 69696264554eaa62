"""Checkpoints a person imported that are not a zoo entry's official file.

A fine-tuned or third-party GCNet checkpoint is copied into the cache (``imported/``) with
a small JSON note naming the zoo architecture it runs on, so it is listed again after a
restart and works offline; the original file may be deleted. Before it is kept, the file
is matched to the zoo entry whose class count and depth it has (an ADE20K file imported
while a Cityscapes entry is selected runs as ADE20K) and loaded once, so a file that
cannot run is refused at import with the reason, never listed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..files.atomic import atomic_link_or_copy, atomic_write_text
from ..paths import cache_folder
from .checkpoint import checkpoint_depth, checkpoint_num_classes, read_checkpoint
from .download import CheckpointError, file_sha256
from .zoo import ZOO, ZooEntry, get_entry

IMPORTED_DIR = "imported"
NOTE_FORMAT = "gcnet-imported-checkpoint"


@dataclass(frozen=True)
class ImportedCheckpoint:
    label: str  # the name shown and recorded in projects (the file's stem)
    checkpoint: Path  # the copy in the cache
    base: str  # zoo entry whose architecture runs it
    source: str = ""  # the file name it was imported from


def imported_dir() -> Path:
    return cache_folder() / IMPORTED_DIR


def matching_entry(path: str | os.PathLike, preferred: ZooEntry) -> ZooEntry:
    """The zoo entry a checkpoint fits: the one it names (our fine-tuned files), else the
    preferred entry when its classes and depth fit, else another entry that fits."""
    path = Path(path)
    state, meta = read_checkpoint(path)
    base = meta.get("base_model")
    if base:
        try:
            return get_entry(str(base))
        except KeyError:
            raise CheckpointError(f"{path.name} was trained from {base!r}, a model this program does not know") from None
    classes, depth = checkpoint_num_classes(state), checkpoint_depth(state)
    if classes is None or depth is None:
        raise CheckpointError(f"{path.name} is not a GCNet segmentation checkpoint (no ResNet-50/101 backbone "
                              "with a decode head in its weights)")
    fits = [e for e in ZOO if e.num_classes == classes and e.depth == depth]
    if not fits:
        known = ", ".join(sorted({f"{e.dataset.title.split()[0]} {e.num_classes}" for e in ZOO}))
        raise CheckpointError(f"{path.name} predicts {classes} classes with a ResNet-{depth}: no zoo entry "
                              f"has that many ({known}) and the file does not name the model it was trained from")
    if preferred in fits:
        return preferred
    same_recipe = [e for e in fits if e.iterations == preferred.iterations]
    return (same_recipe or fits)[0]


def _label_for(path: Path, sha: str, folder: Path) -> str:
    stem = re.sub(r"[^\w.-]+", "_", path.stem) or "checkpoint"
    note = folder / f"{stem}.json"
    if note.exists():
        try:
            if json.loads(note.read_text(encoding="utf-8")).get("sha256") == sha:
                return stem  # the same file again
        except (OSError, ValueError):
            pass
        return f"{stem}-{sha[:8]}"
    return stem


def keep_checkpoint(path: str | os.PathLike, entry: ZooEntry) -> ImportedCheckpoint:
    """Keep ``path`` in the cache as a checkpoint running on ``entry`` (a hard link or a copy,
    through a temporary name; the note is written last)."""
    path = Path(path).expanduser()
    folder = imported_dir()
    folder.mkdir(parents=True, exist_ok=True)
    sha = file_sha256(path)
    label = _label_for(path, sha, folder)
    target = folder / f"{label}.pth"
    if not target.exists():
        atomic_link_or_copy(path, target)  # never half there, even if the copy is cut
    note = {"format": NOTE_FORMAT, "label": label, "base_model": entry.name, "source": path.name, "sha256": sha}
    atomic_write_text(folder / f"{label}.json", json.dumps(note, indent=2) + "\n")
    return ImportedCheckpoint(label, target, entry.name, path.name)


def list_imported() -> list[ImportedCheckpoint]:
    """Every kept checkpoint whose note and file are there and whose base entry is known."""
    folder = imported_dir()
    found = []
    for note in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            data = json.loads(note.read_text(encoding="utf-8"))
            entry = get_entry(str(data["base_model"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable or from a newer program: not listed, not deleted
        checkpoint = note.with_suffix(".pth")
        if data.get("format") == NOTE_FORMAT and checkpoint.is_file():
            found.append(ImportedCheckpoint(str(data.get("label") or note.stem), checkpoint, entry.name,
                                            str(data.get("source", ""))))
    return found
