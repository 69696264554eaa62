"""Fine-tuning runs as the app sees them: settings, the ``gcnet train`` command line, and a
small record in the run folder so a run can be resumed later, even after a restart.

No Qt here. A run folder (under ``gcnet_core.project.versions.runs_dir()``) holds the engine's
``last.pth``/``best.pth``/``resume.pth``, ``run.json`` (this module's record) and
``events.jsonl`` (every event the worker printed, for the curves and the before/after).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from gcnet_core.files.atomic import atomic_write_text
from gcnet_core.project.versions import runs_dir
from gcnet_core.train.config import PRESETS, finetune_preset

from app.settings.table import SETTING

RECORD_NAME = "run.json"
EVENTS_NAME = "events.jsonl"
STATUSES = ("running", "cancelled", "failed", "done", "published")


@dataclass
class FinetuneSettings:
    """What the panel lets a person choose; defaults are the settings table's (the engine's
    ``finetune`` preset)."""

    iters: int = SETTING["finetune_iters"].default
    batch_size: int = SETTING["finetune_batch_size"].default
    crop: tuple[int, int] = (SETTING["finetune_crop_height"].default, SETTING["finetune_crop_width"].default)
    lr: float = SETTING["finetune_lr"].default
    val_share: float = SETTING["finetune_val_share"].default
    val_interval: int = SETTING["finetune_val_interval"].default
    device: str = SETTING["finetune_device"].default
    workers: int = 2

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["crop"] = list(self.crop)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "FinetuneSettings":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "crop" in values:
            values["crop"] = tuple(int(v) for v in values["crop"])
        return cls(**values)


def training_device_type(device: str) -> str:
    """"cuda" or "cpu": where a run with the dock's device choice (auto, cpu, cuda) trains."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return "cuda" if device.startswith("cuda") else "cpu"


def device_defaults(entry, device_type: str) -> dict[str, Any]:
    """The dock's defaults for ``entry`` trained on ``device_type``: the fine-tuning preset of
    that device (:func:`gcnet_core.train.config.finetune_preset`: minutes on a CPU), with the
    entry's own batch and crop where the preset keeps them (on a GPU)."""
    preset = PRESETS[finetune_preset(device_type)]
    return {"iters": int(preset["iters"]), "val_interval": int(preset["val_interval"]),
            "batch_size": int(preset.get("batch_size") or entry.dataset.batch_per_gpu),
            "crop": tuple(int(v) for v in preset.get("crop") or entry.crop_size)}


