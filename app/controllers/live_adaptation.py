"""Live adaptation in the window: the model learns the person's classes while they label.

When a person finishes an image (it becomes done, or they leave an image they had finished
and changed again), a round runs on the adaptation worker
(:class:`~app.workers.adaptation.AdaptationService`): the head is re-fitted on the cached
features of every done image, scored on held-out images and adopted only when it gets more
pixels right (:meth:`~gcnet_core.adapt.job.LiveAdapter.round`); then every untouched image
is re-labelled from its cached features and handed to the session through the one rule
(:meth:`~gcnet_core.project.session.AnnotationSession.apply_relabel`). The round's line
("live model: 12 corrected images, 91.2 % pixels right on held-out images (was 78.5 %)")
stays in the status bar.

While a person paints, each finished stroke starts the stroke-scale loop after
:data:`STROKE_DEBOUNCE_MS`: a head fitted with the strokes included re-labels the open
image's unpainted pixels as part of the stroke's undo step
(:meth:`~gcnet_core.project.session.AnnotationSession.follow_strokes`). The fit gets what is
left of :data:`STROKE_GOAL_S` after the wait for the worker and what the rest of the last
stroke's job took (its samples, the re-label, handing it over), so on a busy machine it fits
for less rather than showing the image late (:func:`stroke_budget`).

The model the worker fits with is loaded when a folder opens or another model is chosen (a
session's first stroke or round would wait seconds for it otherwise).

A newer job cancels the running one; nothing runs while a training run or Segment all holds
the machine (the round waits and runs after); the Model menu's Live Adaptation switch (the
``live_adaptation`` setting, also in Preferences) stops all of it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSignalBlocker, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from gcnet_core.adapt.job import AdaptResult, NothingToLearn
from gcnet_core.adapt.publish import write_adapted_checkpoint
from gcnet_core.model.classes import IGNORE_INDEX
from gcnet_core.project.session import AnnotationSession
from gcnet_core.project.states import DONE_STATES
from gcnet_core.project.versions import Version, VersionRegistry

from app.settings.store import AppSettings
from app.workers.adaptation import AdapterHolder, AdaptationService
from app.workers.inference import ModelConfig

STROKE_DEBOUNCE_MS = 200  # a pause this long after a stroke starts the fit (a newer stroke's result replaces it)
STROKE_GOAL_S = 0.9  # a stroke's end to the refreshed image: the fit's budget is what this leaves (goal 1 s)
STROKE_BUDGET_S = (0.05, 0.5)  # the fit's budget at least (a few steps, warm from the head in use) and at most


class LiveAdaptation(QObject):
    """Drives the adaptation worker for the session.

    ``usable_config()``: the selected model when it runs without a download (None: nothing
    runs); ``held()``: why background work waits ("training", "batch") or None; ``action``:
    the Model menu's checkable switch; ``line``: the status-bar label of the last round;
    ``registry`` and ``versions_changed`` publish the live head as a model version.
    """

    def __init__(self, session: AnnotationSession, service: AdaptationService, settings: AppSettings,
                 usable_config: Callable[[], ModelConfig | None], held: Callable[[], str | None], action: QAction,
                 line: QLabel, registry: Callable[[], VersionRegistry], versions_changed: Callable[[Version], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.service, self.settings = session, service, settings
        self.usable_config, self.held, self.action, self.line = usable_config, held, action, line
        self.registry, self.versions_changed = registry, versions_changed
        self.holder = AdapterHolder()  # used on the adaptation thread only
        self.last_result: AdaptResult | None = None
        self.last_stroke_seconds: float | None = None  # stroke's end -> open image refreshed
        self.last_round_seconds: float | None = None  # image finished -> untouched images re-labelled
        self._asked_at = 0.0
        self.relabelled = 0  # images the last adopted round re-labelled
        self._asked = 0  # rounds asked for (a person finished an image) ...
        self._answered = 0  # ... and the last of them a round that ran to its end started after
        self._done_changed = False  # the open image is done and was changed since it opened
        self._jobs: dict[int, tuple[str, object]] = {}  # job id -> (kind, what its results need)
        self._fresh: set[str] = set()  # images a network pass labelled since the live head was adopted
        self._project = None  # the project the last image opened in
        self._flushing = False  # waiting for the writer before a round
        self._stroke_timer = QTimer(self, singleShot=True, interval=STROKE_DEBOUNCE_MS)
        self._stroke_timer.timeout.connect(self._follow_strokes)
        self._stroke_started = 0.0
        self._stroke_rest = 0.5  # a stroke's job besides its fit, last time (samples, re-label, hand-over)
        with QSignalBlocker(action):
            action.setChecked(settings.get("live_adaptation"))
        if not self.enabled:
            line.setText("live model: off")
        for name, slot in (("state_changed", self._state_changed), ("image_opened", self._image_opened),
                           ("labels_changed", self._labels_changed), ("classes_changed", self._classes_changed)):
            session.events.connect(name, slot)
        service.done.connect(self._done)
        service.partial.connect(self._partial)
        service.failed.connect(self._failed)
        service.cancelled.connect(lambda job_id: self._ended(job_id))

    # -- the switch ----------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self.action.isChecked()

    def set_enabled(self, on: bool) -> None:
        """The Model menu's switch (and Preferences): remembered; off stops what runs."""
        self.settings.set("live_adaptation", bool(on))
        if self.action.isChecked() != bool(on):
            with QSignalBlocker(self.action):
                self.action.setChecked(bool(on))
        if not on:
            self._stroke_timer.stop()
            self.service.cancel()
            self._say("live model: off")
        else:
            self.line.clear()
            self.model_changed()

    # -- what starts a round ------------------------------------------------------------------
    def _state_changed(self, rel: str, state: str) -> None:
        if state in DONE_STATES:
            self.want_round()
        elif state == "predicted" and self.live_head_in_use:  # a network pass: the live head does better
            self._fresh.add(rel)
            self._relabel_fresh()

    def _labels_changed(self, _rect) -> None:
        session = self.session
        if session.current is not None and session.project is not None \
                and session.project.state(session.current) in DONE_STATES:
            self._done_changed = True

    def _image_opened(self, _rel: str) -> None:
        self._stroke_timer.stop()
        project = self.session.project
        if project is not None and project is not self._project:  # a folder opened: learn from its done images
            self._project = project
            self.model_changed()
        if self._done_changed:
            self._done_changed = False
            self.want_round()

    def model_changed(self) -> None:
        """Another model (or folder): a live model of its own from the done images, if any."""
        project = self.session.project
        if project is not None and project.images_with_state(*DONE_STATES):
            self.want_round()
        self._prepare()

    def _classes_changed(self, _classes, _renumbered) -> None:
        self.want_round()  # the head's rows follow the project's classes

    def want_round(self) -> None:
        """A person finished an image: a round once every write before is on disk."""
        if self.session.project is None or not self.enabled:
            return
        self._asked += 1
        self._asked_at = time.perf_counter()
        if not self._flushing:  # one wait for the writer however many images were finished at once
            self._flushing = True
            self.session.writer.submit(lambda: None, self._flushed)

    def _flushed(self, _result=None) -> None:
        self._flushing = False
        self._start_round()

    def machine_changed(self) -> None:
        """A training run or Segment all started or ended: pause, or run what waited."""
        if self.held():
            self._stroke_timer.stop()
            self.service.cancel()
        elif self.round_due and not self.service.busy:
            self._start_round()
        else:
            self._relabel_fresh()  # e.g. what Segment all labelled takes the live model's labels

    def _start_round(self) -> None:
        config, project = self.usable_config(), self.session.project
        if not self.round_due or not self.enabled or config is None or project is None:
            return
        if self.held():
            self._say(f"live model: waits while {self.held()} holds the machine")
            return
        snapshot, cache, holder = project.snapshot(), self.session.features, self.holder

        def job(cancel, report):
            adapter = holder.get(config.name, config.checkpoint, snapshot, cache)
            try:
                result = adapter.round(snapshot, cancel=cancel, keep=False)
            except NothingToLearn as reason:
                return str(reason)
            if result.adopted:
                for path, labels in adapter.relabel_untouched(snapshot, cancel=cancel):
                    report((path, labels))
            adapter.keep()  # into the project, once the masks are out
            return result

        self.relabelled = 0
        self._fresh.clear()  # the round re-labels every untouched image
        self._jobs[self.service.submit(job)] = ("round", (project, config.model_id, self._asked))

    def _prepare(self) -> None:
        """Load the worker's model now (when no round does), so the first stroke or finished
        image of a session does not wait seconds for it."""
        config, project, holder = self.usable_config(), self.session.project, self.holder
        if not self.enabled or config is None or project is None or self.service.busy or self.held():
            return
        cache = self.session.features

        def job(_cancel, _report):
            holder.get(config.name, config.checkpoint, project, cache)

        self._jobs[self.service.submit(job)] = ("prepare", None)

    def _relabel_fresh(self) -> None:
        """Images a network pass labelled while the live head is in use get its labels, once
        the worker is free (never cancelling a round for it)."""
        config, project = self.usable_config(), self.session.project
        if not self._fresh or self.service.busy or not self.enabled or config is None or project is None \
                or self.held():
            return
        paths, snapshot, holder = [project.root / rel for rel in sorted(self._fresh)], project.snapshot(), self.holder
        self._fresh.clear()

        def job(cancel, report):
            adapter = holder.adapter
            if adapter is not None:
                for path, labels in adapter.relabel_untouched(snapshot, paths, cancel=cancel):
                    report((path, labels))

        self._jobs[self.service.submit(job)] = ("relabel", (project, config.model_id, 0))

    # -- the stroke-scale loop -----------------------------------------------------------------
    def stroke_finished(self) -> None:
        """The canvas finished an edit: follow it after a short pause (the next stroke restarts it)."""
        doc = self.session.document
        if self.enabled and doc is not None and not self.held() and doc.edited.any():
            self._stroke_started = time.perf_counter()
            self._stroke_timer.start()

    def _follow_strokes(self) -> None:
        session, config = self.session, self.usable_config()
        doc, rel, project = session.document, session.current, session.project
        if doc is None or rel is None or project is None or config is None or doc.can_redo or self.held() \
                or project.state(rel) in DONE_STATES:
            return  # after an undo the strokes are taken back, not followed; a done mask is the person's
        scribble = np.where(doc.edited, doc.labels, IGNORE_INDEX).astype(np.uint8)
        if not (scribble != IGNORE_INDEX).any():
            return
        path, classes, token = project.root / rel, tuple(project.classes.names), doc.last_step
        cache, holder, started, rest = self.session.features, self.holder, self._stroke_started, self._stroke_rest

        def job(cancel, _report):
            adapter = holder.get(config.name, config.checkpoint, project, cache)
            began = time.perf_counter()
            budget = stroke_budget(began - started, rest)
            labels = adapter.follow_strokes(classes, path, scribble, budget_s=budget, cancel=cancel)
            return labels, began, budget

        self._jobs[self.service.submit(job)] = ("stroke", (rel, token, started))

    # -- results -------------------------------------------------------------------------------
    @property
    def live_head_in_use(self) -> bool:
        """A round was adopted: the untouched images are labelled by the live head, not the model."""
        adapter = self.holder.adapter
        return adapter is not None and adapter.head is not None

    @property
    def round_due(self) -> bool:
        """A person finished an image after the start of the last round that ran to its end."""
        return self._asked > self._answered

    def _partial(self, job_id: int, piece) -> None:
        kind, context = self._jobs.get(job_id, ("", None))
        if kind not in ("round", "relabel") or not self._still(*context[:2]):
            return
        project = context[0]
        path, labels = piece
        if self.session.apply_relabel(project.relative(path), labels):
            self.relabelled += 1

    def _still(self, project, model_id: str | None) -> bool:
        """The session still shows that project, with that model, and the switch is on."""
        config = self.usable_config()
        return self.enabled and self.session.project is project and config is not None \
            and config.model_id == model_id

    def _done(self, job_id: int, result) -> None:
        kind, context = self._jobs.get(job_id, ("", None))
        if kind == "round" and self._still(*context[:2]):
            self._answered = max(self._answered, context[2])
            self._show_round(result)
        elif kind == "publish":
            self._published(result)
        elif kind == "stroke":
            rel, token, started = context
            labels, began, budget = result
            if self.enabled and self.session.current == rel and self.session.follow_strokes(labels, token):
                now = time.perf_counter()
                self.last_stroke_seconds = now - started
                self._stroke_rest = max(0.0, now - began - budget)  # what the next stroke's fit leaves room for
        self._ended(job_id)

    def _show_round(self, result: AdaptResult | str) -> None:
        if isinstance(result, str):  # nothing to learn from yet: said, not shouted
            self._say("live model: " + result.split(": ", 1)[-1])
            return
        if result.score_after is None:  # nothing new since the last fit (e.g. images exported): the line stands
            return
        self.last_result = result
        text = result.summary
        if result.adopted and self.relabelled:
            self.last_round_seconds = time.perf_counter() - self._asked_at
            text += (f"; {self.relabelled} untouched image{'s' if self.relabelled != 1 else ''} re-labelled "
                     f"{self.last_round_seconds:.1f} s after the last one was finished")
        self._say(text, result.notes)

    def _say(self, text: str, notes=()) -> None:
        """The status bar's one line for live adaptation (elided where it does not fit; whole,
        with the round's notes, in its tooltip)."""
        self.line.setText(text)
        self.line.setToolTip("\n".join([text, *notes]))

    def _failed(self, job_id: int, message: str) -> None:
        kind, _ = self._jobs.get(job_id, ("", None))
        if kind:
            self.session.tell(f"Live adaptation failed: {message}", error=True)
        self._ended(job_id)

    def _ended(self, job_id: int) -> None:
        self._jobs.pop(job_id, None)
        if self.round_due and not self.service.busy:
            self._start_round()  # a round a stroke (or the machine) interrupted runs again
        self._relabel_fresh()

    # -- publishing ----------------------------------------------------------------------------
    def publish(self) -> bool:
        """Model ▸ Publish Live Model: the adopted head as a model version (an ordinary
        checkpoint, official layout, the project's class names), listed with the fine-tuned ones."""
        project, config, result = self.session.project, self.usable_config(), self.last_result
        if project is None or config is None or result is None or not result.adopted:
            self.session.tell("No live model to publish yet: it is made once a fit on your corrected images "
                              "scores better than the model on images it was not fitted on")
            return False
        holder, classes, registry = self.holder, project.classes, self.registry()
        before, after = _metrics(result.score_before), _metrics(result.score_after)
        images = sorted(project.relative(image.path) for image in (holder.adapter.corrected if holder.adapter else []))

        def job(_cancel, _report) -> Version:
            adapter = holder.adapter
            if adapter is None or adapter.head is None:
                raise RuntimeError("the live model is gone (another model or folder was chosen)")
            model = adapter.model
            registry.root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=registry.root) as folder:
                checkpoint = write_adapted_checkpoint(
                    Path(folder) / "live.pth", model.network.state_dict(), adapter.head, model.entry,
                    model.classes.names, classes, {"corrected_images": result.corrected})
                return registry.publish(
                    checkpoint, name=f"{project.root.name} live {time.strftime('%Y-%m-%d %H:%M')}",
                    parent=config.model_id, project=project.root, images={"train": images},
                    settings={"live_adaptation": {"corrected_images": result.corrected,
                                                  "held_out_images": result.held_out}},
                    before=before, after=after)

        self._jobs[self.service.submit(job)] = ("publish", None)
        return True

    def _published(self, version: Version) -> None:
        self.versions_changed(version)
        self.session.tell(f"Live model published as {version.name}; choose it in the model list")

    def live_model(self):
        """The :class:`~gcnet_core.adapt.job.LiveAdapter` whose adopted head labels the untouched
        images now (its ``head`` in the open project's classes, its ``model`` the network it sits
        on), or None while the model as it is labels them. The fine-tune dock starts a full run
        from it; its head is never changed in place, and its network is only read (its weights,
        for a checkpoint) off the UI thread."""
        adapter, project = self.holder.adapter, self.session.project
        if not self.enabled or adapter is None or adapter.head is None or project is None \
                or adapter.head.class_names != tuple(project.classes.names):
            return None
        return adapter


def stroke_budget(waited_s: float, rest_s: float) -> float:
    """The stroke fit's budget in seconds: what :data:`STROKE_GOAL_S` leaves after ``waited_s``
    (the stroke's end to the job's start: the pause, the worker) and ``rest_s`` (the rest of the
    last stroke's job), within :data:`STROKE_BUDGET_S`."""
    low, high = STROKE_BUDGET_S
    return min(high, max(low, STROKE_GOAL_S - waited_s - rest_s))


def _metrics(score) -> dict | None:
    """A held-out score as a version's metrics (percent)."""
    return None if score is None else {"aAcc": score.accuracy, "mIoU": score.miou}


__all__ = ["LiveAdaptation", "STROKE_BUDGET_S", "STROKE_DEBOUNCE_MS", "STROKE_GOAL_S", "stroke_budget"]
