"""The window's side of work-ahead: what to plan, and what to do with each result.

:class:`~app.workers.workahead.WorkAhead` decides the order; this controller knows the
project: which images qualify (state new, or pre-segmented by another model; never
corrected or exported ones, never unreadable ones, never the image a person is editing),
how a background result is kept (mask, prediction sidecar, state, all through the
project's serial writer) and how a result for the image on screen is shown (a preview
first on a CPU, replaced by the full result; never over a person's edits).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from gcnet_core.model.classes import class_lut
from gcnet_core.predict.predictor import mean_uncertainty
from gcnet_core.project import states as image_states
from gcnet_core.project.document import MaskDocument
from gcnet_core.weights.download import cached_checkpoint
from gcnet_core.weights.zoo import get_entry

from .workers.inference import InferenceResult, ModelConfig
from .workers.saving import MaskSnapshot
from .workers.workahead import DEFAULT_AHEAD_CPU, DEFAULT_AHEAD_GPU, WorkAhead

if TYPE_CHECKING:
    from .window import MainWindow


class WorkAheadController(QObject):
    """Owns the scheduler of one window, its two menu actions and the fresh-result cache."""

    def __init__(self, window: "MainWindow") -> None:
        super().__init__(window)
        self.window = window
        self.scheduler = WorkAhead(window.inference, self)
        self.scheduler.predicted.connect(self._predicted)
        self.scheduler.failed.connect(self._failed)
        self.scheduler.changed.connect(self.update_marks)
        self.scheduler.held = self._held  # checked before each job: a run started meanwhile pauses it
        settings = window.settings
        self.on_open_action = QAction("Pre-segment Images When &Opened", self, checkable=True)
        self.on_open_action.setChecked(settings.get("segment_on_open"))
        self.on_open_action.setToolTip("Pre-segment an image without a fresh prediction as soon as it opens")
        self.ahead_action = QAction("&Work Ahead on the Next Images", self, checkable=True)
        self.ahead_action.setChecked(settings.get("work_ahead"))
        self.ahead_action.setToolTip("Pre-segment the next images of the list in the background")
        self.on_open_action.toggled.connect(self._toggled)
        self.ahead_action.toggled.connect(self._toggled)
        self._fresh: OrderedDict[str, tuple[str, np.ndarray, np.ndarray, object]] = OrderedDict()
        self._warmed: ModelConfig | None = None  # the model last loaded ahead of use

    def _toggled(self) -> None:
        self.window.settings.set("segment_on_open", self.on_open_action.isChecked())
        self.window.settings.set("work_ahead", self.ahead_action.isChecked())
        self.replan()

    # -- planning ------------------------------------------------------------------------------
    def usable_config(self) -> ModelConfig | None:
        """The selected model when it runs without a download (work-ahead never downloads)."""
        window = self.window
        config = window.finetune.inference_config(window.model_panel.config())
        if config.checkpoint is None and cached_checkpoint(get_entry(config.name)) is None:
            return None
        return config

    def replan(self) -> None:
        """Recompute the plan: call when the current image, the list, the model or a state changed."""
        window, scheduler = self.window, self.scheduler
        config = self.usable_config()
        if scheduler.config is not None and config != scheduler.config:
            self._fresh.clear()
        scheduler.set_config(config)
        on_gpu = config is not None and (config.device.startswith("cuda")
                                         or (config.device == "auto" and _cuda_available()))
        scheduler.on_open = self.on_open_action.isChecked()
        scheduler.preview = not on_gpu  # a GPU gives the full result about as fast
        scheduler.ahead = (DEFAULT_AHEAD_GPU if on_gpu else DEFAULT_AHEAD_CPU) if self.ahead_action.isChecked() else 0
        scheduler.set_paused(self._held())
        self._warm(config)
        if window.project is None:
            scheduler.plan([], None, lambda rel: False, window.image_path)
        else:
            scheduler.plan(window.files.model.readable_paths(), window.current, self.needs, window.image_path)
        self.update_marks()

    def _warm(self, config: ModelConfig | None) -> None:
        """Load the selected model as soon as it is chosen (at start-up, too), so the first
        image a person opens waits only for the network, not for the load."""
        if self._held():
            self._warmed = None  # the batch or training run may unload it: load again afterwards
            return
        wanted = self.on_open_action.isChecked() or self.ahead_action.isChecked()
        if config is not None and wanted and config != self._warmed:
            self._warmed = config
            self.window.inference.warm(config)

    def _held(self) -> str | None:
        """Why background work waits: a training run or a batch has the machine."""
        window = self.window
        return "training" if window.finetune.process.running else "batch" if window.batch.running else None

    def needs(self, rel: str) -> bool:
        """Whether ``rel`` wants a prediction of the selected model now."""
        window, config = self.window, self.scheduler.config
        project = window.project
        if project is None or config is None or window.files.model.problem(rel):  # broken files are marked
            return False
        if rel == window.current and (window.touched or (window.document is not None
                                                         and (window.document.edited.any()
                                                              or window.document.in_stroke))):
            return False
        state = project.state(rel)
        if state not in image_states.MODEL_STATES:  # corrected, exported, imported: a person's labels
            return False
        return state == "new" or project.image_model(rel) != config.model_id

    def is_fresh(self, rel: str) -> bool:
        project, config = self.window.project, self.scheduler.config
        return (project is not None and config is not None and project.state(rel) == "predicted"
                and project.image_model(rel) == config.model_id)

    def update_marks(self) -> None:
        model = self.window.files.model
        queued = self.scheduler.queued()
        marks = {rel: "queued" for rel in queued}
        if self.scheduler.config is not None:
            marks.update({rel: "fresh" for rel in model.paths() if rel not in queued and self.is_fresh(rel)})
        model.set_work_marks(marks)

    def forget(self, rel: str) -> None:
        self.scheduler.forget(rel)

    # -- results -------------------------------------------------------------------------------
    def fresh_document(self, rel: str, shape: tuple[int, int]) -> MaskDocument | None:
        """The document of an image whose background result may not be on disk yet."""
        entry = self._fresh.get(rel)
        project = self.window.project
        if entry is None or project is None or not self.is_fresh(rel) or entry[1].shape != tuple(shape):
            return None
        _model_id, labels, confidence, rankings = entry
        doc = MaskDocument(labels, project.classes)
        doc.keep_model_output(labels, confidence, rankings)
        return doc

    def _predicted(self, result: InferenceResult, rel: str) -> None:
        window = self.window
        project = window.project
        if project is None or window.image_path(rel) != result.image:
            return
        window._adopt_model_classes(result.classes)
        lut = class_lut(result.classes, project.classes)
        labels = lut[result.labels]
        rankings = result.rankings.remapped(lut) if result.rankings is not None else None
        if rel == window.current:
            self._show(result, labels, rankings)
        elif self.needs(rel):
            self._keep(rel, result, labels, rankings)
        self.replan()

    def _show(self, result: InferenceResult, labels: np.ndarray, rankings) -> None:
        """The image on screen: apply unless a person started editing (then keep it aside)."""
        window, doc = self.window, self.window.document
        if doc is None:
            return
        state = window.project.state(window.current)
        human = window.touched or image_states.has_human_work(state, bool(doc.edited.any())) or doc.in_stroke
        if human:
            if not result.preview:
                doc.keep_model_output(labels, result.confidence, rankings)
                window._keep_prediction(window.current, result)
                window._status(f"Prediction of {window.current} kept aside (you are editing it)")
            return
        doc.set_prediction(labels, result.confidence, rankings=rankings, preview=result.preview)
        window.canvas.refresh()
        if result.preview:
            window._status(f"Preview of {window.current} (coarse, {result.seconds:.1f} s); the full result follows")
            return
        window._keep_prediction(window.current, result)
        window._record_uncertainty(window.current, mean_uncertainty(result.confidence))
        window._set_state(window.current, image_states.after_prediction(state), result.config.model_id)
        window.save_current()
        window._status(f"Pre-segmented {window.current} in {result.seconds:.2f} s (work-ahead)")

    def _keep(self, rel: str, result: InferenceResult, labels: np.ndarray, rankings) -> None:
        """An image further down the list: its mask, sidecar and state, through the writer."""
        window = self.window
        project = window.project
        edited_path = project.edited_path(rel)
        edited = np.zeros(labels.shape, bool) if edited_path.exists() else None
        window.writer.save_mask(MaskSnapshot(project.label_path(rel), edited_path, labels, edited,
                                             project.classes))
        window._keep_prediction(rel, result)
        window._set_state(rel, image_states.after_prediction(project.state(rel)), result.config.model_id)
        window._record_uncertainty(rel, mean_uncertainty(result.confidence))
        window._save_project_now()
        self._fresh[rel] = (result.config.model_id, labels, result.confidence, rankings)
        while len(self._fresh) > self.scheduler.ahead + 2:
            self._fresh.popitem(last=False)

    def _failed(self, rel: str, message: str) -> None:
        self.window._status(f"Work-ahead could not segment {rel}: {message}", error=True)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()