def train_arguments(settings: FinetuneSettings, project: Path, out: Path, model: str,
                    checkpoint: Path | None, compare_with: Sequence[str | Path] = ()) -> list[str]:
    """``gcnet train`` arguments (after the program) for one run; the same line resumes it.
    ``compare_with``: other checkpoints scored on the held-out images first, which the run must beat."""
    args = ["train", "--progress", "jsonl", "--preset", "finetune", "--project", str(project),
            "--out", str(out), "--model", model]
    if checkpoint is not None:
        args += ["--checkpoint", str(checkpoint)]
    for baseline in compare_with:
        args += ["--compare-with", str(baseline)]
    return args + [
        "--iters", str(settings.iters), "--batch-size", str(settings.batch_size),
        "--crop", str(settings.crop[0]), str(settings.crop[1]), "--lr", repr(float(settings.lr)),
        "--val-share", repr(float(settings.val_share)), "--val-interval", str(settings.val_interval),
        "--val-at-start", "--device", settings.device, "--workers", str(settings.workers)]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunRecord:
    """One run of one project: what it started from, with which settings, how it ended."""

    id: str
    folder: Path
    project: str
    base_model: str  # zoo entry
    base_checkpoint: str | None  # None: the official file of base_model
    base_label: str  # what the model selector calls the starting model (zoo name or version id)
    settings: FinetuneSettings
    created: str = field(default_factory=_now)
    status: str = "running"
    message: str = ""
    version: str | None = None  # the version published from this run
    compare_with: list[str] = field(default_factory=list)  # checkpoints the run must also beat
    live_images: int = 0  # started from the live model fitted on this many of its training images (0: not)

    @classmethod
    def create(cls, project: Path, base_model: str, base_checkpoint: Path | None, base_label: str,
               settings: FinetuneSettings, root: Path | None = None) -> "RunRecord":
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_id = f"{stamp}-{uuid.uuid4().hex[:6]}"
        folder = Path(root or runs_dir()) / run_id
        folder.mkdir(parents=True, exist_ok=False)
        record = cls(run_id, folder, str(Path(project).resolve()), base_model,
                     str(base_checkpoint) if base_checkpoint else None, base_label, settings)
        record.save()
        return record

    def start_from_live(self, checkpoint: Path, images: int, baseline: Path) -> None:
        """Start from the live model's checkpoint (written into this folder), fitted on ``images``
        of the run's training images, and be compared also with ``baseline``: the model it sits on."""
        self.base_checkpoint, self.live_images = str(checkpoint), int(images)
        self.compare_with = [str(baseline)]
        self.save()

    def arguments(self) -> list[str]:
        checkpoint = Path(self.base_checkpoint) if self.base_checkpoint else None
        return train_arguments(self.settings, Path(self.project), self.folder, self.base_model, checkpoint,
                               self.compare_with)

    def save(self) -> None:
        data = asdict(self)
        data["folder"] = None  # the record lives in the folder it would name
        data["settings"] = self.settings.to_json()
        atomic_write_text(self.folder / RECORD_NAME, json.dumps(data, indent=2) + "\n")

    def set_status(self, status: str, message: str = "") -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown run status {status!r}")
        self.status, self.message = status, message
        self.save()

    @classmethod
    def load(cls, folder: Path) -> "RunRecord":
        data = json.loads((Path(folder) / RECORD_NAME).read_text(encoding="utf-8"))
        data["folder"] = Path(folder)
        data["settings"] = FinetuneSettings.from_json(data.get("settings") or {})
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def resumable(self) -> bool:
        """Stopped before the end (cancelled, crashed, killed): the same command continues."""
        return self.status in ("running", "cancelled", "failed")

    def events(self) -> list[dict[str, Any]]:
        return read_events(self.folder / EVENTS_NAME)


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events a worker printed, in order (a line cut short by a kill is skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return []
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "event" in event:
            events.append(event)
    return events


def latest_run(project: Path, root: Path | None = None) -> RunRecord | None:
    """The most recent run of ``project`` (None when it never trained)."""
    folder = Path(root or runs_dir())
    project = str(Path(project).resolve())
    runs = []
    if folder.is_dir():
        for child in folder.iterdir():
            try:
                record = RunRecord.load(child)
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if record.project == project:
                runs.append(record)
    return max(runs, key=lambda r: (r.created, r.id)) if runs else None


@dataclass
class Comparison:
    """Held-out metrics of what the run must beat (``before``: the better of its starting weights
    at iteration 0 and the checkpoints it was compared with) and of its best checkpoint.
    ``before_from``: the compared checkpoint that gave ``before`` (None: the starting weights);
    ``holdout``: what was held out ("images", "blocks" of a single image, "none")."""

    before: dict[str, Any] | None
    after: dict[str, Any] | None
    best_iter: int | None
    val_images: list[str]
    train_images: list[str]
    start: dict[str, Any] | None = None
    before_from: str | None = None
    holdout: str = "images"

    @property
    def judged_on(self) -> str:
        """What the run was scored on, as the dock says it."""
        if self.holdout == "blocks":
            return "held-out blocks (a quarter) of the one done image"
        if self.holdout == "none" or not self.val_images:
            return "no held-out images"
        count = len(self.val_images)
        return f"{count} held-out image{'s' if count != 1 else ''}"

    @property
    def gain(self) -> float | None:
        if not self.before or not self.after or self.before.get("mIoU") is None \
                or self.after.get("mIoU") is None:
            return None
        return float(self.after["mIoU"]) - float(self.before["mIoU"])


def _metrics(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event.get(k) for k in ("mIoU", "aAcc", "mAcc", "per_class")}


def _better(candidate: dict[str, Any], than: dict[str, Any] | None) -> bool:
    if candidate.get("mIoU") is None:
        return False
    return than is None or than.get("mIoU") is None or float(candidate["mIoU"]) > float(than["mIoU"])


def compare(events: Iterable[dict[str, Any]]) -> Comparison:
    """Before/after from a run's events (across resumes). Before: the iteration-0 validation of
    the starting weights, or a "baseline" (a checkpoint scored on the same held-out images
    first) that scored better, so a run only counts as better when it beats both. After: the
    validation at the iteration the engine reported best in its "done" event."""
    after = best_iter = None
    vals: dict[int, dict[str, Any]] = {}
    baselines: list[dict[str, Any]] = []
    train_images: list[str] = []
    val_images: list[str] = []
    holdout = "images"
    for event in events:
        kind = event.get("event")
        if kind == "start":
            train_images = list(event.get("train_images") or [])
            val_images = list(event.get("val_images") or [])
            holdout = str(event.get("holdout") or ("images" if val_images else "none"))
        elif kind == "val":
            vals[int(event["iter"])] = event
        elif kind == "baseline":
            baselines.append(event)
        elif kind == "done":
            best_iter = event.get("best_iter")
    start = _metrics(vals[0]) if 0 in vals else None
    before, before_from = start, None
    for baseline in baselines:
        if _better(baseline, before):
            before, before_from = _metrics(baseline), str(baseline.get("checkpoint"))
    if best_iter is not None and int(best_iter) in vals:
        after = _metrics(vals[int(best_iter)])
    return Comparison(before, after, best_iter, val_images, train_images, start, before_from, holdout)


__all__ = ["Comparison", "EVENTS_NAME", "FinetuneSettings", "RECORD_NAME", "RunRecord", "compare",
           "device_defaults", "latest_run", "read_events", "train_arguments", "training_device_type"]
