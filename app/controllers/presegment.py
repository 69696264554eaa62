"""A person's Pre-segment of the open image (Ctrl+Return): one request at a time on the
inference thread, the model panel's busy bar with the time so far, Cancel (Esc).

The result goes to the annotation session; where the rule would keep it out (a person's
work is in the image) the person is asked first, and their edited pixels are kept either way.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QElapsedTimer, QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from gcnet_core.project.session import AnnotationSession

from app.panels.model_panel import ModelPanel
from app.workers.inference import InferenceResult, InferenceService, ModelConfig


class PresegmentController(QObject):
    """``selected_config()``: the configuration to run; ``with_checkpoint(config, then)`` runs
    ``then`` once its checkpoint is on disk; ``background(request_id)``: a request of
    work-ahead's (left to it); ``problem_of(rel)``: why an image could not be opened."""

    def __init__(self, session: AnnotationSession, inference: InferenceService, panel: ModelPanel, prompter,
                 selected_config: Callable[[], ModelConfig], with_checkpoint, background: Callable[[int], bool],
                 problem_of: Callable[[str], str | None], cancel_action: QAction, time_label: QLabel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.inference, self.panel, self.prompter = session, inference, panel, prompter
        self.selected_config, self.with_checkpoint = selected_config, with_checkpoint
        self.background, self.problem_of = background, problem_of
        self.cancel_action, self.time_label = cancel_action, time_label
        self.request: int | None = None  # the pre-segment being waited for
        self.last_seconds: float | None = None  # the network's time of the last one
        self._cancelled: set[int] = set()
        self._clock = QElapsedTimer()
        self._timer = QTimer(self, interval=250)
        self._timer.timeout.connect(lambda: panel.show_segmenting(True, f"{self._clock.elapsed() / 1000:.0f} s"))
        inference.finished.connect(self._finished)
        inference.failed.connect(self._failed)

    def start(self) -> None:
        """Pre-segment the current image (busy bar, elapsed time, Cancel)."""
        session = self.session
        if session.project is None or session.current is None:
            return
        rel = session.current
        if session.document is None:
            problem = self.problem_of(rel) or "it could not be opened"
            self.prompter.warning("Pre-segment image", f"{rel} cannot be pre-segmented: {problem}")
            return
        if self.request is not None:
            return  # one at a time: the busy bar says it is running
        config = self.selected_config()
        path = session.project.root / rel

        def submit() -> None:
            self.request = self.inference.submit(path, config)
            self._clock.start()
            self._timer.start()
            self.cancel_action.setEnabled(True)
            self.panel.show_segmenting(True, "0 s")
            session.tell(f"Pre-segmenting {rel} with {config.model_id}…")

        self.with_checkpoint(config, submit)

    def cancel(self) -> None:
        """Stop waiting: the image stays as it is. The network cannot be interrupted inside a
        kernel, so its result is dropped when it comes."""
        if self.request is None:
            return
        self._cancelled.add(self.request)
        self._done()
        self.session.tell("Pre-segment cancelled; the image is unchanged")

    def _done(self) -> None:
        self.request = None
        self._timer.stop()
        self.cancel_action.setEnabled(False)
        self.panel.show_segmenting(False)

    def _ours(self, request_id: int) -> bool:
        """A result to handle here: not work-ahead's, not one cancelled."""
        if self.background(request_id):
            return False
        if request_id in self._cancelled:
            self._cancelled.discard(request_id)
            return False
        self._done()
        return True

    def _finished(self, result: InferenceResult) -> None:
        if not self._ours(result.request_id):
            return
        session = self.session
        self.last_seconds = result.seconds
        load = f" (+{result.load_seconds:.1f} s loading the model)" if result.load_seconds else ""
        self.time_label.setText(f"inference {result.seconds:.2f} s")
        if result.note:  # a memory fallback: slower, but the mask is there
            session.tell(result.note, error=True)
        rel = session.current
        if session.project is None or rel is None or result.image != session.project.root / rel:
            session.tell(f"Prediction for {result.image.name} arrived after it was closed; not applied")
            return
        prediction = session.prediction(result.labels, result.confidence, result.rankings, result.classes,
                                        result.config.model_id)
        asked = not session.permission(rel) and self.prompter.question(
            "Replace labels?", f"{rel} has human corrections. Apply the new prediction to the pixels "
            "nobody edited? (Edited pixels are kept either way.)")
        if session.apply_prediction(rel, prediction, asked=asked):
            session.tell(f"Pre-segmented {rel} in {result.seconds:.2f} s{load}")
        else:
            session.tell(f"Prediction kept aside (used by relabel/accept tools){load}")

    def _failed(self, request_id: int, message: str) -> None:
        if self._ours(request_id):
            self.prompter.warning("Pre-segmentation failed", message)
