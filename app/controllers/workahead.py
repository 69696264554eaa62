"""Work-ahead's controller: what to plan, and handing each result to the annotation session.

:class:`~app.workers.workahead.WorkAhead` decides the order; this controller knows which
images qualify (the session's rule allows a model's result there: never corrected, exported
or imported images, never the image a person is working on; never unreadable ones) and
gives each result to :meth:`AnnotationSession.apply_prediction` (the image on screen: a
preview first on a CPU, replaced by the full result; an image further down the list: its
mask file, sidecar and state through the project's writer). It also loads the selected
model ahead of the first image (``InferenceService.warm``) and marks the file list.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QSignalBlocker
from PySide6.QtGui import QAction

from gcnet_core.project.session import AnnotationSession
from gcnet_core.weights.download import cached_checkpoint
from gcnet_core.weights.zoo import get_entry

from app.controllers.preview_step import PreviewStep
from app.panels.file_list import FileListDock
from app.settings.store import AppSettings
from app.workers.inference import InferenceResult, InferenceService, ModelConfig
from app.workers.workahead import DEFAULT_AHEAD_CPU, DEFAULT_AHEAD_GPU, WorkAhead


class WorkAheadController(QObject):
    """Owns the scheduler and drives its two menu actions (``on_open_action``, ``ahead_action``).

    ``selected_config()`` is the configuration a person's request would use now;
    ``held()`` says why background work waits ("training", "batch") or None.
    """

    def __init__(self, session: AnnotationSession, inference: InferenceService, files: FileListDock,
                 settings: AppSettings, selected_config: Callable[[], ModelConfig], held: Callable[[], str | None],
                 on_open_action: QAction, ahead_action: QAction, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.inference, self.files, self.settings = session, inference, files, settings
        self.selected_config, self.held = selected_config, held
        self.scheduler = WorkAhead(inference, self)
        self.scheduler.predicted.connect(self._predicted)
        self.scheduler.failed.connect(self._failed)
        self.scheduler.changed.connect(self.update_marks)
        self.scheduler.held = held  # checked before each job: a run started meanwhile pauses it
        self.on_open_action, self.ahead_action = on_open_action, ahead_action
        for action, name in ((on_open_action, "segment_on_open"), (ahead_action, "work_ahead")):
            with QSignalBlocker(action):
                action.setChecked(settings.get(name))
        self._warmed: ModelConfig | None = None  # the model last loaded ahead of use
        self._declined: str | None = None  # the open image whose pre-segment the person cancelled
        self._preview = PreviewStep()  # the open image's full result replaces its preview's undo step
        session.events.connect("image_opened", self._opened)

    def _opened(self, rel: str) -> None:
        if rel != self._declined:
            self._declined = None  # a cancel holds only while its image stays open
        self.replan()

    def decline(self, rel: str) -> None:
        """The person cancelled a pre-segment of ``rel``: while it stays open no background
        pass touches it (a pass already running is dropped when it comes back)."""
        self._declined = rel
        self.replan()

    def options_changed(self) -> None:
        """One of the two menu actions was toggled: remember both, plan again."""
        self.settings.set("segment_on_open", self.on_open_action.isChecked())
        self.settings.set("work_ahead", self.ahead_action.isChecked())
        self.replan()

    # -- planning ------------------------------------------------------------------------------
    def usable_config(self) -> ModelConfig | None:
        """The selected model when it runs without a download (work-ahead never downloads)."""
        config = self.selected_config()
        if config.checkpoint is None and cached_checkpoint(get_entry(config.name)) is None:
            return None
        return config

    def _path_of(self, rel: str) -> Path:
        return self.session.project.root / rel

    def replan(self) -> None:
        """Recompute the plan: call when the current image, the list, the model or a state changed."""
        scheduler, session = self.scheduler, self.session
        config = self.usable_config()
        scheduler.set_config(config)
        on_gpu = config is not None and runs_on_gpu(config)
        scheduler.on_open = self.on_open_action.isChecked()
        scheduler.preview = not on_gpu  # a GPU gives the full result about as fast
        scheduler.ahead = (DEFAULT_AHEAD_GPU if on_gpu else DEFAULT_AHEAD_CPU) if self.ahead_action.isChecked() else 0
        scheduler.set_paused(self.held())
        self._warm(config)
        if session.project is None:
            scheduler.plan([], None, lambda rel: False, Path)
        else:
            scheduler.plan(self.files.model.readable_paths(), session.current, self.needs, self._path_of)
        self.update_marks()

    def _warm(self, config: ModelConfig | None) -> None:
        """Load the selected model as soon as it is chosen (at start-up, too), so the first
        image a person opens waits only for the network, not for the load."""
        if self.held():
            self._warmed = None  # the batch or training run may unload it: load again afterwards
            return
        wanted = self.on_open_action.isChecked() or self.ahead_action.isChecked()
        if config is not None and wanted and config != self._warmed:
            self._warmed = config
            self.inference.warm(config)

    def needs(self, rel: str) -> bool:
        """Whether ``rel`` wants a prediction of the selected model now: the session's rule
        allows one there and it has none of this model yet."""
        if self.session.project is None or self.scheduler.config is None or self.files.model.problem(rel) \
                or rel == self._declined:
            return False  # broken files are marked in the list; a cancelled image is left alone
        return bool(self.session.permission(rel)) and not self.is_fresh(rel)

    def is_fresh(self, rel: str) -> bool:
        project, config = self.session.project, self.scheduler.config
        return (project is not None and config is not None and project.state(rel) == "predicted"
                and project.image_model(rel) == config.model_id)

    def update_marks(self) -> None:
        model = self.files.model
        queued = self.scheduler.queued()
        marks = {rel: "queued" for rel in queued}
        if self.scheduler.config is not None:
            marks.update({rel: "fresh" for rel in model.paths() if rel not in queued and self.is_fresh(rel)})
        model.set_work_marks(marks)

    def forget(self, rel: str) -> None:
        self.scheduler.forget(rel)

    # -- results -------------------------------------------------------------------------------
    def _predicted(self, result: InferenceResult, rel: str) -> None:
        session = self.session
        if session.project is None or self._path_of(rel) != result.image or rel == self._declined:
            self.replan()
            return
        wanted = self.scheduler.config.model_id if self.scheduler.config is not None else None
        prediction = session.prediction(result.labels, result.confidence, result.rankings, result.classes,
                                        result.config.model_id, preview=result.preview)
        if rel == session.current:
            if session.document is not None:  # not an image that could not be opened
                if not result.preview:
                    self._preview.take_back(session.document)
                permission = session.apply_prediction(rel, prediction, wanted=wanted)
                if result.preview and permission:
                    self._preview.shown(session.document)
                self._show(rel, result, permission)
        elif self.needs(rel):
            session.apply_prediction(rel, prediction, wanted=wanted)
        self.replan()

    def _show(self, rel: str, result: InferenceResult, permission) -> None:
        """What the person is told about a result for the image on screen."""
        if not permission:
            if not result.preview:
                self.session.tell(f"Prediction of {rel} kept aside (you are editing it)")
        elif result.preview:
            self.session.tell(f"Preview of {rel} (coarse, {result.seconds:.1f} s); the full result follows")
        else:
            self.session.tell(f"Pre-segmented {rel} in {result.seconds:.2f} s (work-ahead)")

    def _failed(self, rel: str, message: str) -> None:
        self.session.tell(f"Work-ahead could not segment {rel}: {message}", error=True)


def runs_on_gpu(config: ModelConfig) -> bool:
    """Whether ``config`` runs on a GPU (where a coarse preview first is not worth it)."""
    import torch  # lazy: torch loads only once a model is about to run

    return config.device.startswith("cuda") or (config.device == "auto" and torch.cuda.is_available())
