"""The main window: wires the canvas, the panels and the workers to one open project.

The window owns the :class:`~gcnet_core.project.store.Project` and the document being edited;
everything slow happens elsewhere: folder scans and thumbnails on pool threads, inference
on a QThread that keeps the model, downloads and exports on QThreads, batch segmentation
in a separate process, and mask/project writes on one serial background thread.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import QElapsedTimer, QEvent, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (QApplication, QCheckBox, QDoubleSpinBox, QFileDialog, QLabel, QLineEdit, QMainWindow,
                               QMessageBox, QSlider, QSpinBox, QToolBar, QWidget)

from gcnet_core.files.images import ImageReadError, read_image_rgb
from gcnet_core.files.masks import read_index_mask, write_index_mask
from gcnet_core.model.classes import IGNORE_INDEX, ClassSet, class_lut
from gcnet_core.predict.predictor import mean_uncertainty
from gcnet_core.project import states as image_states
from gcnet_core.project.document import MaskDocument
from gcnet_core.project.history import DocumentHistory
from gcnet_core.project.renumber import renumber_masks, without_class
from gcnet_core.project.store import Project, ProjectError
from gcnet_core.weights.download import cached_checkpoint
from gcnet_core.weights.zoo import get_entry

from .about import show_about
from .canvas import CanvasView
from .export_dialog import ExportDialog
from .finetune import FinetuneController
from .formatting import duration_text
from .import_dialog import ImportDialog
from .logs import open_log_folder
from .model_memory import ModelMemory
from .panels.class_panel import HOTKEYS, ClassPanel
from .panels.file_list import FileListDock
from .panels.model_panel import ModelChoice, ModelPanel
from .preferences import Preferences
from .recent import RecentFolders, dropped_target
from .replace_class_dialog import ReplaceClassDialog
from .settings import AppSettings
from .welcome import show_welcome
from .workahead import WorkAheadController
from .workers import prediction_files
from .workers.batch import DEFAULT_COMMAND, BatchSegmenter, BatchSummary
from .workers.download import DownloadDialog
from .workers.inference import InferenceResult, InferenceService, ModelConfig
from .workers.saving import SerialWriter, load_masks, snapshot
from .workers.scan import FolderScan, start_scan
from .workers.tasks import run_in_pool

log = logging.getLogger("gcnet_annotator.window")
AUTOSAVE_MS = 1000
TOOL_KEYS = (("brush", "Brush", "B", "Brush"), ("eraser", "Eraser", "E", "Eraser"),
             ("polygon", "Polygon", "P", "Polygon"), ("fill", "Flood fill", "F", "Fill"),
             ("relabel", "Relabel predicted region", "R", "Relabel"),
             ("accept", "Accept prediction (brush)", "G", "Accept"), ("pan", "Pan", "V", "Pan"),
             ("pick", "Pick a likely class for a region (then 1-5)", "K", "Pick"),
             ("snap", "Snap a stroke to the edges", "S", "Snap"),
             ("superpixel", "Superpixel brush", "X", "Superpixel"))
HIDE_MASK_KEY = Qt.Key.Key_H


class Prompter:
    """Message boxes behind one small interface, so tests can answer them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent

    def question(self, title: str, text: str) -> bool:
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        return QMessageBox.question(self.parent, title, text, buttons) == QMessageBox.StandardButton.Yes

    def warning(self, title: str, text: str) -> None:
        QMessageBox.warning(self.parent, title, text)

    def information(self, title: str, text: str) -> None:
        QMessageBox.information(self.parent, title, text)

    def choice(self, title: str, text: str, buttons: list[str]) -> str | None:
        """A warning with one button per answer; returns the text of the one pressed."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self.parent)
        made = [box.addButton(b, QMessageBox.ButtonRole.AcceptRole if i == 0 else QMessageBox.ButtonRole.RejectRole)
                for i, b in enumerate(buttons)]
        box.exec()
        return next((b for b, button in zip(buttons, made) if box.clickedButton() is button), None)


class HoldKeyFilter(QObject):
    """Hides the mask while a key is held (an application event filter: press and release)."""

    held = Signal(bool)

    def __init__(self, key: Qt.Key, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == self.key \
                and not event.isAutoRepeat() and event.modifiers() == Qt.KeyboardModifier.NoModifier \
                and not isinstance(QApplication.focusWidget(), (QLineEdit, QSpinBox, QDoubleSpinBox)):
            self.held.emit(kind == QEvent.Type.KeyPress)
            return True
        return False


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
        self.project: Project | None = None
        self.current: str | None = None  # relative path of the image being edited
        self._opened_state = "new"  # its state when its document (and undo history) began
        self.document: MaskDocument | None = None
        self.touched = False  # a person changed the current document since it was opened
        self.last_inference_seconds: float | None = None
        self._scan: FolderScan | None = None
        self._scan_id = 0
        self._pending_segment = False
        self.histories = DocumentHistory()  # each image's undo history while the app runs
        self._model_chosen = True  # set False by open_folder until its first images are listed

        self.canvas = CanvasView()
        self.canvas.run_in_background = run_in_pool  # slow tool work, e.g. the snap's GrabCut, off the UI thread
        self.setCentralWidget(self.canvas)
        self.files = FileListDock(self)
        self.classes_panel = ClassPanel(self)
        self.model_panel = ModelPanel(self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.files)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.model_panel)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.classes_panel)

        self.writer = SerialWriter(self)
        self.writer.failed.connect(lambda message: self._status(f"Could not save: {message}", error=True))
        self.inference = InferenceService(self)
        self.inference.finished.connect(self._inference_finished)
        self.inference.failed.connect(self._inference_failed)
        self.inference.loading.connect(lambda name: self._status(f"Loading {name}…"))
        self.inference.preparing.connect(self._status)  # the CPU engine's one-off export
        self.inference.warmed.connect(lambda name, seconds, error: self._status(
            f"Could not load {name}: {error}" if error else f"{name} loaded in {seconds:.1f} s, ready",
            error=bool(error)))
        self.batch = BatchSegmenter(batch_command, self)
        self.batch.segmented.connect(self._batch_segmented)
        self.batch.progress.connect(self._batch_progress)
        self.batch.finished.connect(self._batch_finished)
        self._batch_states: tuple[str, ...] = ("new",)  # states a running batch may replace
        self.finetune = FinetuneController(self)  # fine-tune dock, training worker, model versions
        self.models = ModelMemory(self)  # the selection remembered, per project, imported files kept
        self.workahead = WorkAheadController(self)  # the model segments images before they are opened
        self._segment_request: int | None = None  # the pre-segment the window waits for
        self._cancelled_requests: set[int] = set()
        self._segment_clock = QElapsedTimer()
        self._segment_timer = QTimer(self, interval=250)
        self._segment_timer.timeout.connect(self._segment_tick)
        self.setAcceptDrops(True)  # folders and images dropped from a file manager

        self._autosave = QTimer(self, singleShot=True, interval=AUTOSAVE_MS)
        self._autosave.timeout.connect(self.save_current)
        self._shares_timer = QTimer(self, singleShot=True, interval=250)
        self._shares_timer.timeout.connect(self._update_shares)
        self._project_save = QTimer(self, singleShot=True, interval=AUTOSAVE_MS)
        self._project_save.timeout.connect(self._save_project_now)

        self._build_status_bar()
        self._build_actions()
        self._build_toolbar()
        self._build_menus()
        self._connect_panels()
        self._restore_settings()
        self.hold_filter = HoldKeyFilter(HIDE_MASK_KEY, self)
        self.hold_filter.held.connect(lambda held: self.canvas.set_mask_visible(not held))
        QApplication.instance().installEventFilter(self.hold_filter)
        self._update_actions()
        self.preferences = Preferences(self)  # after every action exists: shortcuts, autosave, cache
        QTimer.singleShot(0, self.workahead.replan)  # loads the remembered model while the person picks a folder

    # ================================================================== construction
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.cursor_label = QLabel()
        self.size_label = QLabel()
        self.zoom_label = QLabel()
        self.time_label = QLabel()
        for label in (self.cursor_label, self.size_label, self.zoom_label, self.time_label):
            label.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(label)
        self.cursor_label.setMinimumWidth(260)

    def _action(self, text: str, slot, shortcut=None, checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setCheckable(checkable)
        action.setToolTip(tip or text)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)  # shortcuts work even when the action is only in a hidden menu
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.open_action = a("&Open Folder…", self._ask_open_folder, QKeySequence.StandardKey.Open)
        self.import_action = a("&Import Checkpoint…", lambda: self.models.ask_import())
        self.import_labels_action = a("Import &Labels…", self.show_import_dialog,
                                      tip="Bring in labels made elsewhere (VOC, Cityscapes, ADE20K, COCO, labelme, PNG)")
        self.export_action = a("&Export…", self.show_export_dialog, "Ctrl+E")
        self.save_action = a("&Save", self.save_current, QKeySequence.StandardKey.Save)
        self.quit_action = a("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.undo_action = a("&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = a("&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.replace_class_action = a("&Replace Class…", self.ask_replace_class, "Ctrl+Shift+R",
                                      tip="Every pixel of one class becomes another (one undo step)")
        self.ignore_action = a("Mark low confidence as &ignore", self.ignore_low_confidence, "I",
                               tip="Set pixels whose confidence is below the threshold to ignore (I)")
        self.ignore_action.setIconText("Low conf → ignore")
        self.next_class_action = a("&Next Most Likely Class", self.next_likely_class, "N",
                                   tip="Give the region under the cursor the model's next most likely class (N)")
        self.segment_action = a("&Pre-segment Image", self.segment_current, ["Ctrl+Return", "Ctrl+Enter"])
        self.segment_all_action = a("Segment &All New Images", self.segment_all)
        self.cancel_batch_action = a("&Cancel Segment All", self.batch.cancel)
        self.next_action = a("&Next Image", lambda: self.files.step(1), ["D", "PgDown"])
        self.previous_action = a("P&revious Image", lambda: self.files.step(-1), ["A", "PgUp"])
        self.cancel_segment_action = a("Cancel Pre-segment", self.cancel_segment, "Esc")
        self.cancel_segment_action.setEnabled(False)  # only while waiting: Esc is the polygon's too
        self.smaller_brush_action = a("S&maller Brush", lambda: self.canvas.step_brush_size(-1), "[")
        self.larger_brush_action = a("&Larger Brush", lambda: self.canvas.step_brush_size(1), "]")
        self.fit_action = a("&Fit to Window", self.canvas.fit_to_window, "Ctrl+0")
        self.zoom_action = a("&Actual Size (1:1)", self.canvas.zoom_1to1, "Ctrl+1")
        self.outline_action = a("&Outline Only", self.canvas.set_outline_only, "O", checkable=True)
        self.outline_action.setIconText("Outline")
        self.confidence_action = a("Show Low &Confidence", self.canvas.set_show_confidence, "C", checkable=True)
        self.confidence_action.setIconText("Confidence")
        self.tool_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for name, title, key, short in TOOL_KEYS:
            action = a(title, lambda checked, n=name: checked and self.canvas.set_tool(n), key,
                       checkable=True, tip=f"{title} ({key})")
            action.setIconText(short)
            group.addAction(action)
            self.tool_actions[name] = action
        self.tool_actions["brush"].setChecked(True)
        self.preferences_action = a("&Preferences…", self.show_preferences, "Ctrl+,")
        self.about_action = a("&About GCNet Annotator", self.show_about)
        self.welcome_action = a("&Welcome", self.show_welcome)
        self.log_folder_action = a("Open &Log Folder", lambda: open_log_folder())
        self.class_actions = [a(f"Class {i + 1}", lambda _c=False, i=i: self.classes_panel.set_current(i), key)
                              for i, key in enumerate(HOTKEYS)]

    def _build_toolbar(self) -> None:
        bar = QToolBar("Tools", self)
        bar.setObjectName("tools")
        self.addToolBar(bar)
        for action in self.tool_actions.values():
            bar.addAction(action)
        bar.addSeparator()
        bar.addAction(self.undo_action)
        bar.addAction(self.redo_action)
        bar.addSeparator()
        self.brush_spin = QSpinBox(minimum=1, maximum=1000, value=self.canvas.brush_size(), suffix=" px")
        self.brush_spin.setToolTip("Brush size ([ and ] change it)")
        self.brush_spin.valueChanged.connect(self.canvas.set_brush_size)
        self.canvas.brushSizeChanged.connect(self.brush_spin.setValue)
        bar.addWidget(QLabel(" Brush "))
        bar.addWidget(self.brush_spin)
        bar.addSeparator()
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setToolTip("Mask opacity (hold H to hide the mask)")
        self.opacity_slider.valueChanged.connect(lambda v: self.canvas.set_opacity(v / 100))
        bar.addWidget(QLabel(" Opacity "))
        bar.addWidget(self.opacity_slider)
        bar.addAction(self.outline_action)
        bar.addAction(self.confidence_action)
        bar.addSeparator()
        self.threshold_spin = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, decimals=2)
        self.threshold_spin.setToolTip("Confidence threshold for 'mark low confidence as ignore'")
        bar.addAction(self.ignore_action)
        bar.addWidget(self.threshold_spin)
        self.only_over = QCheckBox("Only over current")
        self.only_over.setToolTip("Paint only over pixels of the class selected when this was ticked")
        self.only_over.toggled.connect(
            lambda on: self.canvas.set_only_over(self.classes_panel.current() if on else None))
        bar.addWidget(self.only_over)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent = RecentFolders(self.settings, self.open_folder, file_menu.addMenu("Recent &Folders"))
        for action in (self.import_action, self.import_labels_action, self.export_action, self.save_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit = menu.addMenu("&Edit")
        edit.addAction(self.undo_action)
        edit.addAction(self.redo_action)
        edit.addSeparator()
        edit.addAction(self.ignore_action)
        edit.addAction(self.next_class_action)
        edit.addAction(self.replace_class_action)
        edit.addSeparator()
        edit.addAction(self.preferences_action)
        tools = menu.addMenu("&Tools")
        for action in self.tool_actions.values():
            tools.addAction(action)
        tools.addSeparator()
        tools.addAction(self.smaller_brush_action)
        tools.addAction(self.larger_brush_action)
        view = menu.addMenu("&View")
        for action in (self.fit_action, self.zoom_action, self.outline_action, self.confidence_action):
            view.addAction(action)
        view.addSeparator()
        for dock in (self.files, self.classes_panel, self.model_panel, self.finetune.panel):
            view.addAction(dock.toggleViewAction())
        model = menu.addMenu("&Model")
        for action in (self.segment_action, self.segment_all_action, self.cancel_batch_action):
            model.addAction(action)
        model.addAction(self.workahead.on_open_action)
        model.addAction(self.workahead.ahead_action)
        model.addSeparator()
        model.addAction(self.finetune.start_action)
        model.addAction(self.finetune.resegment_action)
        go = menu.addMenu("&Go")
        go.addAction(self.next_action)
        go.addAction(self.previous_action)
        help_menu = menu.addMenu("&Help")
        for action in (self.welcome_action, self.about_action, self.log_folder_action):
            help_menu.addAction(action)

    def _connect_panels(self) -> None:
        self.files.imageActivated.connect(self.open_image)
        self.files.segmentRequested.connect(lambda rel: self.open_image(rel) and self.segment_current())
        self.files.markRequested.connect(self.mark_state)
        self.files.revealRequested.connect(self.reveal_image)
        self.classes_panel.colourRequested.connect(self.recolour_class)
        self.classes_panel.onlyOverRequested.connect(self.paint_only_over)
        self.classes_panel.searchDone.connect(self.canvas.setFocus)
        self.model_panel.cancelSegmentRequested.connect(self.cancel_segment)
        self.model_panel.importRequested.connect(lambda: self.models.ask_import())
        self.classes_panel.currentClassChanged.connect(self.canvas.set_current_class)
        self.classes_panel.visibilityChanged.connect(self.canvas.set_class_visible)
        self.classes_panel.renameRequested.connect(self.rename_class)
        self.classes_panel.addRequested.connect(self.add_class)
        self.classes_panel.removeRequested.connect(self.remove_class)
        self.model_panel.segmentRequested.connect(self.segment_current)
        self.model_panel.segmentAllRequested.connect(self.segment_all)
        self.model_panel.cancelBatchRequested.connect(self.batch.cancel)
        self.model_panel.configChanged.connect(self._config_changed)
        self.model_panel.configChanged.connect(lambda _config: self.workahead.replan())
        self.finetune.runEnded.connect(lambda _end: self.workahead.replan())
        self.model_panel.configChanged.connect(self.models.config_changed)
        self.canvas.cursorMoved.connect(self._cursor_moved)
        self.canvas.zoomChanged.connect(lambda s: self.zoom_label.setText(f"{s * 100:.0f}%"))
        self.canvas.edited.connect(self._person_edited)
        self.canvas.message.connect(self._status)
        self.canvas.toolChanged.connect(lambda name: self.tool_actions[name].setChecked(True))

    def _restore_settings(self) -> None:
        s = self.settings
        self.models.restore()
        self.model_panel.set_options(s.get("device"), s.get("precision"), s.get("tta"))
        self.model_panel.refresh_status()
        self.opacity_slider.setValue(round(s.get("opacity") * 100))
        self.canvas.set_opacity(s.get("opacity"))
        self.threshold_spin.setValue(s.get("confidence_threshold"))
        geometry, state = s.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 950)
        if state is None or not self.restoreState(state):
            # the model panel needs little height, the class list all it can get
            self.resizeDocks([self.model_panel, self.classes_panel], [200, 700], Qt.Orientation.Vertical)
            self.resizeDocks([self.files], [250], Qt.Orientation.Horizontal)

    # ================================================================== folders and images
    def _ask_open_folder(self) -> None:
        start = str(self.project.root) if self.project else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images", start)
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
        self._close_document(park=False)
        self.histories.clear()
        self.project = project
        self.settings.set("last_folder", project.root)
        self.recent.add(project.root)
        self._model_chosen = False  # on the first listed images (the default model looks at names)
        self.setWindowTitle(f"{project.root.name} — GCNet Annotator")
        self.classes_panel.set_classes(project.classes)
        self.files.reset(project.root)
        if self._scan is not None:
            self._scan.cancelled = True
        self._scan_id += 1
        self._scan = FolderScan(project, self._scan_id)
        self._scan.signals.found.connect(self._scan_found)
        self._scan.signals.finished.connect(self._scan_finished)
        self._scan.signals.problems.connect(self._scan_problems)
        self._scan.signals.failed.connect(lambda _id, message: self._status(f"Scan failed: {message}", True))
        start_scan(self._scan)
        self._status(f"Opened {project.root}")
        self._update_actions()
        return True

    def _scan_found(self, scan_id: int, rels: list[str]) -> None:
        if scan_id != self._scan_id or self.project is None:
            return
        self.files.model.append([(rel, self.project.state(rel)) for rel in rels],
                                {rel: self.project.uncertainty(rel) for rel in rels})
        if not self._model_chosen:
            self._model_chosen = True
            self.models.project_listed(self.project.root, rels)
        if self.current is None and rels:
            self.open_image(rels[0])
        else:
            self.workahead.replan()

    def _scan_problems(self, scan_id: int, problems: dict) -> None:
        if scan_id == self._scan_id:
            for rel, reason in problems.items():
                self.files.model.set_problem(rel, reason)

    def adopt_new_project_classes(self, classes: ClassSet) -> None:
        """A folder that is not a project yet takes the classes of the model chosen for it."""
        project = self.project
        if project is None or project.path.exists() or classes.names == project.classes.names:
            return
        project.classes = classes
        self.classes_panel.set_classes(classes)
        if self.document is not None and not self.document.dirty and not self.document.can_undo:
            self.document.classes = classes
            self.canvas.set_document(self.document)

    def _scan_finished(self, scan_id: int, total: int) -> None:
        if scan_id != self._scan_id:
            return
        self.files.scan_finished()
        if total == 0:
            self._status("No images in this folder")

    @property
    def scanning(self) -> bool:
        return self.files.scanning

    def image_path(self, rel: str | None = None) -> Path | None:
        rel = rel or self.current
        return None if rel is None or self.project is None else self.project.root / rel

    def open_image(self, rel: str) -> bool:
        """Show image ``rel`` (relative to the project) with its saved mask."""
        if self.project is None:
            return False
        self.save_current()
        path = self.project.root / rel
        try:
            rgb = read_image_rgb(path)
        except ImageReadError as error:
            self._status(str(error), error=True)
            self.files.model.set_problem(rel, error.reason)
            self._close_document()
            self.files.set_current(rel)
            self.current = rel  # so next/previous continue from here
            self._update_actions()
            return False
        parked = self.histories.take(rel, rgb.shape[:2], self._image_record(rel))
        fresh = self.workahead.fresh_document(rel, rgb.shape[:2]) if parked is None else None
        if parked is not None:  # its undo history, as it was left
            doc, warning, opened = parked.document, None, parked.opened_state
        elif fresh is not None:  # a work-ahead result that may still be on its way to the disk
            doc, warning, opened = fresh, None, self.project.state(rel)
        else:
            try:
                loaded = load_masks(self.project, path, rgb.shape[:2])
            except OSError as error:  # an unusable mask that could not be moved aside: left as it is
                self.prompter.warning("Open image", str(error))
                self._close_document()
                self.current = rel
                return False
            doc, warning = loaded.document, loaded.warning
            if loaded.moved:  # a file a person may have made was moved aside: say it, not only in the bar
                self.prompter.information("Mask moved to the backups", warning)
            stored, problem = prediction_files.load_for_project(self.project, path, rgb.shape[:2])
            prediction_files.attach(doc, stored)  # Accept prediction, confidence, model-aware tools
            warning = warning or problem
            opened = self.project.state(rel)
        self._close_document()
        self.current = rel
        self.document = doc
        self.touched = doc.person_changed
        doc.add_listener(self._document_changed)
        self.canvas.set_image(rgb)
        self.canvas.set_document(doc)
        self.files.set_current(rel)
        self.size_label.setText(f"{rgb.shape[1]} × {rgb.shape[0]}")
        self._update_shares()
        self._update_actions()
        self._opened_state = opened
        state = image_states.TITLES[self.project.state(rel)]
        self._status(warning or f"{rel} ({state})", error=warning is not None)
        self.workahead.replan()
        return True

    def _image_record(self, rel: str) -> tuple:
        """What the project says of an image: a parked document is stale once it changes."""
        return (self.project.state(rel), self.project.image_model(rel)) if self.project else ()

    def _close_document(self, park: bool = True) -> None:
        if self.document is not None:
            self.document.remove_listener(self._document_changed)
            if park and self.current is not None and self.project is not None:
                self.histories.park(self.current, self.document, self._opened_state,
                                    self._image_record(self.current))
        self.document = None
        self.current = None
        self.canvas.set_document(None)
        self.canvas.set_image(None)
        self.size_label.clear()

    def reload_current(self) -> None:
        """Re-read the current image's mask from disk (after a batch or a class change)."""
        if self.current is not None:
            rel, self.current = self.current, None
            if self.document is not None:
                self.document.remove_listener(self._document_changed)
                self.document = None
            self.histories.take(rel, (0, 0), ())  # the mask on disk changed: its history is void
            self.open_image(rel)

    # ================================================================== editing and saving
    def _document_changed(self, _rect) -> None:
        if not self._autosave.isActive():
            self._autosave.start()  # at most AUTOSAVE_MS after the first unsaved change
        if not self._shares_timer.isActive():
            self._shares_timer.start()
        self._update_actions()

    def _person_edited(self) -> None:
        self.touched = True
        self._update_actions()

    def undo(self) -> None:
        if self.document is not None and self.document.undo() is not None:
            self.touched = self.document.person_changed  # undoing a person's strokes un-touches

    def redo(self) -> None:
        if self.document is not None and self.document.redo() is not None:
            self.touched = self.document.person_changed

    def next_likely_class(self) -> None:
        cls = self.canvas.next_likely_class()
        if cls is None:
            self._status("No other likely class here (pre-segment the image for its class rankings)")
        else:
            self.touched = True
            self._status(f"Region set to {self.project.classes.names[cls]} (N again: the next one)")

    def ignore_low_confidence(self) -> None:
        doc = self.document
        if doc is None:
            return
        if doc.confidence is None:
            self._status("No prediction for this image yet: pre-segment it first")
            return
        threshold = self.threshold_spin.value()
        self.settings.set("confidence_threshold", threshold)
        if doc.ignore_below_confidence(threshold) is not None:
            self.touched = True
            self._status(f"Pixels below {threshold:.2f} confidence set to ignore")

    def ask_replace_class(self):
        """Edit ▸ Replace Class…: the dialog opens without blocking; OK replaces, undoably."""
        doc, project = self.document, self.project
        if doc is None or project is None:
            return None
        counts = np.bincount(doc.labels.ravel(), minlength=256)
        present = {i for i in range(len(project.classes)) if counts[i]}
        dialog = ReplaceClassDialog(project.classes, present, self.canvas.current_class(), self)
        dialog.accepted.connect(lambda: self.replace_class(*dialog.choice()))
        dialog.open()
        return dialog

    def replace_class(self, old: int, new: int) -> None:
        if self.document is not None and self.document.replace_class(old, new) is not None:
            self.touched = True
            names = self.project.classes.names
            self._status(f"Every {names[old]} pixel is now {names[new]} (Ctrl+Z undoes it)")

    def save_current(self) -> None:
        """Queue the current mask (if changed) and the project file for writing; returns at once."""
        self._autosave.stop()
        doc, project = self.document, self.project
        if doc is None or project is None or self.current is None:
            return
        if not doc.dirty:
            return
        path = project.root / self.current
        state = project.state(path)
        new_state = image_states.after_change(
            self._opened_state, at_opening=doc.at_opening, person_changed=self.touched or doc.person_changed,
            edited_pixels=bool(doc.edited.any()), labelled=bool((doc.labels != IGNORE_INDEX).any()))
        if new_state != state:
            self._set_state(self.current, new_state)
        self.writer.save_mask(snapshot(project, path, doc))
        doc.mark_clean()
        self._save_project_now()

    def schedule_project_save(self) -> None:
        if not self._project_save.isActive():
            self._project_save.start()

    def mark_state(self, rel: str, state: str) -> None:
        """The image menu's Mark as corrected / not done (an unfinished image with a mask is
        pre-segmented, one without is new)."""
        if self.project is None:
            return
        if rel == self.current:
            self.save_current()
        if state != "corrected":
            state = image_states.not_done(self.project.label_path(rel).is_file())
        self._set_state(rel, state)
        if rel == self.current:
            self._opened_state = state  # undoing back to here keeps the person's choice
        self._save_project_now()
        self._status(f"{rel} marked {image_states.TITLES[state]}")

    def reveal_image(self, rel: str) -> None:
        """Show the image's folder in the file manager."""
        if self.project is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str((self.project.root / rel).parent)))

    def _set_state(self, rel: str, state: str, model: str | None = None) -> None:
        self.project.set_state(rel, state, model)
        self.files.model.set_state(rel, state)

    def _record_uncertainty(self, rel: str, value: float | None) -> None:
        """Remember how unsure the model was (the file list can put such images first)."""
        if value is not None and self.project is not None:
            self.project.set_uncertainty(rel, value)
            self.files.model.set_uncertainty(rel, value)

    def _save_project_now(self) -> None:
        self._project_save.stop()
        if self.project is not None:
            self.writer.save_project(self.project)

    def flush(self, timeout_ms: int = 30000) -> bool:
        """Save now and wait until every file is on disk."""
        self.save_current()
        if self._project_save.isActive():
            self._save_project_now()
        return self.writer.flush(timeout_ms)

    def _update_shares(self) -> None:
        doc = self.document
        self.classes_panel.set_shares(doc.class_pixel_share() if doc is not None else None)

    # ================================================================== classes
    def _apply_classes(self, classes: ClassSet, reset_visibility: bool = False) -> None:
        if self.project is None:
            return
        self.project.classes = classes
        self.histories.clear()  # parked documents hold the old class set
        if reset_visibility:
            for i in range(len(self.classes_panel.classes)):
                self.canvas.set_class_visible(i, True)
        self.classes_panel.set_classes(classes)
        if self.document is not None:
            self.document.classes = classes
            self.canvas.set_document(self.document)  # new colour table
            self._update_shares()
        self._save_project_now()

    def paint_only_over(self, index: int) -> None:
        """The class menu's "paint only over this class": the toolbar's restriction, on that class."""
        self.classes_panel.set_current(index)
        self.canvas.set_only_over(index)
        self.only_over.blockSignals(True)
        self.only_over.setChecked(True)
        self.only_over.blockSignals(False)

    def recolour_class(self, index: int, colour: tuple[int, int, int]) -> None:
        classes = self.project.classes if self.project else None
        if classes is None or not 0 <= index < len(classes):
            return
        palette = list(classes.palette)
        palette[index] = tuple(int(c) for c in colour)
        self._apply_classes(ClassSet(classes.names, tuple(palette)))

    def rename_class(self, index: int, name: str) -> None:
        classes = self.project.classes if self.project else None
        if classes is None or not 0 <= index < len(classes):
            return
        if name in classes.names:
            self.prompter.warning("Rename class", f"There is already a class named {name!r}.")
            return
        names = list(classes.names)
        names[index] = name
        self._apply_classes(ClassSet(tuple(names), classes.palette))

    def add_class(self, name: str, colour: tuple[int, int, int]) -> None:
        classes = self.project.classes if self.project else None
        if classes is None:
            return
        if name in classes.names:
            self.prompter.warning("Add class", f"There is already a class named {name!r}.")
            return
        if len(classes) >= IGNORE_INDEX:
            self.prompter.warning("Add class", "A project holds at most 255 classes.")
            return
        self._apply_classes(ClassSet(classes.names + (name,), classes.palette + (tuple(colour),)))

    def remove_class(self, index: int) -> None:
        """Drop a class from the project: its pixels become ignore in every saved mask."""
        project = self.project
        if project is None or not 0 <= index < len(project.classes) or len(project.classes) <= 1:
            return
        name = project.classes.names[index]
        if not self.prompter.question(
                "Remove class", f"Remove class {name!r} from this project? Its pixels become ignore "
                "in every mask and the classes after it are renumbered. This cannot be undone."):
            return
        if self.batch.running:  # its masks arrive in the old numbering: one renumbering at a time
            self.prompter.warning("Remove class", "Segment all is running: wait for it to finish (or cancel "
                                  "it), then remove the class.")
            return
        self.flush()
        classes, lut = without_class(project.classes, index)
        reopen = self.current
        self._close_document()  # nothing is edited, nor a prediction applied, in the old numbering
        self.canvas.setEnabled(False)
        self._status(f"Removing {name!r} from every mask…")
        snapshot_project = Project(project.root, classes)

        def finished() -> None:
            self.canvas.setEnabled(True)
            if reopen is not None and self.project is project:
                self.open_image(reopen)

        def done(count: int) -> None:
            self._apply_classes(classes, reset_visibility=True)
            finished()
            self._status(f"Removed {name!r}; {count} mask(s) renumbered")

        def failed(message: str) -> None:
            finished()
            self.prompter.warning("Remove class", f"Could not renumber the masks (none was changed): {message}")

        # On the serial writer: ordered after every save queued before, before every one after.
        self._remap_task = run_in_pool(lambda: renumber_masks(snapshot_project, lut, classes), done, failed,
                                       pool=self.writer.pool)

    # ================================================================== model and inference
    def _config_changed(self, config: ModelConfig) -> None:
        self.settings.set("device", config.device)
        self.settings.set("precision", config.precision)
        self.settings.set("tta", config.tta)

    def use_checkpoint(self, path: Path | str, base: str | None = None, label: str | None = None) -> ModelChoice:
        """Use a local checkpoint (fine-tuned or custom) on top of a zoo entry; selects it."""
        entry = get_entry(base) if base else self.model_panel.choice().entry
        choice = ModelChoice(entry.name, Path(path), label or Path(path).stem)
        self.model_panel.add_extra_choice(choice)
        return choice

    def import_checkpoint_file(self, path: Path) -> None:
        """File ▸ Import Checkpoint without the file dialog (see :class:`ModelMemory`)."""
        self.models.import_file(Path(path))

    def _with_checkpoint(self, config: ModelConfig, then) -> None:
        """Run ``then()`` once the configuration's checkpoint is on disk (downloading it first)."""
        entry = get_entry(config.name)
        if config.checkpoint is not None or cached_checkpoint(entry) is not None:
            then()
            return
        dialog = DownloadDialog(entry, self)
        dialog.done.connect(lambda _path: (self.model_panel.refresh_status(), then()))
        dialog.failed.connect(self.models.download_failed)
        dialog.cancelled.connect(lambda: self._status("Download cancelled; it will resume next time"))
        self._download = dialog
        dialog.start()

    def segment_current(self) -> None:
        """Pre-segment the current image on the inference thread (busy bar, elapsed time, Cancel)."""
        path = self.image_path()
        if path is None:
            return
        if self.document is None:
            problem = self.files.model.problem(self.current) or "it could not be opened"
            self.prompter.warning("Pre-segment image", f"{self.current} cannot be pre-segmented: {problem}")
            return
        if self._segment_request is not None:
            return  # one at a time: the busy bar says it is running
        config = self.finetune.inference_config(self.model_panel.config())  # CPU if training holds the GPU

        def submit() -> None:
            self._pending_segment = True
            self._segment_request = self.inference.submit(path, config)
            self._segment_clock.start()
            self._segment_timer.start()
            self.cancel_segment_action.setEnabled(True)
            self.model_panel.show_segmenting(True, "0 s")
            self._status(f"Pre-segmenting {self.current} with {config.model_id}…")

        self._with_checkpoint(config, submit)

    def _segment_tick(self) -> None:
        self.model_panel.show_segmenting(True, f"{self._segment_clock.elapsed() / 1000:.0f} s")

    def _segment_done(self) -> None:
        self._segment_request = None
        self._pending_segment = False
        self._segment_timer.stop()
        self.cancel_segment_action.setEnabled(False)
        self.model_panel.show_segmenting(False)

    def cancel_segment(self) -> None:
        """Stop waiting for the current pre-segment: the image stays as it is. The network
        cannot be interrupted inside a kernel, so its result is dropped when it comes."""
        if self._segment_request is None:
            return
        self._cancelled_requests.add(self._segment_request)
        self._segment_done()
        self._status("Pre-segment cancelled; the image is unchanged")

    def _inference_finished(self, result: InferenceResult) -> None:
        if self.workahead.scheduler.owns(result.request_id):
            return  # work-ahead's own (app/workahead.py applies it)
        if result.request_id in self._cancelled_requests:
            self._cancelled_requests.discard(result.request_id)
            return
        self._segment_done()
        self.last_inference_seconds = result.seconds
        load = f" (+{result.load_seconds:.1f} s loading the model)" if result.load_seconds else ""
        self.time_label.setText(f"inference {result.seconds:.2f} s")
        if result.note:  # a memory fallback: slower, but the mask is there
            self._status(result.note, error=True)
        if self.project is None or result.image != self.image_path():
            self._status(f"Prediction for {result.image.name} arrived after it was closed; not applied")
            return
        self._record_uncertainty(self.current, mean_uncertainty(result.confidence))
        self._adopt_model_classes(result.classes)
        lut = class_lut(result.classes, self.project.classes)
        labels, rankings = lut[result.labels], result.rankings.remapped(lut) if result.rankings else None
        self._keep_prediction(self.current, result)
        doc = self.document
        state = self.project.state(self.current)
        human = image_states.has_human_work(state, bool(doc.edited.any()))
        if human and not self.prompter.question(
                "Replace labels?", f"{self.current} has human corrections. Apply the new prediction to "
                "the pixels nobody edited? (Edited pixels are kept either way.)"):
            doc.keep_model_output(labels, result.confidence, rankings)  # for the model-based tools
            self.canvas.refresh()
            self._status(f"Prediction kept aside (used by relabel/accept tools){load}")
            return
        doc.set_prediction(labels, result.confidence, rankings=rankings)
        if state in image_states.MODEL_STATES:  # the prediction's model is recorded
            self._set_state(self.current, image_states.after_prediction(state), result.config.model_id)
        self.save_current()
        self._status(f"Pre-segmented {self.current} in {result.seconds:.2f} s{load}")

    def _keep_prediction(self, rel: str, result: InferenceResult) -> None:
        """The prediction's sidecar (confidence, class rankings, model id), written off the UI thread."""
        stored = prediction_files.stored_from_result(result.labels, result.confidence, result.rankings,
                                                     result.classes, result.config.model_id)
        self.writer.submit(prediction_files.save_job(self.project.prediction_path(rel), stored))

    def _adopt_model_classes(self, classes: ClassSet) -> None:
        """A project with nothing labelled yet takes the classes of the model that labels it."""
        if self.project is None or classes.names == self.project.classes.names:
            return
        untouched = self.files.model.counts["new"] == self.files.model.rowCount() and not self.touched
        if untouched and (self.document is None or not self.document.edited.any()):
            self._apply_classes(classes, reset_visibility=True)
        else:
            missing = sum(1 for n in classes.names if n not in self.project.classes.names)
            if missing:
                self._status(f"{missing} of the model's classes are not in this project: they become ignore")

    def _inference_failed(self, request_id: int, message: str) -> None:
        if self.workahead.scheduler.owns(request_id):
            return
        if request_id in self._cancelled_requests:
            self._cancelled_requests.discard(request_id)
            return
        self._segment_done()
        self.prompter.warning("Pre-segmentation failed", message)

    # ================================================================== segment all
    def segment_all(self, *, states: tuple[str, ...] = ("new",)) -> None:
        """Segment every image still 'new' (or in one of ``states``; never corrected or exported
        ones) in a separate process."""
        states = image_states.replaceable_by_batch(states)
        if self.project is None or self.batch.running:
            return
        if self.scanning:
            self._status("Still listing the folder; try again in a moment")
            return
        self.flush()
        todo = [rel for rel in self.files.model.readable_paths() if self.files.model.state(rel) in states
                and not (rel == self.current and self.touched)]
        if not todo:
            self.prompter.information("Segment all", "Every image already has a mask." if states == ("new",)
                                      else "Every image is corrected: nothing to re-segment.")
            return
        config = self.finetune.inference_config(self.model_panel.config())

        def start() -> None:
            self.inference.unload(gpu_only=True)  # the batch process gets the GPU memory
            self.model_panel.show_batch(True)
            self.model_panel.set_batch_progress(0, len(todo), f"Starting: {len(todo)} image(s)…")
            self.batch.start(self.project.root, self.project.labels_root,
                             [self.project.root / rel for rel in todo], config)
            self._batch_model = config.model_id
            self._batch_states = states
            self.workahead.replan()  # paused while the batch runs
            self._update_actions()

        self._with_checkpoint(config, start)

    def _batch_segmented(self, image: str, staged: str) -> None:
        """A batch mask is ready: it goes into place on the serial writer (decoding, renumbering
        and writing never on the UI thread), then the image's state follows on the UI thread."""
        project = self.project
        staged_path = Path(staged)
        staged_prediction = self.batch.staged_prediction(Path(image))
        try:
            rel = project.relative(image) if project else None
        except ValueError:
            rel = None
        if rel is None or not self._batch_may_replace(rel):
            self.writer.submit(lambda: (staged_path.unlink(missing_ok=True),  # a person got there first
                                        staged_prediction.unlink(missing_ok=True)))
            return
        model_classes = self.batch.model_classes
        if model_classes is not None:
            self._adopt_model_classes(model_classes)
        lut = None if model_classes is None or model_classes.names == project.classes.names \
            else class_lut(model_classes, project.classes)  # e.g. a class was removed: values follow names
        target, prediction, classes = project.label_path(rel), project.prediction_path(rel), project.classes

        def place() -> bool:
            if not staged_path.exists():
                return False
            target.parent.mkdir(parents=True, exist_ok=True)
            if lut is None:
                os.replace(staged_path, target)
            else:
                write_index_mask(target, lut[read_index_mask(staged_path)], classes)
                staged_path.unlink(missing_ok=True)
            prediction_files.adopt_staged(staged_prediction, prediction)
            return True

        def placed(ok: bool) -> None:
            if not ok or self.project is not project:
                return
            if self._batch_may_replace(rel):  # nobody started on it while the file moved
                self._set_state(rel, "predicted", self._batch_model)
            self._record_uncertainty(rel, self.batch.uncertainties.get(image))
            if not self._project_save.isActive():
                self._project_save.start()
            if rel == self.current and not self.touched and not (self.document and self.document.dirty):
                self.reload_current()

        run_in_pool(place, placed, lambda message: self._status(f"Could not store the mask of {rel}: {message}",
                                                                 error=True), pool=self.writer.pool)

    def _batch_may_replace(self, rel: str) -> bool:
        busy = rel == self.current and (self.touched or (self.document is not None and self.document.dirty))
        return self.project.state(rel) in self._batch_states and not busy

    def _batch_progress(self, done: int, total: int, eta: float) -> None:
        eta_text = "" if eta < 0 else f", about {duration_text(eta)} left"
        self.model_panel.set_batch_progress(done, total, f"{done} / {total} segmented{eta_text}")

    def _batch_finished(self, summary: BatchSummary) -> None:
        QTimer.singleShot(0, self.workahead.replan)  # after the batch is marked finished
        staging = self.batch.staging  # removed after the writer placed every mask it was given
        if staging is not None:
            self.writer.submit(lambda: shutil.rmtree(staging, ignore_errors=True))
        self.model_panel.show_batch(False)
        self._save_project_now()
        self._update_actions()
        self.last_batch = summary
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
        for path, message in summary.failed:  # the log keeps what the dialog shows only 20 of
            log.warning("Segment all: %s: %s", path, message)
        if summary.error:
            log.error("Segment all stopped: %s", summary.error)
        self.model_panel.set_batch_message(text)
        self._status(text, error=bool(summary.error))
        if summary.failed or summary.error:
            details = "\n".join(f"{Path(p).name}: {m}" for p, m in summary.failed[:20])
            more = f"\n… and {len(summary.failed) - 20} more" if len(summary.failed) > 20 else ""
            self.prompter.warning("Segment all", f"{text}.\n\n{details}{more}".strip())

    # ================================================================== import labels
    def show_import_dialog(self) -> ImportDialog | None:
        if self.project is None:
            return None
        self.flush()  # the current image's edits are on disk before anything replaces them
        dialog = ImportDialog(self.project, self.writer.pool, self)  # ordered with every other write
        dialog.imported.connect(self._labels_imported)
        self.import_dialog = dialog
        dialog.show()
        return dialog

    def _labels_imported(self, report, snapshot: Project) -> None:
        """The masks are on disk: take the classes and states (a person's work: corrected)."""
        project = self.project
        if project is None or project.root != snapshot.root or not report.imported:
            return
        if snapshot.classes != project.classes:
            self._apply_classes(snapshot.classes)
        rels = {project.relative(image) for _label, image in report.imported}
        for rel in sorted(rels):
            self._set_state(rel, snapshot.state(rel))
        self.histories.clear()  # parked documents hold the masks from before
        if self.current in rels:
            self.reload_current()
        self._save_project_now()
        self._status(f"Imported labels of {len(rels)} image(s)")

    # ================================================================== export
    def show_export_dialog(self) -> ExportDialog | None:
        if self.project is None:
            return None
        self.flush()
        dialog = ExportDialog(self.project, self.image_path(), self)
        dialog.exported.connect(self._exported)
        self.export_dialog = dialog
        dialog.show()
        return dialog

    def _exported(self, report) -> None:
        for image in report.written:
            rel = self.project.relative(image)
            state = self.project.state(rel)
            if image_states.after_export(state) != state:
                self._set_state(rel, image_states.after_export(state))
        self._save_project_now()

    # ================================================================== status and state
    def _cursor_moved(self, x: int, y: int) -> None:
        doc = self.document
        if doc is None or x < 0:
            self.cursor_label.clear()
            return
        value = int(doc.labels[y, x])
        name = doc.classes.names[value] if value < len(doc.classes) else \
            "ignore" if value == IGNORE_INDEX else f"unknown class {value}"  # kept from the file, not converted
        text = f"({x}, {y})  {name}"
        if doc.confidence is not None:
            text += f"  conf {doc.confidence[y, x]:.2f}"
        self.cursor_label.setText(text)

    def _status(self, text: str, error: bool = False) -> None:
        self.statusBar().showMessage(("⚠ " if error else "") + text, 8000 if not error else 15000)

    show_status = _status  # for the window's helpers (model memory, recent folders)

    def _update_actions(self) -> None:
        doc = self.document
        self.undo_action.setEnabled(doc is not None and doc.can_undo)
        self.redo_action.setEnabled(doc is not None and doc.can_redo)
        has_project = self.project is not None
        self.export_action.setEnabled(has_project)
        self.import_labels_action.setEnabled(has_project)
        self.segment_all_action.setEnabled(has_project and not self.batch.running)
        self.cancel_batch_action.setEnabled(self.batch.running)
        self.segment_action.setEnabled(self.current is not None)  # an unreadable image says why

    # ================================================================== preferences and help
    def show_preferences(self):
        return self.preferences.show_dialog()

    def show_about(self):
        return show_about(self, self.settings.store.fileName())

    def show_welcome(self):
        return show_welcome(self)

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
        inside = self.project is not None and image is not None and image.is_relative_to(self.project.root)
        if not inside and not self.open_folder(folder):
            return
        if image is not None:
            self.open_image(self.project.relative(image))

    # ================================================================== closing
    def closeEvent(self, event: QCloseEvent) -> None:
        self.finetune.shutdown()  # the worker saves a checkpoint first, so Resume works next time
        if self.batch.running:
            self.batch.cancel()
            self.batch.wait(10000)
            self.writer.flush()  # the masks it already sent are placed before the staging goes
            self.batch.discard_staging()
        self.flush()
        self.settings.set("opacity", self.opacity_slider.value() / 100)
        self.settings.save_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        if self._scan is not None:
            self._scan.cancelled = True
        self.files.thumbnails.shutdown()
        self.inference.shutdown()
        QApplication.instance().removeEventFilter(self.hold_filter)
        super().closeEvent(event)
