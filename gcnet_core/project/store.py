"""The annotation project on disk, shared by the annotator GUI and training.

A project is a folder of images. Images are found recursively, skipping hidden
folders (names starting with ``.``) and a root ``labels`` folder (the older layout's).
Beside them we write::

    <root>/
      gcnet-project.json                    the project file (below)
      .gcnet/labels/<rel>.mask              label map of image <rel>: an 8-bit indexed PNG with
                                            the class palette embedded; value = class id,
                                            255 = ignore
      .gcnet/labels/.edited/<rel>.mask      pixels a person edited: a 1-bit PNG (project/edited.py;
                                            older projects' 8-bit 0/255 files read the same)
      .gcnet/labels/.predictions/<rel>.npz  the last prediction: model labels, confidence, class
                                            rankings, model id (gcnet_core/project/predictions.py)
      .gcnet/backups/<reason>-<time>/       files kept before something replaced them, one folder
                                            per operation (project/backups.py)
      .gcnet/<kind>-<random>/               files staged before they go into place (renumbering,
                                            imports; project/renumber.py commits them)

``<rel>`` is the image path relative to the root with its suffix replaced
(``street/a.jpg`` -> ``.gcnet/labels/street/a.mask``). Two images differing only by suffix
keep their whole names (``a.jpg`` -> ``a.jpg.mask``, beside ``a.png.mask``). The files are PNGs, but neither the folder nor
the names look like dataset images to a recursive scanner run on the image folder:
mmengine's ``list_dir_or_file`` (mmsegmentation's dataset scan) walks hidden folders, so
the names end in ``.mask``, which no image suffix matches. Projects of the older layout
(``labels/<rel>.png``) are moved to this one when opened (:func:`migrate_layout`).

``gcnet-project.json``::

    {"format": "gcnet-annotator-project", "version": 1,
     "classes": [{"name": "road", "color": [128, 64, 128]}, ...],
     "model": "<zoo entry name or fine-tuned version id>" | null,
     "images": {"<relative posix path>": {"state": "new"|"predicted"|"edited"|"corrected"|"exported",
                                          "model": "<model that made the prediction>" | null,
                                          "updated": "<ISO 8601 time>",
                                          "uncertainty": <mean of 1 - confidence of the last
                                                          prediction, 0..1> (optional)}}}

Images missing from ``images`` are in state ``new``. The file is only ever replaced
atomically, and an unreadable one is reported (:class:`ProjectError`), never overwritten.

:class:`Project` owns every file listed here: the window's saver, imports, class removal and
batch placement read and write them through its methods, and nothing else composes a path
under ``.gcnet/``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..files.atomic import atomic_write_bytes, atomic_write_text, fsync_dir
from ..files.masks import read_index_mask, write_index_mask
from ..model.classes import ClassSet
from .backups import Backup
from .class_table import classes_from_json, classes_to_json
from .edited import encode_edited, read_edited
from .predictions import StoredPrediction, load_prediction, save_prediction
from .renumber import recover
from .states import STATES, keeps_uncertainty

PROJECT_FILE = "gcnet-project.json"
DATA_DIR = ".gcnet"  # everything we write besides the project file
LABELS_DIR = ".gcnet/labels"
LABEL_SUFFIX = ".mask"  # PNG data under a name no image scanner matches
BACKUPS_DIR = ".gcnet/backups"
FEATURES_DIR = ".gcnet/features"  # the decode head's features kept for live adaptation (gcnet_core.adapt)
LIVE_MODEL_DIR = ".gcnet/live-model"  # what live adaptation learnt, kept between sessions (gcnet_core.adapt.learnt)
OLD_LABELS_DIR = "labels"  # layout 1: labels/<rel>.png inside the image tree
_LAYOUT_MARK = ".gcnet/layout-2"
EDITED_DIR = ".edited"
PREDICTIONS_DIR = ".predictions"  # model outputs kept for the model-aware tools (project/predictions.py)
FORMAT_NAME = "gcnet-annotator-project"
FORMAT_VERSION = 1
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})


class ProjectError(Exception):
    """The project file cannot be read or is not a project of ours."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Project:
    """An image folder with its labels and ``gcnet-project.json`` (see module docstring)."""

    def __init__(self, root: str | os.PathLike, classes: ClassSet, model: str | None = None,
                 images: dict[str, dict[str, Any]] | None = None) -> None:
        self.root = Path(root).resolve()
        self.classes = classes
        self.model = model
        self._images: dict[str, dict[str, Any]] = dict(images or {})

    # -- on disk ------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        """The project file."""
        return self.root / PROJECT_FILE

    @property
    def data_root(self) -> Path:
        """The folder of everything we write besides the project file (``.gcnet``)."""
        return self.root / DATA_DIR

    @property
    def labels_root(self) -> Path:
        return self.root / LABELS_DIR

    @property
    def backups_root(self) -> Path:
        return self.root / BACKUPS_DIR

    @property
    def class_mappings_path(self) -> Path:
        """The class tables imports used, per source (``project.class_mapping``)."""
        return self.root / DATA_DIR / "class-mappings.json"

    @property
    def features_root(self) -> Path:
        """Where live adaptation keeps each image's features on disk (``project.feature_cache.FeatureCache``)."""
        return self.root / FEATURES_DIR

    @property
    def live_model_root(self) -> Path:
        """Where live adaptation keeps its head and recent fits between sessions (``adapt.learnt``)."""
        return self.root / LIVE_MODEL_DIR

    @classmethod
    def open(cls, root: str | os.PathLike, classes: ClassSet | None = None) -> "Project":
        """Load the project in ``root``; without a project file, a new unsaved one.

        ``classes`` are used only for a new project (default: none yet).
        """
        project = cls(root, classes or ClassSet((), ()))
        if not project.path.exists():
            return project
        try:
            migrate_layout(project.root)
        except OSError as exc:
            raise ProjectError(f"cannot move the labels of {project.root} to the {DATA_DIR} folder "
                               f"(layout migration): {exc}") from exc
        try:
            recover(project)  # a class removal or import cut short: finished or rolled back first
            data = json.loads(project.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
                raise ValueError(f"not a {FORMAT_NAME} file")
            if int(data.get("version", 0)) > FORMAT_VERSION:
                raise ValueError(f"version {data['version']} is newer than this program ({FORMAT_VERSION})")
            project.classes = classes_from_json(data.get("classes", []))
            project.model = data.get("model")
            images = data.get("images", {})
            if not isinstance(images, dict) or any(
                    not isinstance(rec, dict) or rec.get("state") not in STATES for rec in images.values()):
                raise ValueError("malformed 'images' table")
            project._images = images
        except RecursionError:  # e.g. thousands of nested JSON arrays
            raise ProjectError(f"cannot read project file {project.path}: it is nested too deeply to be "
                               "a project file (damaged or not ours)") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ProjectError(f"cannot read project file {project.path}: {exc}") from exc
        remove_leftover_temporaries(project)
        return project

    @classmethod
    def create(cls, root: str | os.PathLike, classes: ClassSet, model: str | None = None) -> "Project":
        """Start a project in ``root`` and save it; refuses to replace an existing one."""
        project = cls(root, classes, model)
        if project.path.exists():
            raise ProjectError(f"{project.path} already exists; open it instead")
        project.root.mkdir(parents=True, exist_ok=True)
        project.save()
        return project

    def save(self) -> None:
        """Write the project file atomically."""
        data = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "classes": classes_to_json(self.classes),
            "model": self.model,
            "images": dict(sorted(self._images.items())),
        }
        atomic_write_text(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def save_classes(self, classes: ClassSet, records: dict[str, dict[str, Any]] | None = None) -> None:
        """Make ``classes`` the class table and add ``records`` (relative path -> image record)
        to the images, here and in the project file, keeping the other image states the file
        holds (the last step of a class removal or an import, which may run on a copy of the
        project)."""
        records = records or {}
        if self.path.is_file():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            data["classes"] = classes_to_json(classes)
            data["images"] = dict(sorted({**data.get("images", {}), **records}.items()))
            atomic_write_text(self.path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        self.classes = classes
        self._images.update(records)

    def snapshot(self) -> "Project":
        """A copy with its own table of states, for a worker thread while this one keeps changing."""
        return Project(self.root, self.classes, self.model, {rel: dict(record) for rel, record in self.records()})

    # -- images -------------------------------------------------------------------------
    def relative(self, image: str | os.PathLike) -> str:
        """The posix path of ``image`` relative to the root (the key in the JSON)."""
        path = Path(image)
        if path.is_absolute():
            try:
                path = path.relative_to(self.root)
            except ValueError:  # e.g. given through a symlinked root
                path = path.resolve().relative_to(self.root)
        return path.as_posix()

    def image_paths(self) -> list[Path]:
        """All images under the root, sorted by relative path."""
        found: list[str] = []
        for folder, subdirs, files in os.walk(self.root):
            here = Path(folder)
            subdirs[:] = sorted(d for d in subdirs if not d.startswith(".")  # .gcnet included
                                and not (here == self.root and d == OLD_LABELS_DIR))
            found.extend((here / f).relative_to(self.root).as_posix() for f in files
                         if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_SUFFIXES)
        return [self.root / rel for rel in sorted(found)]

    def label_path(self, image: str | os.PathLike) -> Path:
        return self._file_path(self.labels_root, image, LABEL_SUFFIX)

    def edited_path(self, image: str | os.PathLike) -> Path:
        return self._file_path(self.labels_root / EDITED_DIR, image, LABEL_SUFFIX)

    def _file_path(self, folder: Path, image: str | os.PathLike, suffix: str) -> Path:
        """``folder/<rel>`` with ``suffix`` for its suffix. An image whose stem another image in
        its folder shares (``a.png`` beside ``a.jpg``) keeps its whole name (``a.png<suffix>``),
        so no two images share a file; the file such a pair shared before (``a<suffix>``) stays
        with the first of them by name until that image gets its own."""
        rel = Path(self.relative(image))
        shared = self._same_stem(rel)
        short = folder / rel.with_suffix(suffix)
        if not shared:
            return short
        own = folder / rel.with_name(rel.name + suffix)
        if rel.name == shared[0] and not own.exists() and short.exists():
            return short  # written before same-stem images had names of their own
        return own

    def _same_stem(self, rel: Path) -> list[str] | None:
        """The sorted names of the images in ``rel``'s folder that share its stem (itself
        included), or None when it has the stem alone; one listing per folder and session."""
        folders = self.__dict__.setdefault("_stems_by_folder", {})
        stems = folders.get(rel.parent)
        if stems is None:
            stems = {}
            try:
                names = os.listdir(self.root / rel.parent)
            except OSError:
                names = []
            for name in names:
                if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                    stems.setdefault(Path(name).stem, []).append(name)
            stems = folders[rel.parent] = {stem: sorted(group) for stem, group in stems.items() if len(group) > 1}
        return stems.get(rel.stem) if rel.name in stems.get(rel.stem, ()) else None

    @property
    def predictions_root(self) -> Path:
        """Where prediction sidecars live: beside the project's other files (one place to move)."""
        return self.labels_root / PREDICTIONS_DIR

    def prediction_path(self, image: str | os.PathLike) -> Path:
        return self._file_path(self.predictions_root, image, ".npz")

    def label_files(self) -> list[Path]:
        """Every label mask of the project (not edited pixels, predictions or other hidden folders)."""
        files = []
        for path in sorted(self.labels_root.rglob(f"*{LABEL_SUFFIX}")):
            parts = path.relative_to(self.labels_root).parts
            if not parts[0].startswith("."):
                files.append(path)
        return files

    # -- the image's files ----------------------------------------------------------------
    def read_labels(self, image: str | os.PathLike) -> np.ndarray:
        """The image's label mask (H, W) uint8; ImageReadError naming the file when missing or unusable."""
        return read_index_mask(self.label_path(image))

    def read_edited(self, image: str | os.PathLike) -> np.ndarray:
        """The pixels a person labelled, (H, W) bool; ImageReadError naming the file when missing or unusable."""
        return read_edited(self.edited_path(image))

    def write_masks(self, image: str | os.PathLike, labels: np.ndarray, edited: np.ndarray | None = None,
                    classes: ClassSet | None = None, *, backup: Backup | None = None,
                    staging: Path | None = None) -> None:
        """Write the image's labels (palette of ``classes``, default the project's) and, unless
        ``edited`` is None, its edited pixels, each atomically; with ``backup`` the files they
        replace are kept in it first. With ``staging`` (a :meth:`staging_folder`) the files go
        there instead, in the same places, for :func:`~gcnet_core.project.renumber.commit_staged`."""
        label_path, edited_path = self.label_path(image), self.edited_path(image)
        if backup is not None:
            backup.keep(label_path)
            if edited is not None:
                backup.keep(edited_path)
        if staging is not None:
            label_path = staging / label_path.relative_to(self.labels_root)
            edited_path = staging / edited_path.relative_to(self.labels_root)
        write_index_mask(label_path, labels, self.classes if classes is None else classes)
        if edited is not None:
            atomic_write_bytes(edited_path, encode_edited(edited))

    def read_prediction(self, image: str | os.PathLike, shape: tuple[int, int] | None = None
                        ) -> StoredPrediction | None:
        """The image's stored prediction (None: there is none); ``shape`` (H, W) is checked when
        given. PredictionFileError naming the file when it cannot be used."""
        path = self.prediction_path(image)
        return load_prediction(path, shape) if path.exists() else None

    def write_prediction(self, image: str | os.PathLike, prediction: StoredPrediction) -> None:
        """Keep the image's prediction (atomically) for the model-aware tools."""
        save_prediction(self.prediction_path(image), prediction)

    def adopt_labels(self, image: str | os.PathLike, staged: str | os.PathLike, *,
                     backup: Backup | None = None) -> bool:
        """Move a mask a batch run staged inside the project (already in the project's class
        ids) into place as the image's labels, without decoding it; with ``backup`` the mask it
        replaces is kept first. False when there is no staged file."""
        return self._adopt(Path(staged), self.label_path(image), backup)

    def adopt_prediction(self, image: str | os.PathLike, staged: str | os.PathLike) -> bool:
        """Move a sidecar a batch run staged inside the project (``gcnet predict --predictions``)
        into place as the image's prediction; False when there is no staged file."""
        return self._adopt(Path(staged), self.prediction_path(image), None)

    def _adopt(self, staged: Path, target: Path, backup: Backup | None) -> bool:
        """One rename (the staging folder is on the project's file system), made durable."""
        if not staged.exists():
            return False
        if backup is not None:
            backup.keep(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        fsync_dir(target.parent)
        return True

    def backup(self, reason: str) -> Backup:
        """The backup folder of one operation (``.gcnet/backups/<reason>-<time>/``): pass it to
        :meth:`write_masks`, or keep a file with ``Backup.keep(path)``."""
        return Backup(self.backups_root, self.labels_root, reason)

    def staging_folder(self, kind: str) -> Path:
        """A new folder name ``.gcnet/<kind>-<random>`` for files staged before they go into place
        (not created here)."""
        return self.data_root / f"{kind}-{uuid.uuid4().hex[:8]}"

    def state(self, image: str | os.PathLike) -> str:
        record = self._images.get(self.relative(image))
        return record["state"] if record else "new"

    def image_model(self, image: str | os.PathLike) -> str | None:
        """The model that produced the image's prediction, if recorded."""
        record = self._images.get(self.relative(image))
        return record.get("model") if record else None

    def set_state(self, image: str | os.PathLike, state: str, model: str | None = None) -> None:
        """Record a new state (in memory; call :meth:`save`).

        ``model`` names the model that produced the prediction; when omitted the
        previously recorded one is kept, except that ``new`` forgets it.
        """
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; expected one of {STATES}")
        key = self.relative(image)
        previous = self._images.get(key, {})
        if model is None and state != "new":
            model = previous.get("model")
        record = {"state": state, "model": model, "updated": _now()}
        if state != "new" and keeps_uncertainty(state) and previous.get("uncertainty") is not None:
            record["uncertainty"] = previous["uncertainty"]
        self._images[key] = record

    def uncertainty(self, image: str | os.PathLike) -> float | None:
        """Mean 1 - confidence of the image's last prediction (None: never predicted)."""
        record = self._images.get(self.relative(image))
        value = record.get("uncertainty") if record else None
        return float(value) if isinstance(value, (int, float)) else None

    def set_uncertainty(self, image: str | os.PathLike, value: float | None) -> None:
        """Record how unsure the model was about the image (in memory; call :meth:`save`);
        an image without a record gets one in state ``new``."""
        key = self.relative(image)
        record = self._images.get(key)
        if record is None:
            record = self._images[key] = {"state": "new", "model": None, "updated": _now()}
        if value is None:
            record.pop("uncertainty", None)
        else:
            record["uncertainty"] = round(float(value), 6)

    def images_with_state(self, *states: str) -> list[Path]:
        """Images on disk whose state is one of ``states`` (``new`` includes unrecorded ones)."""
        unknown = set(states) - set(STATES)
        if unknown:
            raise ValueError(f"unknown states {sorted(unknown)}; expected some of {STATES}")
        return [p for p in self.image_paths() if self.state(p) in states]

    def records(self) -> Iterable[tuple[str, dict[str, Any]]]:
        """(relative path, record) pairs as stored in the JSON."""
        return self._images.items()


#: Temporary files of :func:`~gcnet_core.files.masks.atomic_write_bytes` (``.<name>.<random>.tmp``).
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def remove_leftover_temporaries(project: Project, min_age_s: float = 30.0) -> list[Path]:
    """Delete the temporary files a killed save left beside the project file and under the
    project's data folder (never in the image tree). Files younger than ``min_age_s`` may be
    a save in progress and are left alone. Returns what was removed."""
    removed = []
    now = time.time()
    folders = [(project.root, False), (project.root / DATA_DIR, True), (project.labels_root, True)]
    seen: set[Path] = set()
    for folder, recursive in folders:
        if not folder.is_dir() or folder in seen:
            continue
        seen.add(folder)
        walk = os.walk(folder) if recursive else [(str(folder), [], os.listdir(folder))]
        for here, _dirs, files in walk:
            for name in files:
                path = Path(here, name)
                if not _TEMPORARY.match(name) or path in removed:
                    continue
                try:
                    if now - path.stat().st_mtime >= min_age_s:
                        path.unlink()
                        removed.append(path)
                except OSError:
                    continue
        if recursive:
            seen.update(p for p, _r in folders if p.is_relative_to(folder))
    if removed:
        logging.getLogger("gcnet_core.project").info("removed %d temporary file(s) left by an interrupted save",
                                                     len(removed))
    return removed


def migrate_layout(root: str | os.PathLike) -> None:
    """Move a project of the older layout (``labels/<rel>.png``) to ``.gcnet/labels/<rel>.mask``.

    Called by :meth:`Project.open` for a folder with a project file. The folder is moved with
    one rename, then each mask is renamed in place; a crash halfway is finished on the next
    open (the pass is repeated until its mark file is written). Nothing is deleted: a file
    whose new name is taken stays under its old name and is reported in the log.
    """
    root = Path(root)
    if (root / _LAYOUT_MARK).exists():
        return
    old, new = root / OLD_LABELS_DIR, root / LABELS_DIR
    if not old.is_dir() and not new.is_dir():
        return
    if old.is_dir() and not new.exists():
        new.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(old, new)
        except OSError:
            if not new.is_dir():  # not another process migrating at the same time
                raise
    for folder, subdirs, files in os.walk(new):
        here = Path(folder)
        subdirs[:] = [d for d in subdirs if here != new or d == EDITED_DIR or not d.startswith(".")]
        for name in files:
            path = here / name
            if path.suffix.lower() != ".png" or name.startswith("."):
                continue
            target = path.with_suffix(LABEL_SUFFIX)
            if target.exists():
                logging.getLogger("gcnet_core.project").warning(
                    "kept %s: %s already exists (layout migration)", path, target.name)
                continue
            os.replace(path, target)
    atomic_write_text(root / _LAYOUT_MARK, "labels: .gcnet/labels/<image>.mask\n")

