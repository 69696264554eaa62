"""A person's Pre-segment of the open image (Ctrl+Return): a coarse preview first on a CPU,
then the full pass, on the inference thread; the model panel's busy bar with the time so
far, Cancel (Esc), which stops the pass under way.

An image with a person's work in it (corrected, or edited) is asked about before the network
runs; No runs nothing. Their edited pixels are kept either way. Esc drops both passes, and
work-ahead leaves the image alone while it stays open.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QElapsedTimer, QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from gcnet_core.project.session import AnnotationSession

from app.controllers.preview_step import PreviewStep
from app.controllers.workahead import WorkAheadController, runs_on_gpu
from app.panels.model_panel import ModelPanel
from app.workers.inference import InferenceResult, InferenceService, ModelConfig

REPLACE_TITLE = "Replace labels?"


class PresegmentController(QObject):
    """``selected_config()``: the configuration to run; ``with_checkpoint(config, then)`` runs
    ``then`` once its checkpoint is on disk; ``workahead``: the background passes (their
    results are left to it; a cancelled image is declined there); ``problem_of(rel)``: why an
    image could not be opened."""

    def __init__(self, session: AnnotationSession, inference: InferenceService, panel: ModelPanel, prompter,
                 selected_config: Callable[[], ModelConfig], with_checkpoint, workahead: WorkAheadController,
                 problem_of: Callable[[str], str | None], cancel_action: QAction, time_label: QLabel,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.inference, self.panel, self.prompter = session, inference, panel, prompter
        self.selected_config, self.with_checkpoint = selected_config, with_checkpoint
        self.workahead, self.problem_of = workahead, problem_of
        self.cancel_action, self.time_label = cancel_action, time_label
        self.request: int | None = None  # the full pass being waited for
        self.preview_request: int | None = None  # its coarse preview, while that runs
        self.asked = False  # the person said yes to replacing their labels' unedited pixels
        self._preview = PreviewStep()  # the full result replaces the preview's undo step
        self._image: str | None = None  # the image the requests are for
        self.last_seconds: float | None = None  # the network's time of the last one
        self._generation = 0  # one per Pre-segment: a result of an earlier (cancelled) one is dropped
        self._requests: dict[int, int] = {}  # request id -> generation, for every request still out
        self._clock = QElapsedTimer()
        self._timer = QTimer(self, interval=250)
        self._timer.timeout.connect(lambda: panel.show_segmenting(True, f"{self._clock.elapsed() / 1000:.0f} s"))
        inference.finished.connect(self._finished)
        inference.failed.connect(self._failed)
        session.events.connect("image_opened", self._opened)

    def start(self) -> None:
        """Pre-segment the current image (busy bar, elapsed time, Cancel); an image holding a
        person's work is asked about first."""
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
        asked = not session.permission(rel)
        if asked and not self.prompter.question(
                REPLACE_TITLE, f"{rel} has human corrections. Apply the model's labels to the pixels "
                "nobody edited? (Edited pixels are kept either way.)"):
            session.tell(f"{rel} left as it is")
            return
        config = self.selected_config()
        path = session.project.root / rel
        self.workahead.forget(rel)  # the person's own pass replaces what work-ahead planned here

        def submit() -> None:
            if session.current != rel or self.request is not None:
                return  # the person moved on while the checkpoint downloaded
            self._generation += 1
            self.asked, self._image = asked, rel
            self._preview.shown(None)
            if not runs_on_gpu(config):  # a GPU gives the full result about as fast
                self.preview_request = self._submit(path, config, preview=True)
            self.request = self._submit(path, config)
            self._clock.start()
            self._timer.start()
            self.cancel_action.setEnabled(True)
            self.panel.show_segmenting(True, "0 s")
            session.tell(f"Pre-segmenting {rel} with {config.model_id}…")

        self.with_checkpoint(config, submit)

    def _submit(self, path, config: ModelConfig, preview: bool = False) -> int:
        request = self.inference.submit(path, config, preview=preview)
        self._requests[request] = self._generation
        return request

    def cancel(self) -> None:
        """Stop: the image stays as it is, and work-ahead leaves it alone while it is open. The
        passes are withdrawn, so the one running stops and the CPU is free again at once; a
        result that still comes (it finished before the stop reached it) is dropped, its
        generation being over."""
        if self.request is None:
            return
        self._withdraw()
        self._generation += 1
        self._done()
        rel = self.session.current
        if rel is not None:
            self.workahead.decline(rel)
        self.session.tell("Pre-segment cancelled; the image is unchanged"
                          + ("" if self.session.document is None or not self.session.document.preview
                             else " apart from the coarse preview (Ctrl+Z removes it)"))

    def _opened(self, rel: str) -> None:
        """The person moved to another image: the passes for the one they left are taken back
        (the running one stops), so the image on screen does not wait behind them."""
        if self.request is None or self._image == rel:
            return
        self._withdraw()
        self._generation += 1
        self._done()

    def _withdraw(self) -> None:
        """Take back this Pre-segment's passes: the one queued never runs, the one running stops."""
        for request in (self.preview_request, self.request):
            if request is not None:
                self.inference.withdraw(request)
                self._requests.pop(request, None)  # dropped if it comes all the same

    def _done(self) -> None:
        self.request = self.preview_request = None
        self._timer.stop()
        self.cancel_action.setEnabled(False)
        self.panel.show_segmenting(False)

    def _current(self, request_id: int) -> bool:
        """A result of the Pre-segment being waited for (not work-ahead's, not a cancelled one's)."""
        return self._requests.pop(request_id, None) == self._generation

    def _finished(self, result: InferenceResult) -> None:
        if not self._current(result.request_id):
            return
        session = self.session
        if result.preview:
            self.preview_request = None
        else:
            self._done()
            self.last_seconds = result.seconds
            self.time_label.setText(f"inference {result.seconds:.2f} s")
        if result.note:  # a memory fallback: slower, but the mask is there
            session.tell(result.note, error=True)
        rel = session.current
        if session.project is None or rel is None or result.image != session.project.root / rel:
            if not result.preview:
                session.tell(f"Prediction for {result.image.name} arrived after it was closed; not applied")
            return
        prediction = session.prediction(result.labels, result.confidence, result.rankings, result.classes,
                                        result.config.model_id, preview=result.preview)
        if not result.preview:
            self._preview.take_back(session.document)
        applied = session.apply_prediction(rel, prediction, asked=self.asked)
        if result.preview and applied:
            self._preview.shown(session.document)
        load = f" (+{result.load_seconds:.1f} s loading the model)" if result.load_seconds else ""
        if result.preview:
            if applied:
                session.tell(f"Preview of {rel} (coarse, {result.seconds:.1f} s){load}; the full result follows")
        elif applied:
            session.tell(f"Pre-segmented {rel} in {result.seconds:.2f} s{load}")
        else:
            session.tell(f"Prediction kept aside (used by relabel/accept tools): {applied.refused}{load}")

    def _failed(self, request_id: int, message: str) -> None:
        if not self._current(request_id):
            return
        if request_id == self.preview_request:
            self.preview_request = None  # the full pass says it for itself
            return
        self._done()
        self.prompter.warning("Pre-segmentation failed", message)
