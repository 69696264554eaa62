"""Folders that hold our own outputs, so a project scan does not list them as photos.

``gcnet predict --out out/`` beside the photos made the window list every mask as an image
to annotate ("0 / 7 done" for 3 photos). Two signs mark such a folder:

* the marker file :data:`OUTPUT_MARKER` that ``gcnet predict`` and ``gcnet export`` write
  into their output folder (one line saying what wrote it);
* mask-only folders (written by anything): every image in it is single-channel and named
  after a photo in the folder above it.

:func:`skip_own_outputs` applies both to a scan's relative paths; a folder a person chose to
include is listed as usual.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Collection, Iterable
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from .atomic import atomic_write_text

__all__ = ["OUTPUT_MARKER", "mark_output_folder", "output_folder_reason", "skip_own_outputs"]

OUTPUT_MARKER = ".gcnet-output"
SINGLE_CHANNEL_MODES = {"1", "L", "P", "I", "I;16", "I;16B", "I;16L"}


def mark_output_folder(folder: str | os.PathLike[str], writer: str) -> None:
    """Create ``folder`` if needed and mark it as ``writer``'s output (e.g. "gcnet predict")."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / OUTPUT_MARKER, f"{writer} output: not photos to annotate\n")


def output_folder_reason(folder: Path, images: Collection[str], stems_above: Collection[str]) -> str | None:
    """Why ``folder`` (holding the image files named ``images``) is our output, or None.

    ``stems_above`` are the stems of the images in the folder above it."""
    marker = folder / OUTPUT_MARKER
    if marker.is_file():
        try:
            line = marker.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            line = []
        writer = line[0].split(" output")[0].strip() if line else ""
        return f"{writer or 'gcnet'} output"
    if images and all(Path(name).stem in stems_above for name in images) \
            and all(_single_channel(folder / name) for name in images):
        return "masks of the images beside it"
    return None


def skip_own_outputs(root: Path, rels: Iterable[str],
                     include: Collection[str] = ()) -> tuple[list[str], dict[str, str]]:
    """``rels`` (posix paths under ``root``) without those inside output folders.

    Returns the kept paths (in the given order) and ``{folder: reason}`` for each skipped
    folder (posix, relative to ``root``); a skipped folder's subfolders go with it. Folders in
    ``include`` (and their subfolders) are never skipped."""
    rels = list(rels)
    by_folder: dict[str, list[str]] = defaultdict(list)
    for rel in rels:
        by_folder[PurePosixPath(rel).parent.as_posix()].append(PurePosixPath(rel).name)
    stems = {folder: {Path(name).stem for name in names} for folder, names in by_folder.items()}
    candidates = {ancestor.as_posix() for folder in by_folder
                  for ancestor in (PurePosixPath(folder), *PurePosixPath(folder).parents)
                  if ancestor.as_posix() != "."}  # an export's marker sits above its image folders
    skipped: dict[str, str] = {}
    for folder in sorted(candidates):
        if _inside(folder, include) or _inside(folder, skipped):
            continue
        parent = PurePosixPath(folder).parent.as_posix()
        reason = output_folder_reason(root / folder, by_folder.get(folder, []), stems.get(parent, set()))
        if reason is not None:
            skipped[folder] = reason
    kept = [rel for rel in rels if not _inside(PurePosixPath(rel).parent.as_posix(), skipped)]
    return kept, skipped


def _inside(folder: str, folders: Collection[str]) -> bool:
    """``folder`` is one of ``folders`` or below one of them."""
    return any(folder == other or folder.startswith(other + "/") for other in folders)


def _single_channel(path: Path) -> bool:
    """The image's header says one channel (a mask), not a photo. Unreadable: not a mask."""
    try:
        with Image.open(path) as image:
            return image.mode in SINGLE_CHANNEL_MODES
    except (OSError, UnidentifiedImageError, ValueError):
        return False
