"""Segment-all: `gcnet predict --progress jsonl` in a separate process (QProcess).

A crash, an out-of-memory or a kill of the worker process never takes the window down.
Each image's features go straight into the project's feature cache folder (``--features``),
for live adaptation; a disk that cannot take them is said once (``BatchSummary.warnings``).
Masks (and their prediction sidecars, for the model-aware tools) are written to a staging
folder the project names (``Project.staging_folder("batch")``, ``.gcnet/batch-<id>/``); the window moves each one into place only if its image is
still untouched (state ``new``), so an image a person corrects while the batch runs is never
overwritten.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gcnet_core.model.classes import ClassSet
from gcnet_core.project.feature_cache import FeatureCache

from app.shell.runtime import gcnet_command
from .inference import ModelConfig
from .jsonl_process import JsonLinesProcess

DEFAULT_COMMAND = gcnet_command()  # `python -m gcnet_core.cli`, or the bundled `gcnet` when frozen
# Command lines are short on Windows (32k characters): long image lists run in several processes.
MAX_ARGS_CHARS = 30_000 if os.name == "nt" else 1_000_000
STAGED_PREDICTIONS = ".predictions"  # inside the staging folder: a hidden name no image can have


@dataclass
class BatchSummary:
    total: int
    written: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False
    error: str | None = None  # the process itself failed (bad model, crash...)
    seconds: float = 0.0
    notes: list[tuple[str, str]] = field(default_factory=list)  # (image, e.g. "segmented on the CPU")
    warnings: list[str] = field(default_factory=list)  # about the run, not one image (features not kept on disk)


def chunk_images(images: list[Path], budget: int = MAX_ARGS_CHARS) -> list[list[Path]]:
    """Split the image list so each process's command line stays under ``budget`` characters."""
    chunks: list[list[Path]] = [[]]
    used = 0
    for image in images:
        cost = len(str(image)) + 3
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(image)
        used += cost
    return [c for c in chunks if c]


