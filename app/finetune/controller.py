"""Glue between the window, the fine-tune panel, the training worker and the version registry.

The window creates one :class:`FinetuneController`; it adds the dock and a device label to
the status bar, drives the Model menu's fine-tune actions and plugs published versions into
the model selector.
A run goes: Start (a run folder and ``gcnet train`` in a QProcess) -> events (curves) ->
done -> publish the best checkpoint as a version -> select it -> Re-segment on demand.

While live adaptation has adopted a head for the model a run starts from, Start begins with
that head's classifier (the project's classes, new ones included: a checkpoint written into the
run folder) unless the person unticks "Start from the live model"; the run is then compared with
the better of it and the model it sits on. The live fit is re-done without the labels the run
holds out (:mod:`.live_start`), so neither side of the comparison has seen what it is judged on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QInputDialog, QLabel

from gcnet_core.adapt.publish import write_adapted_checkpoint
from gcnet_core.project.versions import Version, VersionError, VersionRegistry, runs_dir
from gcnet_core.train.data import holdout_plan
from gcnet_core.train.estimate import RunEstimate
from gcnet_core.weights.download import cached_checkpoint
from gcnet_core.weights.zoo import get_entry

from ..panels.model_panel import ModelChoice
from ..workers.inference import InferenceResult, ModelConfig
from ..workers.tasks import run_in_pool
from .estimate import RunEstimator
from .gpu import GpuShare
from .live_start import run_split, start_head
from .panel import FinetunePanel
from .process import RunEnd, TrainProcess
from .runs import RunRecord, compare, device_defaults, latest_run, train_arguments, training_device_type

RESEGMENT_STATES = ("new", "predicted")  # never corrected or exported images
ESTIMATE_DELAY_MS = 800  # settings changed: measure again once they have stopped changing
LIVE_START_NAME = "live-start.pth"  # the live model as a run's starting checkpoint, in the run folder


def about(seconds: float) -> str:
    """A run time as people say it: 'about 40 s', 'about 6 min', 'about 2 h 05 min'."""
    if seconds < 90:
        return f"about {max(round(seconds), 1)} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"about {hours} h {minutes:02d} min"


def held_out_count(corrected: int, share: float) -> int:
    """Images a run on ``corrected`` done images predicts to score itself (a single image, split
    into held-out blocks, is predicted once; :func:`gcnet_core.train.data.holdout_plan`)."""
    return len(holdout_plan(corrected, share, 0)[1]) if corrected else 0


def estimate_text(estimate: RunEstimate) -> str:
    where = "on this CPU" if estimate.device.startswith("cpu") else "on the GPU"
    return (f"Estimated time: <b>{about(estimate.total_s)}</b> {where} "
            f"({estimate.step_s:.1f} s per iteration, measured)")


def published_message(name: str, before: float | None, after: float | None, from_rejected: bool = False,
                      judged_on: str = "the held-out images", against: str = "") -> str:
    """What a published run means for the person: re-segmenting is offered only with a version
    that scored better on the held-out images (``judged_on``, as the dock says it) than the best
    model so far (a worse one, or one that only beat a rejected version it was ``from_rejected``,
    stays out of use; one that could not be scored is the person's to choose). ``against``: what
    "before" was, when not simply the model the run started from."""
    scores = f"held-out mIoU {before:.1f} → {after:.1f} on {judged_on}" if before is not None and after is not None \
        else ""
    versus = f" ({against})" if against else ""
    if from_rejected:
        return (f"Published “{name}”{': ' + scores if scores else ''}, but it was trained from a version that "
                "scored no better than its own start, so it is not selected. The new version is listed under "
                "Model versions.")
    if not scores:
        return (f"Published “{name}”, not selected: there were no held-out images to score it on (Held out was "
                "0 %), so it may be worse than the model it started from. Choose it under Model versions to "
                "use it.")
    if after > before:
        return (f"Published “{name}”: {scores} (better{versus}), and selected it. "
                "Re-segment the untouched images with it below.")
    return (f"Published “{name}”: {scores}, not better than the model it started from{versus}, which stays "
            "selected. The new version is listed under Model versions.")


class FinetuneController(QObject):
    """Owns the fine-tune dock and the training worker of one window.

    Signals (for tests and other panels): ``runEnded(RunEnd)``, ``published(Version)``.
    """

    runEnded = Signal(object)
    published = Signal(object)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.registry = VersionRegistry()
        self.gpu = GpuShare()
        self.run: RunRecord | None = None
        self.process = TrainProcess(window.batch.command, self)
        self.panel = FinetunePanel(window, window.settings)
        self._final: dict[str, Any] | None = None
        self._inference_device = ""  # where the last interactive prediction ran
        self._device_note = ""  # why it ran there while a run holds the GPU
        self._publish_task = None
        self._defaults_for: tuple[str, str] | None = None  # (entry, device type) the form's defaults are for
        self.estimator = RunEstimator(window.batch.command, self)
        self._estimate: RunEstimate | None = None
        self._estimate_key: tuple | None = None  # what the measured estimate was measured for
        self._requested_key: tuple | None = None
        self._estimate_timer = QTimer(self, singleShot=True, interval=ESTIMATE_DELAY_MS)
        self._estimate_timer.timeout.connect(self.refresh_estimate)
        self._live_shown = None  # the live head the dock's start was last described with

        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.panel)
        window.tabifyDockWidget(window.classes_panel, self.panel)
        window.classes_panel.raise_()
        self.device_label = QLabel()
        self.device_label.setContentsMargins(6, 0, 6, 0)
        window.statusBar().addPermanentWidget(self.device_label)

        self.start_action = window.action_set.finetune_start  # the Model menu's (app/actions/table.py)

        panel = self.panel
        panel.startRequested.connect(self.start)
        panel.cancelRequested.connect(self.cancel)
        panel.resumeRequested.connect(self.resume)
        panel.resegmentRequested.connect(self.resegment)
        panel.versions.useRequested.connect(self.use_version)
        panel.versions.renameRequested.connect(self._ask_rename)
        panel.versions.deleteRequested.connect(self.delete_version)
        panel.form.val_share.valueChanged.connect(lambda _v: self.refresh_data())
        panel.form.changed.connect(self._settings_changed)
        panel.visibilityChanged.connect(lambda visible: visible and self._show_estimate())
        self.estimator.estimated.connect(self._estimated)
        self.estimator.failed.connect(lambda message: self.panel.show_estimate(
            f"Could not measure how long it takes: {message}"))
        panel.live_start.toggled.connect(lambda _on: self._base_changed())
        self.process.event.connect(self._event)
        self.process.ended.connect(self._ended)
        QTimer.singleShot(0, self._follow_live_adaptation)  # the window makes live adaptation after the dock
        window.files.model.countsChanged.connect(self.refresh_data)
        window.files.model.modelReset.connect(self._project_changed)
        window.model_panel.configChanged.connect(lambda _config: self._base_changed())
        window.inference.finished.connect(self._inference_finished)
        self.refresh_versions()
        self._base_changed()
        self.refresh_data()
        self._update_device_label()

    # ================================================================== data and base model
    def corrected_count(self) -> int:
        counts = self.window.files.model.counts
        return counts["corrected"] + counts["exported"]

    def refresh_data(self) -> None:
        corrected = self.corrected_count()
        share = self.panel.form.val_share.value() / 100
        held_out = held_out_count(corrected, share)
        files = self.window.files.model
        self.panel.set_data(corrected, held_out, files.rowCount() - files.broken_count,  # unreadable: not images
                            blocks=corrected == 1 and share > 0)
        self._show_estimate()

    # ================================================================== the live model
    def _follow_live_adaptation(self) -> None:
        live = getattr(self.window, "live", None)
        if live is not None:  # each adopted round (or a cleared one) may change what Start starts from
            live.service.done.connect(lambda *_args: self._live_changed())
            live.action.toggled.connect(lambda _on: self._live_changed())  # switched off: no live start

    def _live_changed(self) -> None:
        """A live job ended: the dock's start follows only when the live model it offers changed."""
        if self._live_head() is not self._live_shown:  # no file read unless it changed
            self._base_changed()

    def _live_head(self):
        live = getattr(self.window, "live", None)
        adapter = live.live_model() if live is not None else None
        return adapter.head if adapter is not None else None

    def live_start(self, ticked_only: bool = False):
        """The live adapter a run could start from: live adaptation adopted a head for exactly the
        model the run starts from (and, ``ticked_only``, "Start from the live model" is ticked)."""
        if ticked_only and not self.panel.live_start.isChecked():
            return None
        live = getattr(self.window, "live", None)
        adapter = live.live_model() if live is not None else None
        if adapter is None:
            return None
        choice = self.starting_choice()
        path = choice.checkpoint or cached_checkpoint(choice.entry)
        loaded = adapter.model
        if loaded.entry.name != choice.entry.name or path is None or loaded.checkpoint_path is None \
                or Path(loaded.checkpoint_path).resolve() != Path(path).resolve():
            return None  # fitted on another model's features
        return adapter

    def starting_choice(self) -> ModelChoice:
        """What the next run starts from and is compared with: the selected model, unless it is
        a version that scored no better than the model it started from; then that model (the
        best one so far, :meth:`VersionRegistry.best_start`), so a run never builds on a worse one."""
        model_panel = self.window.model_panel
        selected = model_panel.choice()
        label = self.registry.best_start(selected.label or selected.name)
        if label == (selected.label or selected.name):
            return selected
        try:
            return self.version_choice(self.registry.get(label))
        except VersionError:
            pass
        found = model_panel.find(label)
        if found is not None:
            return found
        try:
            return ModelChoice(get_entry(label).name)
        except KeyError:  # started from a file no longer listed: the architecture's official weights
            return ModelChoice(selected.name)

    def _base_changed(self) -> None:
        selected = self.window.model_panel.choice()
        choice = self.starting_choice()
        entry = choice.entry
        crop = "x".join(str(v) for v in entry.crop_size)
        zoo = f"{entry.dataset.title} {entry.backbone} {crop} {entry.schedule}"
        named = choice.title or choice.label
        title = f"{named} (on {zoo})" if named else f"{zoo} (model zoo)"
        if choice != selected:
            title += (f" — the selected “{selected.title or selected.label}” never scored better than it, "
                      "so training starts from this best model so far")
        offered = self.live_start()  # ticked or not
        self._live_shown = self._live_head()
        self.panel.show_live_start(len(offered.head.fitted_on) if offered is not None else None)
        if offered is not None and self.panel.live_start.isChecked():
            images = len(offered.head.fitted_on)
            title = f"the live model ({images} corrected image{'s' if images != 1 else ''}), on {title}"
        self.panel.set_base(title)
        self._apply_device_defaults()
        self.refresh_versions()
        self._show_estimate()

    def _apply_device_defaults(self) -> None:
        """The base model's defaults on the device the form trains on (minutes on a CPU), where a
        person has not chosen their own; again whenever the model or the device changes."""
        entry = self.window.model_panel.choice().entry
        device_type = training_device_type(self.panel.form.device.currentData())
        if (entry.name, device_type) != self._defaults_for and not self.process.running:
            self._defaults_for = (entry.name, device_type)
            self.panel.form.set_defaults(**device_defaults(entry, device_type))

    def _settings_changed(self) -> None:
        self._apply_device_defaults()
        self._show_estimate()

    # ================================================================== the time estimate
    def _measure_key(self) -> tuple | None:
        """What a measured step depends on: the project, the starting weights, batch, crop, device."""
        project = self.window.session.project
        if project is None:
            return None
        choice = self.starting_choice()
        settings = self.panel.form.settings()
        return (str(project.root), choice.name, str(choice.checkpoint), settings.batch_size, settings.crop,
                settings.device)

    def _show_estimate(self) -> None:
        """The estimate for the settings shown: the measured step and prediction times times this
        run's iterations and held-out images; a new measurement (debounced) when what they
        depend on changed."""
        if self.process.running:
            self.panel.show_estimate("")
            return
        if self.corrected_count() == 0 or self.window.session.project is None:
            self.estimator.cancel()
            self.panel.show_estimate("")
            return
        if self._estimate is not None and self._estimate_key == self._measure_key():
            settings = self.panel.form.settings()
            held_out = held_out_count(self.corrected_count(), settings.val_share)
            self.panel.show_estimate(estimate_text(dataclasses.replace(
                self._estimate, iters=settings.iters, val_interval=settings.val_interval, num_val=held_out)))
            return
        if self.panel.isVisible():  # measured only while a person looks at the dock
            self.panel.show_estimate("Estimated time: measuring two training steps…")
            self._estimate_timer.start()

    def refresh_estimate(self) -> None:
        """Measure the settings shown in a ``gcnet train --estimate`` process (never here)."""
        key = self._measure_key()
        if key is None or self.process.running or self.corrected_count() == 0:
            return
        choice = self.starting_choice()
        if choice.checkpoint is None and cached_checkpoint(choice.entry) is None:
            self.panel.show_estimate("Estimated time: known once the model's weights are downloaded (Start "
                                     "downloads them).")
            return
        self._requested_key = key
        self.estimator.request(train_arguments(self.panel.form.settings(), Path(key[0]), runs_dir() / "estimate",
                                               choice.name, choice.checkpoint))

    def _estimated(self, estimate: RunEstimate) -> None:
        self._estimate, self._estimate_key = estimate, self._requested_key
        self._show_estimate()

    def _project_changed(self) -> None:
        """A folder was opened: show its last run (resumable, or its before/after)."""
        if self.process.running:
            return  # the running run keeps the panel; it belongs to the folder it started in
        project = self.window.session.project
        self.run = latest_run(project.root) if project is not None else None
        self.panel.progress.reset(1)
        self.panel.show_comparison(None)
        self.panel.show_message("")
        if self.run is not None:
            self._replay(self.run)
            comparison = compare(self.run.events())
            if self.run.status == "published":
                self.panel.show_comparison(comparison)
                self.panel.show_message(f"Last run published {self.run.version}.")
            elif self.run.resumable:
                how = {"running": "was interrupted", "cancelled": "was cancelled"}.get(self.run.status, "failed")
                self.panel.show_message(f"The last run {how}; Resume continues it from its last checkpoint.")
        self._update_buttons()

    def _replay(self, record: RunRecord) -> None:
        self.panel.progress.reset(record.settings.iters)
        # the run's own settings are shown, not replaced by the defaults of its device
        self._defaults_for = (self.window.model_panel.choice().entry.name,
                              training_device_type(record.settings.device))
        self.panel.form.set_settings(record.settings)
        for event in record.events():
            self.panel.handle_event(event)

    # ================================================================== run control
    def show_and_start(self) -> None:
        self.panel.show()
        self.panel.raise_()
        self.start()

    def start(self) -> None:
        """Start a new run on the open project's corrected images with the selected model."""
        window = self.window
        if self.process.running or window.session.project is None:
            return
        window.flush()
        if self.corrected_count() == 0:
            window.prompter.information("Fine-tune", "Mark at least one corrected image done (Ctrl+D) first: "
                                        "fine-tuning learns from the images marked done.")
            return
        choice = self.starting_choice()
        config = dataclasses.replace(window.model_panel.config(), name=choice.name, checkpoint=choice.checkpoint,
                                     label=choice.label)
        settings = self.panel.form.settings()
        project = window.session.project
        live = self.live_start(ticked_only=True)
        head = live.head if live is not None else None  # the rows as they are now, whatever the next round does

        def launch() -> None:
            try:
                record = RunRecord.create(project.root, choice.name, choice.checkpoint, config.model_id, settings)
            except OSError as error:
                self.panel.show_message(f"Could not create the run folder: {error}", error=True)
                return
            self.panel.progress.reset(settings.iters)
            self.panel.show_comparison(None)
            if head is None:
                self._launch(record)
                return
            self.panel.show_message("Fitting the live model on the images the run trains on…")
            baseline = Path(choice.checkpoint or cached_checkpoint(choice.entry))
            model, classes, corrected = live.model, project.classes, list(live.corrected)

            def work() -> tuple[Path, int]:
                split = run_split(project.root, settings.val_share)
                fitted, images = (start_head(corrected, model, classes.names, project.root, split)
                                  if split.held_out or split.blocks else (head, len(head.fitted_on)))
                path = write_adapted_checkpoint(
                    record.folder / LIVE_START_NAME, model.network.state_dict(), fitted, model.entry,
                    model.classes.names, classes, {"corrected_images": images})
                return path, images

            def written(result: tuple[Path, int]) -> None:
                record.start_from_live(result[0], result[1], baseline)
                if not self.process.running:
                    self._launch(record)

            def failed(message: str) -> None:
                record.set_status("failed", message)
                self.panel.show_message(f"Could not write the live model for the run: {message}", error=True)

            self._publish_task = run_in_pool(work, written, failed)

        window.models.with_checkpoint(config, launch)

    def resume(self) -> None:
        """Continue the last run (the engine resumes from ``resume.pth`` in its folder)."""
        record = self.run
        if self.process.running or record is None or not record.resumable:
            return
        self._replay(record)
        self._launch(record)

    def _launch(self, record: RunRecord) -> None:
        self.estimator.cancel()  # the run itself says how long it takes from here
        self._estimate_timer.stop()
        self.panel.show_estimate("")
        self.run = record
        self._final = None
        record.set_status("running")
        self.process.start(record.arguments(), record.folder)
        self.panel.show_message(f"Starting the training process (run {record.id})…")
        self._update_buttons()
        self.window.session.tell("Fine-tuning started; keep correcting while it trains")

    def cancel(self) -> None:
        if not self.process.running:
            return
        self.process.cancel()
        if self.process.running and self.process.stopping:
            self.panel.show_message("Stopping after the current iteration (a checkpoint is saved)…")
        self._update_buttons()

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Closing the window: stop the worker with a checkpoint, so Resume works next time."""
        self._estimate_timer.stop()
        self.estimator.cancel()
        self.estimator.wait(5000)
        if self.process.running:
            self.process.cancel()
            if not self.process.wait(timeout_ms):
                self.process.kill()
                self.process.wait(5000)

    def _update_buttons(self) -> None:
        running = self.process.running
        project = self.window.session.project
        resumable = (self.run is not None and self.run.resumable and project is not None
                     and self.run.project == str(project.root))
        self.panel.set_running(running, can_resume=resumable, stopping=self.process.stopping)
        self.start_action.setEnabled(not running)
        self.panel.resegment_button.setEnabled(project is not None and not self.window.batch.running)

    # ================================================================== worker events
    def _event(self, event: dict[str, Any]) -> None:
        self.panel.handle_event(event)
        kind = event.get("event")
        if kind == "start":
            self.gpu.training_device = str(event.get("device") or "")
            if self.gpu.training_on_gpu and self._inference_device.startswith("cuda"):
                self.window.inference.unload()  # give training the memory; the next request decides
                self._inference_device = ""
            resumed = f", resumed at iteration {event.get('start_iter')}" if event.get("resumed") else ""
            self.panel.show_message(f"Training on {event.get('num_train')} images, {event.get('num_val')} held "
                                    f"out, on {event.get('device')}{resumed}.")
            self._update_device_label()
        elif kind == "val" and int(event.get("iter", -1)) == 0 and event.get("mIoU") is not None:
            self.panel.show_message(f"Base model: {event['mIoU']:.1f} mIoU on the held-out images; training…")
        elif kind == "warning":
            self.panel.show_message(str(event.get("message", "")))
        elif kind in ("done", "cancelled", "error"):
            self._final = event

    def _ended(self, outcome: RunEnd) -> None:
        record = self.run
        self.gpu.training_device = None
        self._update_device_label()
        if outcome.status == "done":
            record.set_status("done")
            self.panel.show_message("Training finished; publishing the new version…")
            self._publish(record, self._final or {})
        elif outcome.status == "cancelled":
            record.set_status("cancelled")
            self.panel.show_message(f"Cancelled at iteration {outcome.last_iter}; the checkpoint is kept, "
                                    "Resume continues from it.")
            self.window.session.tell("Fine-tuning cancelled")
        else:
            record.set_status("failed", outcome.message)
            saved = self._last_checkpoint_iter(record)
            where = (f"Resume continues from the checkpoint of iteration {saved}." if saved
                     else "No checkpoint was saved yet: Resume starts the run again.")
            self.panel.show_message(f"{outcome.message}\nYour masks are untouched. {where}", error=True)
            self.window.session.tell("Fine-tuning stopped: " + outcome.message.splitlines()[0], error=True)
            self.panel.show()
            self.panel.raise_()
        self._update_buttons()
        self._show_estimate()
        self.runEnded.emit(outcome)

    @staticmethod
    def _last_checkpoint_iter(record: RunRecord) -> int | None:
        saved = [e.get("iter") for e in record.events() if e.get("event") == "checkpoint" and e.get("kind") == "last"]
        return saved[-1] if saved else None

    # ================================================================== versions
    def _publish(self, record: RunRecord, done: dict[str, Any]) -> None:
        comparison = compare(record.events())
        checkpoint = done.get("best_path") or done.get("last_path") or str(record.folder / "last.pth")
        registry = self.registry
        settings = record.settings.to_json()
        if record.live_images:  # where its classifier began: the live model on that many done images
            settings["live_images"] = record.live_images

        def work() -> Version:
            return registry.publish(
                checkpoint, parent=record.base_label, project=record.project,
                images={"train": comparison.train_images, "val": comparison.val_images},
                settings=settings, before=comparison.before, after=comparison.after)

        def published(version: Version) -> None:
            record.version = version.id
            record.set_status("published")
            (record.folder / LIVE_START_NAME).unlink(missing_ok=True)  # the version holds what came of it
            self.refresh_versions()
            before, after = version.miou("before"), version.miou("after")
            worse = registry.best_start(version.id) != version.id  # no better, or built on a rejected one
            unscored = before is None or after is None  # the person's to choose, never put in use unasked
            if not worse and not unscored:
                self.use_version(version.id)
            self.panel.show_comparison(comparison)
            self.panel.reveal_results()
            self.panel.show_message(published_message(
                version.name, before, after, from_rejected=worse and version.adopted,
                judged_on=comparison.judged_on, against=self._before_text(record, comparison)))
            chosen = "selected" if not worse and not unscored else "listed"
            self.window.session.tell(f"New model version {version.name} {chosen}")
            self.published.emit(version)

        def failed(message: str) -> None:
            self.panel.show_message(f"Could not publish the new version: {message}", error=True)

        self._publish_task = run_in_pool(work, published, failed)

    def _before_text(self, record: RunRecord, comparison) -> str:
        """What the run's "before" was, when it started from the live model: the better of it and
        the model the live model sits on."""
        if not record.live_images:
            return ""
        images = record.live_images
        live = f"the live model fitted on the {images} image{'s' if images != 1 else ''} the run trains on"
        model = f"“{self._label_title(record.base_label)}”"
        if comparison.before_from is None:
            return f"before: {live}, the better of it and {model}"
        return f"before: {model}, the better of it and {live}"

    def _label_title(self, label: str) -> str:
        try:
            return self.registry.get(label).name
        except VersionError:
            return label

    def version_choice(self, version: Version) -> ModelChoice:
        return ModelChoice(version.base_model, version.checkpoint, version.id, title=version.name,
                           fine_tuned=version.fine_tuned)

    def is_version_choice(self, choice: ModelChoice) -> bool:
        """Whether ``choice`` is a fine-tuned version (its file in the version registry)."""
        return choice.checkpoint is not None and Path(choice.checkpoint).parent.parent == self.registry.root

    def refresh_versions(self) -> None:
        """List the published versions in the panel and in the model selector."""
        versions = []
        for version in self.registry.list():
            try:
                get_entry(version.base_model)
            except KeyError:
                continue  # made by a newer program with an entry this one does not know
            versions.append(version)
        model_panel = self.window.model_panel
        others = [c for c in model_panel.extra_choices() if not self.is_version_choice(c)]
        choices = others + [self.version_choice(v) for v in versions]
        if choices != model_panel.extra_choices() or any(
                a.title != b.title for a, b in zip(choices, model_panel.extra_choices())):
            model_panel.set_extra_choices(choices)
        active = model_panel.choice().label if self.is_version_choice(model_panel.choice()) else None
        self.panel.versions.set_versions(versions, active)

    def use_version(self, version_id: str) -> bool:
        """Select a version in the model selector (rolling back = selecting an older one)."""
        try:
            version = self.registry.get(version_id)
        except VersionError as error:
            self.panel.show_message(str(error), error=True)
            return False
        ok = self.window.model_panel.select(self.version_choice(version))
        self.refresh_versions()
        return ok

    def _ask_rename(self, version_id: str) -> None:
        version = self.registry.get(version_id)
        name, ok = QInputDialog.getText(self.panel, "Rename version", "Name:", text=version.name)
        if ok and name.strip():
            self.rename_version(version_id, name)

    def rename_version(self, version_id: str, name: str) -> None:
        try:
            self.registry.rename(version_id, name)
        except VersionError as error:
            self.panel.show_message(str(error), error=True)
            return
        self.refresh_versions()
        self._base_changed()

    def delete_version(self, version_id: str, ask: bool = True) -> None:
        """Delete a version; if it was selected, the best model it descends from (its starting model,
        or what that one gave way to when it scored no better, or the zoo base) is selected."""
        try:
            version = self.registry.get(version_id)
        except VersionError as error:
            self.panel.show_message(str(error), error=True)
            return
        if ask and not self.window.prompter.question(
                "Delete version", f"Delete the model version “{version.name}” and its checkpoint? "
                "Masks it made stay as they are."):
            return
        model_panel = self.window.model_panel
        if model_panel.choice().label == version.id:  # roll back to what it was trained from
            parent = self.registry.best_start(version.parent) if version.parent else None
            fallback = next((c for c in model_panel.extra_choices() if c.label == parent
                             and c.label != version.id), None)
            model_panel.select(fallback or ModelChoice(version.base_model))
        self.registry.delete(version.id)
        self.refresh_versions()

    # ================================================================== re-segment and devices
    def resegment(self) -> None:
        """Segment every image not corrected yet with the selected model (the new version)."""
        self.window.segment_all(states=RESEGMENT_STATES)

    def inference_config(self, config: ModelConfig) -> ModelConfig:
        """The configuration interactive inference should use while a run may hold the GPU."""
        device, note = self.gpu.inference_device(config.device)
        self._device_note = note
        self._update_device_label()
        return config if device == config.device else dataclasses.replace(config, device=device)

    def _inference_finished(self, result: InferenceResult) -> None:
        self._inference_device = getattr(result, "device", "") or ""
        self._update_device_label()

    def _update_device_label(self) -> None:
        parts = []
        if self._inference_device:
            parts.append(f"Inference: {self._inference_device}")
        note = self._device_note if self.gpu.training_device else ""
        if note:
            parts.append(note)
        if self.gpu.training_device:
            parts.append(f"training on {self.gpu.training_device}")
        self.device_label.setText(" · ".join(parts))


__all__ = ["FinetuneController", "RESEGMENT_STATES", "published_message"]
