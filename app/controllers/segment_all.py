"""Model ▸ Segment All New Images (and the fine-tune dock's Re-segment): a `gcnet predict`
process over the images the session's rule lets a batch write, each result placed by the
session as it comes (:meth:`AnnotationSession.place_staged`), the progress in the model panel.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from gcnet_core.project import states as image_states
from gcnet_core.project.placement import discard
from gcnet_core.project.session import AnnotationSession

from app.shell.formatting import duration_text
from app.panels.file_list import FileListDock
from app.panels.model_panel import ModelPanel
from app.workers.batch import BatchSegmenter, BatchSummary
from app.workers.inference import InferenceService, ModelConfig

log = logging.getLogger("gcnet_annotator.window")


class SegmentAllController(QObject):
    """Drives ``batch`` for the session. ``flush()`` puts every pending write on disk first;
    ``changed()`` is called when a run starts or ends (plans and buttons follow)."""

    def __init__(self, session: AnnotationSession, batch: BatchSegmenter, files: FileListDock, panel: ModelPanel,
                 inference: InferenceService, prompter, selected_config: Callable[[], ModelConfig],
                 with_checkpoint, flush: Callable[[], object], changed: Callable[[], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.batch, self.files, self.panel, self.inference = session, batch, files, panel, inference
        self.prompter, self.selected_config, self.with_checkpoint = prompter, selected_config, with_checkpoint
        self.flush, self.changed = flush, changed
        self.last: BatchSummary | None = None  # the summary of the last run
        self._model: str | None = None  # the model id of the running batch
        self._states: tuple[str, ...] = ("new",)  # the states the running batch segments
        batch.segmented.connect(self._segmented)
        batch.progress.connect(self._progress)
        batch.finished.connect(self._finished)

    def start(self, states: tuple[str, ...] = ("new",)) -> None:
        """Segment every image still 'new' (or in one of ``states``; never corrected or exported
        ones) in a separate process."""
        states = image_states.replaceable_by_batch(states)
        session = self.session
        if session.project is None or self.batch.running:
            return
        if self.files.scanning:
            session.tell("Still listing the folder; try again in a moment")
            return
        self.flush()
        todo = session.batch_targets(self.files.model.readable_paths(), states)
        if not todo:
            self.prompter.information("Segment all", "Every image already has a mask." if states == ("new",)
                                      else "Every image is corrected: nothing to re-segment.")
            return
        config = self.selected_config()
        project = session.project

        def run() -> None:
            self.inference.unload(gpu_only=True)  # the batch process gets the GPU memory
            self.panel.show_batch(True)
            self.panel.set_batch_progress(0, len(todo), f"Starting: {len(todo)} image(s)…")
            self.batch.start(project.root, project.staging_folder("batch"), [project.root / rel for rel in todo],
                             config, features=session.features)
            self._model, self._states = config.model_id, states
            self.changed()  # work-ahead pauses while the batch runs

        self.with_checkpoint(config, run)

    def _segmented(self, image: str, staged: str) -> None:
        """A mask is ready: the session places it on the writer (decoding, renumbering and
        writing never on the UI thread) unless a person got to the image first."""
        session, batch = self.session, self.batch
        staged_prediction = batch.staged_prediction(Path(image))
        try:
            rel = session.project.relative(image) if session.project else None
        except ValueError:
            rel = None
        if rel is None:
            session.writer.submit(lambda: discard(Path(staged), staged_prediction))
            return
        session.place_staged(rel, Path(staged), staged_prediction, model=self._model, classes=batch.model_classes,
                             uncertainty=batch.uncertainties.get(image), states=self._states)

    def _progress(self, done: int, total: int, eta: float) -> None:
        eta_text = "" if eta < 0 else f", about {duration_text(eta)} left"
        self.panel.set_batch_progress(done, total, f"{done} / {total} segmented{eta_text}")

    def _finished(self, summary: BatchSummary) -> None:
        QTimer.singleShot(0, self.changed)  # after the batch is marked finished
        staging = self.batch.staging  # removed after the writer placed every mask it was given
        if staging is not None:
            self.session.writer.submit(lambda: shutil.rmtree(staging, ignore_errors=True))
        self.panel.show_batch(False)
        self.session.save_project()
        self.last = summary
        if summary.error:
            text = f"Segment all stopped: {summary.error}"
        elif summary.cancelled:
            text = f"Segment all cancelled after {summary.written} image(s)"
        else:
            text = f"Segmented {summary.written} image(s) in {duration_text(summary.seconds)}"
        if summary.failed:
            text += f"; {len(summary.failed)} failed"
        if summary.notes:  # e.g. a huge image that went to the CPU for want of GPU memory
            text += f"; {len(summary.notes)} needed a memory fallback ({summary.notes[0][1]})"
        if summary.warnings:  # e.g. a full disk: the image features were not kept
            text += f"; {summary.warnings[0]}"
        for path, message in summary.failed:  # the log keeps what the dialog shows only 20 of
            log.warning("Segment all: %s: %s", path, message)
        if summary.error:
            log.error("Segment all stopped: %s", summary.error)
        self.panel.set_batch_message(text)
        self.session.tell(text, error=bool(summary.error))
        if summary.failed or summary.error:
            details = "\n".join(f"{Path(p).name}: {m}" for p, m in summary.failed[:20])
            more = f"\n… and {len(summary.failed) - 20} more" if len(summary.failed) > 20 else ""
            self.prompter.warning("Segment all", f"{text}.\n\n{details}{more}".strip())