class BatchSegmenter(QObject):
    """Runs the predict command over ``images`` of the project in ``root``; one run at a time.

    Signals: ``segmented(image, staged mask)``, ``progress(done, total, eta seconds or -1)``,
    ``finished(BatchSummary)`` (failed images are listed in the summary).
    ``model_classes`` says what the staged masks' values mean once the model is loaded.
    """

    segmented = Signal(str, str)
    progress = Signal(int, int, float)
    finished = Signal(object)

    def __init__(self, command: list[str] | tuple[str, ...] = DEFAULT_COMMAND, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.command = list(command)
        self.worker = JsonLinesProcess(self)
        self.worker.event.connect(self._handle_event)
        self.worker.finished.connect(self._process_finished)
        self.worker.failedToStart.connect(self._process_failed_to_start)
        self._chunks: list[list[Path]] = []
        self._summary: BatchSummary | None = None
        self._done = 0
        self._chunk_done = 0
        self._first_image_time: float | None = None
        self._start_time = 0.0
        self._staging: Path | None = None
        self._root: Path | None = None
        self._config: ModelConfig | None = None
        self._features: FeatureCache | None = None
        self.model_classes: ClassSet | None = None  # from the process's "model" event
        self.uncertainties: dict[str, float] = {}  # image path -> mean 1 - confidence ("image" events)
        self._told_masks: dict[str, str] = {}  # image -> the mask path its "image" event named

    @property
    def running(self) -> bool:
        return self._summary is not None

    @property
    def staging(self) -> Path | None:
        return self._staging

    def start(self, root: Path, staging: Path, images: list[Path], config: ModelConfig,
              features: FeatureCache | None = None) -> None:
        """``features``: the project's feature cache, whose folder the process keeps each image's
        features in (within its size limit)."""
        if self.running:
            raise RuntimeError("a batch is already running")
        self._root = Path(root)
        self._staging = Path(staging)
        self._config = config
        self._features = features if features is not None and features.folder is not None else None
        self._chunks = chunk_images([Path(p) for p in images])
        self._summary = BatchSummary(total=len(images))
        self.model_classes = None
        self.uncertainties = {}
        self._told_masks = {}
        self._done = 0
        self._first_image_time = None
        self._start_time = time.monotonic()
        if not self._chunks:
            self._finish()
            return
        self._start_next()

    def arguments(self, images: list[Path]) -> list[str]:
        """The predict command line (after the program) for one chunk of images."""
        config = self._config
        args = self.command[1:] + [
            "predict", "--progress", "jsonl", "--skip-existing", "--format", "index",
            "--out", str(self._staging), "--relative-to", str(self._root),
            "--model", config.name, "--device", config.device, "--precision", config.precision,
            "--predictions", str(self._staging / STAGED_PREDICTIONS), "--model-id", config.model_id,
        ]
        if config.checkpoint:
            args += ["--checkpoint", str(config.checkpoint)]
        if config.tta:
            args.append("--tta")
        if self._features is not None:
            args += ["--features", str(self._features.folder), "--features-mb", f"{self._features.disk_mb:g}"]
        return args + [str(p) for p in images]

    def staged_mask(self, image: Path) -> Path:
        """Where the process wrote the image's mask (it says so: same-stem images get longer names)."""
        told = self._told_masks.get(str(image))
        return Path(told) if told else self._staging / Path(image).relative_to(self._root).with_suffix(".png")

    def staged_prediction(self, image: Path) -> Path:
        """The prediction sidecar (confidence, class rankings) the process wrote beside the mask."""
        name = self.staged_mask(image).relative_to(self._staging).with_suffix(".npz")
        return self._staging / STAGED_PREDICTIONS / name

    def cancel(self) -> None:
        if not self.running:
            return
        self._summary.cancelled = True
        self._chunks = []
        self.worker.terminate(kill_after_ms=5000)

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the current process ends (tests, closing the window)."""
        return self.worker.wait(msecs)

    # -- process plumbing ---------------------------------------------------------------------
    def _start_next(self) -> None:
        chunk = self._chunks.pop(0)
        self._chunk_done = 0
        self.worker.start(self.command[0], self.arguments(chunk))

    def _handle_event(self, event: dict, _line: bytes) -> None:
        if self._summary is None:
            return
        if event.get("event") == "model":
            try:
                self.model_classes = ClassSet(tuple(str(n) for n in event["classes"]),
                                              tuple(tuple(int(c) for c in rgb) for rgb in event["palette"]))
            except (KeyError, TypeError, ValueError):
                self.model_classes = None
            return
        if event.get("event") == "warning":
            message = str(event.get("message", ""))
            if message and message not in self._summary.warnings:
                self._summary.warnings.append(message)
            return
        if event.get("event") == "image":
            self._chunk_done = int(event.get("done", self._chunk_done + 1))
            self._done += 1
            path = str(event.get("path", ""))
            if event.get("ok"):
                self._summary.written += 1
                if isinstance(event.get("uncertainty"), (int, float)):
                    self.uncertainties[path] = float(event["uncertainty"])
                if event.get("note"):
                    self._summary.notes.append((path, str(event["note"])))
                if event.get("mask"):
                    self._told_masks[path] = str(event["mask"])
                self.segmented.emit(path, str(self.staged_mask(Path(path))))
            else:
                error = str(event.get("error", "unknown error"))
                self._summary.failed.append((path, error))
            self.progress.emit(self._done, self._summary.total, self.eta())

    def eta(self) -> float:
        """Seconds left, from the pace since the first image (model loading excluded); -1 unknown."""
        now = time.monotonic()
        if self._first_image_time is None:
            self._first_image_time = now
            return -1.0
        paced = self._done - 1
        if paced <= 0:
            return -1.0
        return (now - self._first_image_time) / paced * (self._summary.total - self._done)

    def _process_failed_to_start(self, message: str) -> None:
        if self._summary is not None:
            self._summary.error = message
            self._chunks = []
            self._finish()

    def _process_finished(self, exit_code: int, crashed: bool) -> None:
        if self._summary is None:
            return
        crashed = crashed or exit_code not in (0, 1)  # 1: some images failed, each reported
        if crashed and not self._summary.cancelled:
            tail = self.worker.stderr_tail(6)
            self._summary.error = "\n".join(tail) or f"the segmentation process stopped (exit code {exit_code})"
            self._chunks = []
        if self._chunks:
            self._start_next()
        else:
            self._finish()

    def _finish(self) -> None:
        summary, self._summary = self._summary, None
        summary.seconds = time.monotonic() - self._start_time
        self.finished.emit(summary)

    def discard_staging(self) -> None:
        """Remove the staging folder (call after the window took what it wanted)."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
