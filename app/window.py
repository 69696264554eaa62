"""The main window: shows one :class:`~gcnet_core.project.session.AnnotationSession` and wires
the canvas, the panels, the controllers and the workers to it.

The session holds the state and the rules (the project, the image being edited, its
document and history, what a model's result may change); the window shows it, forwards what
a person does and subscribes to its events. Everything slow happens elsewhere: folder scans
and thumbnails on pool threads, inference on a QThread that keeps the model, downloads and
exports on QThreads, batch segmentation in a separate process, and every project write on
one serial background thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSignalBlocker, Qt, QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow

from gcnet_core.files.images import ImageReadError, read_image_rgb
from gcnet_core.project import states as image_states
from gcnet_core.project.session import AnnotationSession
from gcnet_core.project.store import Project, ProjectError
from gcnet_core.weights.zoo import get_entry

from app.dialogs.about import show_about
from app.actions.listing import action_keys, shortcut_rows
from app.actions.table import build_actions
from .canvas import CanvasView
from app.controllers.class_editing import ClassEditing
from app.dialogs.export_labels import ExportDialog
from .finetune import FinetuneController
from app.actions.hold_key import HoldKeyFilter
from app.dialogs.import_labels import ImportDialog
from app.actions.menus import build_menus, build_status_labels, build_toolbar
from app.controllers.model_classes import ModelClasses
from app.controllers.model_memory import ModelMemory
from .panels.class_panel import ClassPanel
from .panels.file_list import FileListDock
from .panels.model_panel import ModelChoice, ModelPanel
from app.dialogs.preferences import Preferences
from app.controllers.presegment import PresegmentController
from app.dialogs.prompter import Prompter
from app.controllers.recent import RecentFolders, dropped_target
from app.dialogs.replace_class import ReplaceClassDialog
from app.dialogs.shortcut_sheet import ShortcutSheet
from app.controllers.segment_all import SegmentAllController
from app.settings.last_image import last_image, remember_image
from app.settings.store import AppSettings
from app.shell.theme import application_theme
from app.shell.window_geometry import first_geometry, fitted_geometry
from app.dialogs.welcome import show_welcome
from app.controllers.workahead import WorkAheadController
from app.controllers.live_adaptation import LiveAdaptation
from .workers import prediction_files
from .workers.adaptation import AdaptationService
from .workers.batch import DEFAULT_COMMAND, BatchSegmenter
from .workers.inference import InferenceService, ModelConfig
from .workers.saving import SerialWriter, load_masks
from .workers.scan import FolderScan, start_scan
from .workers.session_writer import SessionWriter
from .workers.tasks import run_in_pool

AUTOSAVE_MS = 1000
HIDE_MASK_KEY = Qt.Key.Key_H


class MainWindow(QMainWindow):
    """GCNet Annotator's window. Constructor parameters exist for tests and embedding:
    ``settings`` (where to remember things), ``prompter`` (message boxes) and
    ``batch_command`` (the program that runs ``gcnet`` for Segment all)."""

    def __init__(self, settings: AppSettings | None = None, prompter: Prompter | None = None,
                 batch_command: list[str] | tuple[str, ...] = DEFAULT_COMMAND) -> None:
        super().__init__()
        self.setWindowTitle("GCNet Annotator")
        self.settings = settings or AppSettings()
        self.prompter = prompter or Prompter(self)
        self.writer = SerialWriter(self)  # every mask, sidecar and project-file write, in order
        self.writer.failed.connect(self._save_failed)
        self.session = AnnotationSession(SessionWriter(self.writer, self._save_failed))
        self._scan: FolderScan | None = None
        self._scan_id = 0
        self._model_chosen = True  # set False by open_folder until its first images are listed
        self._resume: str | None = None  # the image a folder was left at: opened when the scan lists it
        self._opened_text = ""  # the status text that names the image just opened and its state

        self.canvas = CanvasView()
        self.canvas.run_in_background = run_in_pool  # slow tool work, e.g. the snap's GrabCut, off the UI thread
        self.setCentralWidget(self.canvas)
        self.files = FileListDock(self)
        self.classes_panel = ClassPanel(self)
        self.model_panel = ModelPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.files)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.model_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.classes_panel)
        self.inference = InferenceService(self)
        self.inference.feature_cache = lambda: self.session.features  # full passes keep their features there
        self.batch = BatchSegmenter(batch_command, self)
        self.action_set = build_actions(self)  # the table in app/actions/table.py
        self.finetune = FinetuneController(self)  # fine-tune dock, training worker, model versions
        self.status_labels = build_status_labels(self)
        self.models = ModelMemory(self)  # the selection remembered, per project, imported files kept
        self.workahead = WorkAheadController(  # the model segments images before they are opened
            self.session, self.inference, self.files, self.settings, self.selected_config, self._machine_held,
            self.action_set.workahead_on_open, self.action_set.workahead_ahead, self)
        self.presegment = PresegmentController(
            self.session, self.inference, self.model_panel, self.prompter, self.selected_config,
            self.models.with_checkpoint, self.workahead, self.files.model.problem,
            self.action_set.cancel_segment, self.status_labels.time, self)
        self.segmenting_all = SegmentAllController(
            self.session, self.batch, self.files, self.model_panel, self.inference, self.prompter,
            self.selected_config, self.models.with_checkpoint, self.flush, self._batch_changed, self)
        self.workahead.scheduler.failed.connect(lambda rel, _why: self.files.check_failed([rel]))  # undecodable: marked
        self.batch.finished.connect(lambda summary: self.files.check_failed(path for path, _why in summary.failed))
        self.live = LiveAdaptation(  # the classifier re-fitted on the done images, on its own thread
            self.session, AdaptationService(self), self.settings, self.workahead.usable_config, self._machine_held,
            self.action_set.live_enabled, self.status_labels.live, lambda: self.finetune.registry,
            lambda _version: self.finetune.refresh_versions(), self)
        self.toolbar = build_toolbar(self, self.action_set)
        self.class_editing = ClassEditing(self)  # the class panel's requests and the session's classes
        self.model_classes = ModelClasses(self.session, self.model_panel, self)  # model vs project classes
        recent_menu = build_menus(self, self.action_set, (self.files, self.classes_panel, self.model_panel,
                                                       self.finetune.panel))
        self.recent = RecentFolders(self.settings, self.open_folder, recent_menu)
        self.setAcceptDrops(True)  # folders and images dropped from a file manager

        self._autosave = QTimer(self, singleShot=True, interval=AUTOSAVE_MS)
        self._autosave.timeout.connect(self.save_current)
        self._shares_timer = QTimer(self, singleShot=True, interval=250)
        self._shares_timer.timeout.connect(self.update_shares)
        self._project_save = QTimer(self, singleShot=True, interval=AUTOSAVE_MS)
        self._project_save.timeout.connect(self._save_project_now)

        self._connect()
        self._restore_settings()
        self.hold_filter = HoldKeyFilter(HIDE_MASK_KEY, self)
        self.hold_filter.held.connect(lambda held: self.canvas.set_mask_visible(not held))
        QApplication.instance().installEventFilter(self.hold_filter)
        self.update_actions()
        self.preferences = Preferences(self)  # after every action exists: shortcuts, autosave, cache
        QTimer.singleShot(0, self.workahead.replan)  # loads the remembered model while the person picks a folder

    # ================================================================== wiring
    def _connect(self) -> None:
        session, files, classes, model, canvas = self.session, self.files, self.classes_panel, self.model_panel, \
            self.canvas
        for name, slot in (("status", self.show_status), ("state_changed", self._state_changed),
                           ("uncertainty_changed", files.model.set_uncertainty),
                           ("labels_changed", self._labels_changed),
                           ("model_output_changed", lambda: canvas.refresh()),
                           ("project_changed", self.schedule_project_save),
                           ("reload_wanted", lambda _rel: self.reload_current())):
            session.events.connect(name, slot)
        files.imageActivated.connect(self.open_image)
        files.segmentRequested.connect(lambda rel: self.open_image(rel) and self.segment_current())
        files.doneRequested.connect(session.mark_done)
        files.set_step_actions(self.action_set.previous, self.action_set.next)
        files.revealRequested.connect(self.reveal_image)
        files.includeRequested.connect(lambda _folder: self.open_folder(self.session.project.root))
        classes.searchDone.connect(canvas.setFocus)
        classes.currentClassChanged.connect(canvas.set_current_class)
        classes.visibilityChanged.connect(canvas.set_class_visible)
        model.cancelSegmentRequested.connect(self.cancel_segment)
        model.importRequested.connect(lambda: self.models.ask_import())
        model.segmentRequested.connect(self.segment_current)
        model.segmentAllRequested.connect(self.segment_all)
        model.cancelBatchRequested.connect(self.batch.cancel)
        model.configChanged.connect(self._config_changed)
        model.configChanged.connect(lambda _config: self.workahead.replan())
        model.configChanged.connect(self.models.config_changed)
        model.configChanged.connect(lambda _config: self.live.model_changed())
        self.finetune.runEnded.connect(lambda _end: self.workahead.replan())
        self.finetune.runEnded.connect(lambda _end: self.live.machine_changed())
        self.finetune.process.event.connect(lambda _event: self.live.machine_changed())  # a run holds the machine
        self.inference.loading.connect(lambda name: self.show_status(f"Loading {name}…"))
        self.inference.preparing.connect(self.show_status)  # the CPU engine's one-off export
        self.inference.cache_problem.connect(lambda text: self.show_status(text, error=True))  # once per project
        self.inference.warmed.connect(lambda name, seconds, error: self.show_status(
            f"Could not load {name}: {error}" if error else f"{name} loaded in {seconds:.1f} s, ready",
            error=bool(error)))
        canvas.cursorMoved.connect(lambda x, y: self.status_labels.show_pixel(self.session.document, x, y))
        canvas.zoomChanged.connect(lambda s: self.status_labels.zoom.setText(f"{s * 100:.0f}%"))
        canvas.edited.connect(self.update_actions)
        canvas.edited.connect(self.live.stroke_finished)
        canvas.message.connect(self.show_status)
        canvas.toolChanged.connect(lambda name: self.action_set.tools[name].setChecked(True))

    def _restore_settings(self) -> None:
        s = self.settings
        self.models.restore()
        self.model_panel.set_options(s.get("device"), s.get("precision"), s.get("tta"))
        self.model_panel.refresh_status()
        self.toolbar.opacity.setValue(round(s.get("opacity") * 100))
        self.canvas.set_opacity(s.get("opacity"))
        application_theme(QApplication.instance()).set_choice(s.get("theme"))  # before the window is shown
        self.canvas.set_brush_size(s.get("brush_size"))  # the toolbar's spin box follows
        self.toolbar.threshold.setValue(s.get("confidence_threshold"))
        geometry, state = s.window_state()
        self._place_on_screen(geometry)
        if state is None or not self.restoreState(state):
            # the model panel needs little height, the class list all it can get
            self.resizeDocks([self.model_panel, self.classes_panel], [200, 700], Qt.Orientation.Vertical)
            self.resizeDocks([self.files], [250], Qt.Orientation.Horizontal)

    def _place_on_screen(self, saved: QByteArray | None) -> None:
        """The saved geometry, shrunk and moved to fit the screen it lands on; without one, a
        size the screen's available area holds (a laptop's 1366 x 768 too)."""
        if saved is not None and self.restoreGeometry(saved):
            screen = QGuiApplication.screenAt(self.geometry().center()) or self.screen()
            self.setGeometry(fitted_geometry(self.geometry(), screen.availableGeometry()))
        else:
            self.setGeometry(first_geometry(self.screen().availableGeometry()))

    def _machine_held(self) -> str | None:
        """Why background work waits: a training run or a batch has the machine."""
        return "training" if self.finetune.process.running else "batch" if self.batch.running else None

    def _batch_changed(self) -> None:
        self.workahead.replan()  # paused while a batch runs
        self.live.machine_changed()
        self.update_actions()

    # ================================================================== folders and images
    def ask_open_folder(self) -> None:
        project = self.session.project
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images",
                                                  str(project.root if project else Path.home()))
        if folder:
            self.open_folder(Path(folder))

    def open_folder(self, folder: Path | str) -> bool:
        """Open (or create, on first save) the annotation project in ``folder``."""
        folder = Path(folder)
        if not folder.is_dir():
            self.prompter.warning("Open folder", f"{folder} is not a folder.")
            return False
        self.save_current()
        if self._project_save.isActive():
            self._save_project_now()  # pending states belong to the project being left
        if self.batch.running:
            self.batch.cancel()
            self.batch.wait()
        try:
            project = Project.open(folder, classes=self.model_panel.choice().entry.classes)
        except ProjectError as error:
            self.prompter.warning("Open folder", str(error))
            return False
        self.session.open_project(project)
        self.clear_canvas()
        self.model_panel.set_batch_message("")  # the last folder's Segment all summary is not this one's
        resume = last_image(self.settings, project.root)
        self._resume = resume if resume and (project.root / resume).is_file() else None
        self.settings.set("last_folder", project.root)
        self.recent.add(project.root)
        self._model_chosen = False  # on the first listed images (the default model looks at names)
        self.setWindowTitle(f"{project.root.name} — GCNet Annotator")
        self.classes_panel.set_classes(project.classes)
        self.files.reset(project.root)
        if self._scan is not None:
            self._scan.cancelled = True
        self._scan_id += 1
        self._scan = FolderScan(project, self._scan_id, include=self.files.included_outputs(project.root))
        self._scan.signals.skipped.connect(lambda scan_id, skipped: scan_id == self._scan_id
                                           and self.files.show_skipped(skipped))
        self._scan.signals.found.connect(self._scan_found)
        self._scan.signals.finished.connect(self._scan_finished)
        self._scan.signals.problems.connect(self._scan_problems)
        self._scan.signals.failed.connect(lambda _id, message: self.show_status(f"Scan failed: {message}", True))
        start_scan(self._scan)
        self.show_status(f"Opened {project.root}")
        self.update_actions()
        return True

    def _scan_found(self, scan_id: int, rels: list[str]) -> None:
        project = self.session.project
        if scan_id != self._scan_id or project is None:
            return
        self.files.model.append([(rel, project.state(rel)) for rel in rels],
                                {rel: project.uncertainty(rel) for rel in rels})
        if not self._model_chosen:
            self._model_chosen = True
            self.models.project_listed(project.root, rels)
        if self.session.current is None and self._resume in rels:
            self.open_image(self._resume)
        elif self.session.current is None and rels and self._resume is None:
            self.open_image(rels[0])
        else:
            self.workahead.replan()

    def _scan_problems(self, scan_id: int, problems: dict) -> None:
        if scan_id == self._scan_id:
            for rel, reason in problems.items():
                self.files.model.set_problem(rel, reason)

    def _scan_finished(self, scan_id: int, total: int) -> None:
        if scan_id != self._scan_id:
            return
        self.files.scan_finished()
        if self.session.current is None and self.files.model.rowCount():  # the image left at is not listed
            self._resume = None
            self.open_image(self.files.model.paths()[0])
        if total == 0:
            self.show_status("No images in this folder")

    @property
    def scanning(self) -> bool:
        return self.files.scanning

    def image_path(self, rel: str | None = None) -> Path | None:
        rel, project = rel or self.session.current, self.session.project
        return None if rel is None or project is None else project.root / rel

    def open_image(self, rel: str) -> bool:
        """Show image ``rel`` (relative to the project) with its saved mask, or the undo
        history it had when it was last shown."""
        session = self.session
        if session.project is None:
            return False
        self.save_current()
        path = session.project.root / rel
        try:
            rgb = read_image_rgb(path)
        except ImageReadError as error:
            self.show_status(str(error), error=True)
            self.files.model.set_problem(rel, error.reason)
            self._show_none(rel)
            self.files.set_current(rel)
            return False
        warning = None
        reopened = session.reopen(rel, rgb.shape[:2])  # its undo history, or a fresh work-ahead result
        if reopened is None:
            try:
                loaded = load_masks(session.project, path, rgb.shape[:2])
            except OSError as error:  # an unusable mask that could not be moved aside: left as it is
                self.prompter.warning("Open image", str(error))
                self._show_none(rel)
                return False
            if loaded.moved:  # a file a person may have made was moved aside: say it, not only in the bar
                self.prompter.information("Mask moved to the backups", loaded.warning)
            stored, problem = prediction_files.load_for_project(session.project, path, rgb.shape[:2])
            prediction_files.attach(loaded.document, stored)  # Accept prediction, confidence, model-aware tools
            reopened, warning = (loaded.document, session.project.state(rel)), loaded.warning or problem
        session.show(rel, *reopened)
        self.canvas.set_image(rgb)
        self.canvas.set_document(session.document)
        self.files.set_current(rel)
        self.status_labels.size.setText(f"{rgb.shape[1]} × {rgb.shape[0]}")
        self.update_shares()
        self.update_actions()
        remember_image(self.settings, session.project.root, rel)
        self._opened_text = f"{rel} ({image_states.TITLES[session.project.state(rel)]})"
        self.show_status(warning or self._opened_text, error=warning is not None)
        return True

    def _state_changed(self, rel: str, state: str) -> None:
        """The list shows the new state; so does the status bar while it names the image."""
        self.files.model.set_state(rel, state)
        if rel == self.session.current:
            self._show_done(state)
        if rel == self.session.current and self._opened_text and \
                self.statusBar().currentMessage() == self._opened_text:
            self._opened_text = f"{rel} ({image_states.TITLES[state]})"
            self.show_status(self._opened_text)

    def mark_done(self, done: bool) -> None:
        """Edit ▸ Mark Image Done (Ctrl+D): the person says the open image's mask is right, or
        takes it back; the action's check follows the state the session gives it."""
        rel = self.session.current
        if rel is not None:
            self.session.mark_done(rel, done)
        self._show_done(self.session.project.state(rel) if rel is not None and self.session.project else None)

    def _show_done(self, state: str | None) -> None:
        action = self.action_set.done
        blocker = QSignalBlocker(action)  # showing the state is not a request to change it
        action.setChecked(state in image_states.DONE_STATES)
        blocker.unblock()

    def _show_none(self, rel: str) -> None:
        """``rel`` is current but could not be opened (next/previous go on from it)."""
        self.session.show(rel, None)
        self.clear_canvas()
        self.update_actions()

    def clear_canvas(self) -> None:
        self.canvas.set_document(None)
        self.canvas.set_image(None)
        self.status_labels.size.clear()

    def reload_current(self) -> None:
        """Re-read the current image's mask from disk (after a batch or an import)."""
        rel = self.session.discard_document()
        if rel is not None:
            self.open_image(rel)

    def reveal_image(self, rel: str) -> bool:
        """Show the image's folder in the file manager; without one (nothing answers the
        folder's URL) the status bar names the folder, so the person can go there."""
        if self.session.project is None:
            return False
        folder = (self.session.project.root / rel).parent
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            return True
        self.show_status(f"No file manager could be started to show the folder {folder}", error=True)
        return False

    # ================================================================== editing and saving
    def _labels_changed(self, _rect) -> None:
        if not self._autosave.isActive():
            self._autosave.start()  # at most AUTOSAVE_MS after the first unsaved change
        if not self._shares_timer.isActive():
            self._shares_timer.start()
        self.update_actions()

    def undo(self) -> None:
        if self.session.document is not None:
            self.session.document.undo()

    def redo(self) -> None:
        if self.session.document is not None:
            self.session.document.redo()

    def next_likely_class(self) -> None:
        cls = self.canvas.next_likely_class()
        if cls is None:
            self.show_status("No other likely class here (pre-segment the image for its class rankings)")
        else:
            self.show_status(f"Region set to {self.session.project.classes.names[cls]} (N again: the next one)")

    def ignore_low_confidence(self) -> None:
        doc = self.session.document
        if doc is None:
            return
        if doc.confidence is None:
            self.show_status("No prediction for this image yet: pre-segment it first")
            return
        threshold = self.toolbar.threshold.value()
        self.settings.set("confidence_threshold", threshold)
        if doc.ignore_below_confidence(threshold) is not None:
            self.show_status(f"Pixels below {threshold:.2f} confidence set to ignore")

    def ask_replace_class(self) -> ReplaceClassDialog | None:
        """Edit ▸ Replace Class…: the dialog opens without blocking; OK replaces, undoably."""
        doc, project = self.session.document, self.session.project
        if doc is None or project is None:
            return None
        counts = np.bincount(doc.labels.ravel(), minlength=256)
        present = {i for i in range(len(project.classes)) if counts[i]}
        dialog = ReplaceClassDialog(project.classes, present, self.canvas.current_class(), self)
        dialog.accepted.connect(lambda: self.replace_class(*dialog.choice()))
        dialog.open()
        return dialog

    def replace_class(self, old: int, new: int) -> None:
        doc = self.session.document
        if doc is not None and doc.replace_class(old, new) is not None:
            names = self.session.project.classes.names
            self.show_status(f"Every {names[old]} pixel is now {names[new]} (Ctrl+Z undoes it)")

    def save_current(self) -> None:
        """Queue the current mask (if changed) and the project file for writing; returns at once."""
        self._autosave.stop()
        if self.session.save_current():
            self._project_save.stop()  # written with it

    def schedule_project_save(self) -> None:
        if not self._project_save.isActive():
            self._project_save.start()

    def _save_project_now(self) -> None:
        self._project_save.stop()
        self.session.save_project()

    def _save_failed(self, message: str) -> None:
        self.show_status(f"Could not save: {message}", error=True)

    def flush(self, timeout_ms: int = 30000) -> bool:
        """Save now and wait until every file is on disk."""
        self.save_current()
        if self._project_save.isActive():
            self._save_project_now()
        return self.writer.flush(timeout_ms)

    def update_shares(self) -> None:
        doc = self.session.document
        self.classes_panel.set_shares(doc.class_pixel_share() if doc is not None else None)

    # ================================================================== model and inference
    def _config_changed(self, config: ModelConfig) -> None:
        self.settings.set("device", config.device)
        self.settings.set("precision", config.precision)
        self.settings.set("tta", config.tta)

    def selected_config(self) -> ModelConfig:
        """What a person's request runs now (on the CPU while training holds the GPU)."""
        return self.finetune.inference_config(self.model_panel.config())

    def use_checkpoint(self, path: Path | str, base: str | None = None, label: str | None = None) -> ModelChoice:
        """Use a local checkpoint (fine-tuned or custom) on top of a zoo entry; selects it."""
        entry = get_entry(base) if base else self.model_panel.choice().entry
        choice = ModelChoice(entry.name, Path(path), label or Path(path).stem)
        self.model_panel.add_extra_choice(choice)
        return choice

    def import_checkpoint_file(self, path: Path) -> None:
        """File ▸ Import Checkpoint without the file dialog (see :class:`ModelMemory`)."""
        self.models.import_file(Path(path))

    def segment_current(self) -> None:
        self.presegment.start()

    def cancel_segment(self) -> None:
        self.presegment.cancel()

    def segment_all(self, *, states: tuple[str, ...] = ("new",)) -> None:
        self.segmenting_all.start(states)

    # ================================================================== import and export
    def show_import_dialog(self) -> ImportDialog | None:
        if self.session.project is None:
            return None
        self.flush()  # the current image's edits are on disk before anything replaces them
        dialog = ImportDialog(self.session.project, self.writer.pool, self)  # ordered with every other write
        dialog.imported.connect(self._labels_imported)
        self.import_dialog = dialog
        dialog.show()
        return dialog

    def _labels_imported(self, report, snapshot: Project) -> None:
        """The masks are on disk: take the classes and states (a person's work: corrected)."""
        count = self.session.labels_imported([image for _label, image in report.imported], snapshot)
        if count:
            self.show_status(f"Imported labels of {count} image(s)")

    def show_export_dialog(self) -> ExportDialog | None:
        if self.session.project is None:
            return None
        self.flush()
        dialog = ExportDialog(self.session.project, self.image_path(), self)
        dialog.exported.connect(lambda report: self.session.mark_exported(report.written))
        self.export_dialog = dialog
        dialog.show()
        return dialog

    # ================================================================== status and actions
    def show_status(self, text: str, error: bool = False) -> None:
        self.statusBar().showMessage(("⚠ " if error else "") + text, 8000 if not error else 15000)

    def update_actions(self) -> None:
        doc, actions, has_project = self.session.document, self.action_set, self.session.project is not None
        actions.undo.setEnabled(doc is not None and doc.can_undo)
        actions.redo.setEnabled(doc is not None and doc.can_redo)
        actions.export.setEnabled(has_project)
        actions.import_labels.setEnabled(has_project)
        actions.segment_all.setEnabled(has_project and not self.batch.running)
        actions.cancel_batch.setEnabled(self.batch.running)
        actions.segment.setEnabled(self.session.current is not None)  # an unreadable image says why
        actions.done.setEnabled(doc is not None)
        project, rel = self.session.project, self.session.current
        self._show_done(project.state(rel) if project is not None and rel is not None else None)

    # ================================================================== preferences and help
    def show_preferences(self):
        return self.preferences.show_dialog()

    def set_theme(self, choice: str) -> None:
        """View ▸ Theme: "system", "light" or "dark", remembered."""
        application_theme(QApplication.instance()).set_choice(choice)
        self.settings.set("theme", choice)

    def show_shortcut_sheet(self) -> ShortcutSheet:
        """Help ▸ Keyboard Shortcuts: every action and its key as they are now."""
        sheet = ShortcutSheet(shortcut_rows(self.action_set), self)
        sheet.show()
        return sheet

    def show_about(self):
        return show_about(self, self.settings.store.fileName())

    def show_welcome(self):
        return show_welcome(self, self.action_keys())

    def action_keys(self) -> dict[str, str]:
        """Each action's first key as it is now (what the welcome names)."""
        return action_keys(self.action_set)

    def set_autosave_interval(self, ms: int) -> None:
        """How long after the first unsaved change masks and the project file are written."""
        self._autosave.setInterval(ms)
        self._project_save.setInterval(ms)

    # ================================================================== drag and drop
    def dragEnterEvent(self, event) -> None:
        if dropped_target([u.toLocalFile() for u in event.mimeData().urls()]) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """A folder opens; an image opens its project (this one if it is inside) at that image."""
        target = dropped_target([u.toLocalFile() for u in event.mimeData().urls()])
        if target is None:
            return
        folder, image = target
        event.acceptProposedAction()
        project = self.session.project
        inside = project is not None and image is not None and image.is_relative_to(project.root)
        if not inside and not self.open_folder(folder):
            return
        if image is not None:
            self.open_image(self.session.project.relative(image))

    # ================================================================== closing
    def closeEvent(self, event: QCloseEvent) -> None:
        self.finetune.shutdown()  # the worker saves a checkpoint first, so Resume works next time
        if self.batch.running:
            self.batch.cancel()
            self.batch.wait(10000)
            self.writer.flush()  # the masks it already sent are placed before the staging goes
            self.batch.discard_staging()
        self.flush()
        self.settings.set("opacity", self.toolbar.opacity.value() / 100)
        self.settings.set("brush_size", self.canvas.brush_size())
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        if self._scan is not None:
            self._scan.cancelled = True
        self.files.thumbnails.shutdown()
        self.inference.shutdown()
        self.live.service.shutdown()
        QApplication.instance().removeEventFilter(self.hold_filter)
        super().closeEvent(event)
