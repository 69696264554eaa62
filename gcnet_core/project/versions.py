"""Fine-tuned model versions: a small registry under the user data folder.

A version is what a finished fine-tuning run leaves for people to use: the checkpoint
(official layout, loadable with ``init_model(checkpoint=...)``), and a ``version.json``
saying where it came from (base zoo entry, starting model, project, images, settings)
and how good it is (held-out mIoU of the starting model and of the fine-tuned one,
overall and per class). Layout::

    <data dir>/models/<id>/model.pth
    <data dir>/models/<id>/version.json

The data dir is :func:`gcnet_core.paths.data_folder` (``$GCNET_DATA_DIR`` when set, else
the platform's user data folder). ``version.json`` is written last and atomically, so a
folder without one is an unfinished publish and is ignored; deleting removes it first.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from ..files.atomic import atomic_link_or_copy, atomic_write_text
from ..paths import data_folder

CHECKPOINT_NAME = "model.pth"
METADATA_NAME = "version.json"
FORMAT_NAME = "gcnet-annotator-model-version"
FORMAT_VERSION = 1


def models_dir() -> Path:
    return data_folder() / "models"


def runs_dir() -> Path:
    """Where fine-tuning runs keep their checkpoints while they train (and to resume)."""
    return data_folder() / "runs"


class VersionError(Exception):
    """A version cannot be found, read or published."""


@dataclass
class Version:
    """One published fine-tuned model. ``metrics`` = {"before": {...}, "after": {...}}, each
    with ``mIoU``, ``aAcc``, ``mAcc`` and ``per_class`` {name: {"IoU", "Acc"}} in percent."""

    id: str
    name: str
    created: str
    base_model: str  # the zoo entry whose architecture the weights fit
    classes: list[str]
    palette: list[list[int]]
    checkpoint: Path
    parent: str | None = None  # what training started from: a zoo name or another version's id
    project: str | None = None
    images: dict[str, list[str]] = field(default_factory=dict)  # {"train": [...], "val": [...]}
    settings: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return self.checkpoint.parent

    def miou(self, which: str) -> float | None:
        """Held-out mIoU "before" (the starting model) or "after" (this version); None if unknown."""
        value = (self.metrics.get(which) or {}).get("mIoU")
        return float(value) if value is not None else None

    @property
    def adopted(self) -> bool:
        """Whether it may become the current model: it scored better on the held-out images than
        the model it started from (its ``parent``), or there were none to score it on. One that
        scored no better stays listed but is never put in use, nor trained from."""
        before, after = self.miou("before"), self.miou("after")
        return before is None or after is None or after > before

    @property
    def fine_tuned(self) -> bool:
        """Trained by a fine-tuning run (its record holds the run's settings) or published from
        live adaptation (``settings["live_adaptation"]``): what the model list shows under
        "Fine-tuned". The zoo weights and imported files are never versions."""
        return bool(self.settings.get("iters") or self.settings.get("live_adaptation"))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["checkpoint"] = self.checkpoint.name  # relative: the folder may move with the data dir
        return {"format": FORMAT_NAME, "version": FORMAT_VERSION, **data}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], folder: Path) -> "Version":
        if data.get("format") != FORMAT_NAME:
            raise ValueError(f"not a {FORMAT_NAME} file")
        if int(data.get("version", 0)) > FORMAT_VERSION:
            raise ValueError(f"version {data['version']} is newer than this program ({FORMAT_VERSION})")
        return cls(
            id=str(data["id"]), name=str(data.get("name") or data["id"]), created=str(data["created"]),
            base_model=str(data["base_model"]), classes=[str(n) for n in data["classes"]],
            palette=[[int(c) for c in rgb] for rgb in data.get("palette") or []],
            checkpoint=folder / str(data.get("checkpoint") or CHECKPOINT_NAME),
            parent=data.get("parent"), project=data.get("project"), images=dict(data.get("images") or {}),
            settings=dict(data.get("settings") or {}), metrics=dict(data.get("metrics") or {}))


def _checkpoint_meta(path: Path) -> dict[str, Any]:
    """The ``meta`` of one of our checkpoints, read without loading the tensors (mmap)."""
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # torch raises many kinds for a truncated or foreign file
        raise VersionError(f"{path} is not a readable checkpoint: {error}") from None
    meta = obj.get("meta") if isinstance(obj, dict) else None
    if not isinstance(meta, dict) or not meta.get("base_model"):
        raise VersionError(f"{path} is not a fine-tuned checkpoint of ours (its meta names no base model)")
    return meta


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:24] or "model"


class VersionRegistry:
    """The versions in ``root`` (default: ``models_dir()``): list, publish, rename, delete."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = Path(root) if root is not None else models_dir()

    def list(self) -> list[Version]:
        """Every readable version, oldest first (unreadable folders are skipped)."""
        versions = []
        if self.root.is_dir():
            for folder in self.root.iterdir():
                try:
                    versions.append(self._read(folder))
                except (OSError, ValueError, KeyError, TypeError):
                    continue
        return sorted(versions, key=lambda v: (v.created, v.id))

    def get(self, version_id: str) -> Version:
        folder = self.root / version_id
        try:
            return self._read(folder)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise VersionError(f"no model version {version_id!r} ({error})") from None

    def best_start(self, label: str) -> str:
        """What a new run started with ``label`` selected should start from and be compared
        with: ``label`` itself, unless it or one of the versions it descends from scored no
        better than its own start; then the model the oldest such version started from. So no
        run builds on a worse model, nor on a version that only beat a worse one."""
        lineage: list[Version] = []  # label's version, its parent's, ... up to what is not a version
        current: str | None = label
        while current and all(v.id != current for v in lineage):
            try:
                version = self.get(current)
            except VersionError:
                break
            lineage.append(version)
            current = version.parent
        for version in reversed(lineage):  # the oldest first
            if not version.adopted:
                return version.parent or version.base_model
        return label

    def _read(self, folder: Path) -> Version:
        data = json.loads((folder / METADATA_NAME).read_text(encoding="utf-8"))
        return Version.from_json(data, folder)

    def _write(self, version: Version) -> None:
        text = json.dumps(version.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        atomic_write_text(version.folder / METADATA_NAME, text)

    def publish(self, checkpoint: str | os.PathLike, *, name: str | None = None, parent: str | None = None,
                project: str | os.PathLike | None = None, images: Mapping[str, list[str]] | None = None,
                settings: Mapping[str, Any] | None = None, before: Mapping[str, Any] | None = None,
                after: Mapping[str, Any] | None = None) -> Version:
        """Make ``checkpoint`` (a run's best.pth) a new version; returns it.

        Base model and classes come from the checkpoint's meta, so the record cannot
        disagree with the weights. ``before``/``after`` are held-out metrics of the
        starting model and of this one (see :class:`Version`).
        """
        source = Path(checkpoint)
        meta = _checkpoint_meta(source)
        created = datetime.now(timezone.utc)
        version_id = f"ft-{created:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"
        classes = [str(n) for n in meta.get("CLASSES") or []]
        title = name or f"{_slug(Path(project).name) if project else 'model'} {created.astimezone():%Y-%m-%d %H:%M}"
        folder = self.root / version_id
        folder.mkdir(parents=True, exist_ok=False)
        version = Version(
            id=version_id, name=title, created=created.isoformat(timespec="seconds"),
            base_model=str(meta["base_model"]), classes=classes,
            palette=[[int(c) for c in rgb] for rgb in meta.get("PALETTE") or []],
            checkpoint=folder / CHECKPOINT_NAME, parent=parent, project=str(project) if project else None,
            images={k: list(v) for k, v in (images or {}).items()}, settings=dict(settings or {}),
            metrics={"before": _json_metrics(before), "after": _json_metrics(after)})
        try:
            atomic_link_or_copy(source, version.checkpoint)
            self._write(version)  # last: the version exists once this file does
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return version

    def rename(self, version_id: str, name: str) -> Version:
        name = name.strip()
        if not name:
            raise VersionError("a version needs a non-empty name")
        version = self.get(version_id)
        version.name = name
        self._write(version)
        return version

    def delete(self, version_id: str) -> None:
        """Remove a version: its record first (so it is gone at once), then its files."""
        version = self.get(version_id)
        (version.folder / METADATA_NAME).unlink()
        shutil.rmtree(version.folder, ignore_errors=True)


def _json_metrics(metrics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Plain JSON numbers (NaN as None) of a metrics dict, or None."""
    if metrics is None:
        return None

    def clean(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, float) and value != value:
            return None
        return value

    return clean(dict(metrics))


__all__ = ["CHECKPOINT_NAME", "METADATA_NAME", "Version", "VersionError", "VersionRegistry", "models_dir",
           "runs_dir"]
