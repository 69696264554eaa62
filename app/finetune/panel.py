"""The fine-tune dock: data and settings, Start/Cancel/Resume, live progress and curves,
the before/after table and the list of published versions.

Only widgets here: :class:`~app.finetune.controller.FinetuneController` decides what the
buttons do and feeds the worker's events to :meth:`FinetunePanel.handle_event`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFrame,
                               QGridLayout, QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QScrollArea, QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from gcnet_core.project.versions import Version

from app.shell.formatting import duration_text
from app.settings.table import SETTING
from .curves import CurvePlot
from .runs import Comparison, FinetuneSettings
from .wheel import guard_fields_from_wheel

if TYPE_CHECKING:
    from app.settings.store import AppSettings

VersionRole = Qt.ItemDataRole.UserRole + 1
GOOD, BAD = QColor("#2e9d4f"), QColor("#c0392b")




def _section(title: str) -> QLabel:
    label = QLabel(title)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


class SettingsForm(QWidget):
    """Iterations, batch size, crop, learning rate, held-out share, validation interval, device.

    Ranges, defaults and tooltips are the settings table's. Given ``settings``, what a person
    changes is remembered there and shown again at the next start; the defaults for the base
    model on the training device (:meth:`set_defaults`) apply only where the person has not
    chosen their own. ``changed`` is emitted whenever a field changes, by a person or not.
    """

    changed = Signal()

    def __init__(self, settings: AppSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.iters = _spin("finetune_iters", singleStep=50)
        self.batch = _spin("finetune_batch_size")
        self.crop_h = _spin("finetune_crop_height", singleStep=32)
        self.crop_w = _spin("finetune_crop_width", singleStep=32)
        lr = SETTING["finetune_lr"]
        self.lr = QDoubleSpinBox(decimals=5, minimum=lr.minimum, maximum=lr.maximum, singleStep=1e-4,
                                 toolTip=lr.description)
        share = SETTING["finetune_val_share"]
        self.val_share = QSpinBox(minimum=round(share.minimum * 100), maximum=round(share.maximum * 100),
                                  suffix=" %", toolTip=share.description)
        self.val_interval = _spin("finetune_val_interval", singleStep=10)
        self.device = QComboBox(toolTip=SETTING["finetune_device"].description)
        for title, value in (("Auto", "auto"), ("CPU", "cpu"), ("CUDA", "cuda")):
            self.device.addItem(title, value)
        for spin in (self.crop_h, self.crop_w):
            spin.setButtonSymbols(QSpinBox.ButtonSymbols.NoButtons)
        crop = QHBoxLayout()
        crop.setContentsMargins(0, 0, 0, 0)
        crop.setSpacing(2)
        crop.addWidget(self.crop_h, 1)
        crop.addWidget(QLabel("×"))
        crop.addWidget(self.crop_w, 1)
        # one (label, field) per row: two side by side were cut off in the docked width of the
        # default window; the dock scrolls vertically instead
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(3)
        rows = ((("Iterations", self.iters),), (("Batch", self.batch),), (("Crop", crop),), (("LR", self.lr),),
                (("Held out", self.val_share),), (("Validate every", self.val_interval),),
                (("Device", self.device),))
        for row, pairs in enumerate(rows):
            for column, (title, field) in enumerate(pairs):
                grid.addWidget(QLabel(title), row, column * 2)
                if isinstance(field, QHBoxLayout):
                    grid.addLayout(field, row, column * 2 + 1)
                else:
                    grid.addWidget(field, row, column * 2 + 1)
        grid.setColumnStretch(1, 1)
        self._workers = FinetuneSettings().workers
        self.store = settings
        self._quiet = False
        if settings is not None:
            get = settings.get
            self.set_settings(FinetuneSettings(
                iters=get("finetune_iters"), batch_size=get("finetune_batch_size"),
                crop=(get("finetune_crop_height"), get("finetune_crop_width")), lr=get("finetune_lr"),
                val_share=get("finetune_val_share"), val_interval=get("finetune_val_interval"),
                device=get("finetune_device")))
        else:
            self.set_settings(FinetuneSettings())
        changed = {"finetune_iters": self.iters.valueChanged, "finetune_batch_size": self.batch.valueChanged,
                   "finetune_crop_height": self.crop_h.valueChanged, "finetune_crop_width": self.crop_w.valueChanged,
                   "finetune_lr": self.lr.valueChanged, "finetune_val_share": self.val_share.valueChanged,
                   "finetune_val_interval": self.val_interval.valueChanged,
                   "finetune_device": self.device.currentIndexChanged}
        for name, signal in changed.items():
            signal.connect(lambda _value, name=name: self._remember(name))
            signal.connect(lambda _value: self.changed.emit())

    def settings(self) -> FinetuneSettings:
        return FinetuneSettings(
            iters=self.iters.value(), batch_size=self.batch.value(), crop=(self.crop_h.value(), self.crop_w.value()),
            lr=self.lr.value(), val_share=self.val_share.value() / 100, val_interval=self.val_interval.value(),
            device=self.device.currentData(), workers=self._workers)

    def set_settings(self, settings: FinetuneSettings) -> None:
        """Show ``settings`` (a run's, or the defaults); not remembered as a person's choice."""
        self._quiet = True
        try:
            self.iters.setValue(settings.iters)
            self.batch.setValue(settings.batch_size)
            self.crop_h.setValue(settings.crop[0])
            self.crop_w.setValue(settings.crop[1])
            self.lr.setValue(settings.lr)
            self.val_share.setValue(round(settings.val_share * 100))
            self.val_interval.setValue(settings.val_interval)
            index = self.device.findData(settings.device)
            self.device.setCurrentIndex(max(index, 0))
            self._workers = settings.workers
        finally:
            self._quiet = False

    def set_defaults(self, iters: int, val_interval: int, batch_size: int, crop: tuple[int, int]) -> None:
        """The defaults of the base model on the training device (``runs.device_defaults``),
        except where a person chose their own."""
        chosen = self.store.chosen if self.store is not None else (lambda _name: False)
        current = self.settings()
        self.set_settings(dataclasses.replace(
            current, iters=current.iters if chosen("finetune_iters") else iters,
            val_interval=current.val_interval if chosen("finetune_val_interval") else val_interval,
            batch_size=current.batch_size if chosen("finetune_batch_size") else batch_size,
            crop=(current.crop[0] if chosen("finetune_crop_height") else crop[0],
                  current.crop[1] if chosen("finetune_crop_width") else crop[1])))

    def _remember(self, name: str) -> None:
        """A person changed the field of setting ``name``: keep it for the next start."""
        if self._quiet or self.store is None:
            return
        shown = self.settings()
        value = {"finetune_iters": shown.iters, "finetune_batch_size": shown.batch_size,
                 "finetune_crop_height": shown.crop[0], "finetune_crop_width": shown.crop[1],
                 "finetune_lr": shown.lr, "finetune_val_share": shown.val_share,
                 "finetune_val_interval": shown.val_interval, "finetune_device": shown.device}[name]
        self.store.set(name, value)


def _spin(name: str, **options) -> QSpinBox:
    """A spin box over the range of the table's setting ``name``, with its description as tooltip."""
    setting = SETTING[name]
    return QSpinBox(minimum=int(setting.minimum), maximum=int(setting.maximum), toolTip=setting.description,
                    **options)


class ProgressView(QWidget):
    """Iteration bar, loss / lr / speed / ETA / GPU memory, and the two curves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setFormat("iteration %v / %m")
        self.labels = {key: QLabel("—") for key in ("loss", "lr", "speed", "eta", "memory")}
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        for i, (key, title) in enumerate((("loss", "Loss"), ("lr", "LR"), ("speed", "Speed"),
                                          ("eta", "ETA"), ("memory", "GPU memory"))):
            caption = QLabel(title)
            caption.setStyleSheet("color: palette(mid)")
            grid.addWidget(caption, i // 2, (i % 2) * 2)
            grid.addWidget(self.labels[key], i // 2, (i % 2) * 2 + 1)
        self.loss_plot = CurvePlot("Loss", "#d35400")
        self.miou_plot = CurvePlot("Held-out mIoU (%)", "#2f80d1", y_range=(0, 100), value_format="{:.1f}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addLayout(grid)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.miou_plot)

    def reset(self, total: int) -> None:
        self.bar.setMaximum(max(total, 1))
        self.bar.setValue(0)
        for label in self.labels.values():
            label.setText("—")
        for plot in (self.loss_plot, self.miou_plot):
            plot.clear()
            plot.x_max = total

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "start":
            total = int(event.get("total_iters") or 1)
            start = int(event.get("start_iter") or 0)
            self.bar.setMaximum(total)
            self.bar.setValue(start)
            for plot in (self.loss_plot, self.miou_plot):
                plot.x_max = total
                plot.truncate(start)  # what followed the last checkpoint is done again
            self.labels["memory"].setText("—" if not str(event.get("device", "")).startswith("cuda")
                                          else "starting…")
        elif kind == "iter":
            iteration = int(event["iter"])
            self.bar.setMaximum(int(event.get("total_iters") or self.bar.maximum()))
            self.bar.setValue(iteration)
            self.labels["loss"].setText(f"{event['loss']:.4f}" if event.get("loss") is not None else "—")
            self.labels["lr"].setText(f"{event['lr']:.2e}" if event.get("lr") is not None else "—")
            rate = event.get("it_per_s")
            self.labels["speed"].setText(f"{rate:.2f} it/s" if rate and rate >= 0.1 else
                                         f"{1 / rate:.1f} s/it" if rate else "—")
            self.labels["eta"].setText(duration_text(event.get("eta_s")))
            memory = event.get("gpu_mem_mb")
            self.labels["memory"].setText(f"{memory:,.0f} MB" if memory is not None else "— (CPU)")
            self.loss_plot.add_point(iteration, event.get("loss"))
        elif kind == "val":
            self.miou_plot.add_point(int(event["iter"]), event.get("mIoU"))
            if int(event["iter"]) == 0 and event.get("mIoU") is not None:
                self.miou_plot.set_reference(float(event["mIoU"]), "base model")


class ComparisonTable(QTableWidget):
    """Base vs fine-tuned held-out IoU: the mean first, then each class."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["Base", "Tuned", "Δ"])
        for column, tip in enumerate(("IoU of the model it started from", "IoU of the fine-tuned version",
                                      "Change (fine-tuned − base)")):
            self.horizontalHeaderItem(column).setToolTip(f"{tip}, on the held-out images")
        # numbers are never cut ("+..."): each column as wide as its widest cell; long class
        # names are elided in the row header, whole in its tooltip
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().setMaximumWidth(110)
        self.verticalHeader().setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.verticalHeader().setDefaultSectionSize(20)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)

    def show_comparison(self, comparison: Comparison) -> None:
        before, after = comparison.before or {}, comparison.after or {}
        names = list((after.get("per_class") or before.get("per_class") or {}).keys())
        rows = [("mIoU", before.get("mIoU"), after.get("mIoU"))]
        for name in names:
            rows.append((name, ((before.get("per_class") or {}).get(name) or {}).get("IoU"),
                         ((after.get("per_class") or {}).get(name) or {}).get("IoU")))
        self.setRowCount(len(rows))
        self.setVerticalHeaderLabels([r[0] for r in rows])
        for row, (name, _base, _tuned) in enumerate(rows):
            self.verticalHeaderItem(row).setToolTip(name)
        for row, (_name, base, tuned) in enumerate(rows):
            self.setItem(row, 0, self._cell(base))
            self.setItem(row, 1, self._cell(tuned))
            delta = None if base is None or tuned is None else tuned - base
            cell = self._cell(delta, signed=True)
            if delta is not None and abs(delta) >= 0.01:
                cell.setForeground(GOOD if delta > 0 else BAD)
            self.setItem(row, 2, cell)
        shown = min(len(rows), 9)  # fit the rows (a long class list scrolls)
        self.setFixedHeight(self.horizontalHeader().sizeHint().height() + shown * 20 + 2 * self.frameWidth() + 2)

    @staticmethod
    def _cell(value: float | None, signed: bool = False) -> QTableWidgetItem:
        text = "—" if value is None else (f"{value:+.1f}" if signed else f"{value:.1f}")
        item = QTableWidgetItem(text)
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item


class VersionList(QWidget):
    """Published versions, newest first: use one, rename it, delete it."""

    useRequested = Signal(str)
    renameRequested = Signal(str)
    deleteRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(lambda item: self.useRequested.emit(item.data(VersionRole)))
        self.use_button = QPushButton("Use")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete…")
        for button, signal in ((self.use_button, self.useRequested), (self.rename_button, self.renameRequested),
                               (self.delete_button, self.deleteRequested)):
            button.clicked.connect(lambda _c=False, s=signal: self.current() and s.emit(self.current()))
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button)
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()

    def set_versions(self, versions: list[Version], active: str | None = None) -> None:
        keep = self.current()
        self.list.clear()
        for version in reversed(versions):
            before, after = version.miou("before"), version.miou("after")
            score = f"{after:.1f}" if after is not None else "?"
            if before is not None and after is not None:
                score += f" (base {before:.1f})"
            mark = "● " if version.id == active else ""
            kept = "" if version.adopted else ", no better: not used"
            item = QListWidgetItem(f"{mark}{version.name} — mIoU {score}{kept}")
            item.setData(VersionRole, version.id)
            item.setToolTip(f"{version.id}\nbase model {version.base_model}\nstarted from {version.parent}\n"
                            f"{len(version.images.get('train', []))} training / "
                            f"{len(version.images.get('val', []))} held-out images\ncreated {version.created}" +
                            ("" if version.adopted else "\nscored no better than the model it started from: "
                             "never selected by itself, and no run starts from it"))
            self.list.addItem(item)
            if version.id == keep:
                self.list.setCurrentItem(item)
        rows = min(max(self.list.count(), 1), 5)
        self.list.setFixedHeight(rows * max(self.list.sizeHintForRow(0), 18) + 2 * self.list.frameWidth() + 4)
        self._update_buttons()

    def current(self) -> str | None:
        item = self.list.currentItem()
        return item.data(VersionRole) if item is not None else None

    def _update_buttons(self) -> None:
        chosen = self.current() is not None
        for button in (self.use_button, self.rename_button, self.delete_button):
            button.setEnabled(chosen)


class FinetunePanel(QDockWidget):
    """The fine-tune dock (see module docstring). Buttons only emit signals."""

    startRequested = Signal()
    cancelRequested = Signal()
    resumeRequested = Signal()
    resegmentRequested = Signal()

    def __init__(self, parent: QWidget | None = None, settings: AppSettings | None = None) -> None:
        super().__init__("Fine-tune", parent)
        self.setObjectName("finetune")
        self.data_label = QLabel(wordWrap=True)
        self.base_label = QLabel(wordWrap=True)
        self.live_start = QCheckBox("Start from the live model")
        self.live_start.setChecked(True)
        self.live_start.setVisible(False)  # shown while live adaptation has a model to start from
        self.live_start.setToolTip("Begin with the classifier live adaptation fitted on the images marked done "
                                   "(the project's classes, new ones included) instead of the model's own")
        self.form = SettingsForm(settings)
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip("Fine-tune the selected model on the images marked done, in the background")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current iteration; the checkpoint is kept for Resume")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the last run from its last checkpoint")
        self.start_button.clicked.connect(self.startRequested)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.resume_button.clicked.connect(self.resumeRequested)
        self.estimate_label = QLabel(wordWrap=True)
        self.estimate_label.setToolTip("Measured: two training steps and one held-out prediction with these "
                                       "settings, on the device that will train")
        self.progress = ProgressView()
        self.message = QLabel(wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.comparison = ComparisonTable()
        self.comparison.setVisible(False)
        self.resegment_button = QPushButton("Re-segment untouched images")
        self.resegment_button.setToolTip("Run the selected model over every new or pre-segmented image "
                                         "(images a person edited or marked done are never touched)")
        self.resegment_button.clicked.connect(self.resegmentRequested)
        self.versions = VersionList()

        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button, self.resume_button):
            buttons.addWidget(button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.data_label)
        layout.addWidget(self.base_label)
        layout.addWidget(self.live_start)
        layout.addWidget(self.form)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        self.comparison_title = _section("Before / after (held-out images)")
        self.comparison_title.setVisible(False)
        layout.addWidget(self.comparison_title)
        layout.addWidget(self.comparison)
        layout.addWidget(self.resegment_button)
        line = QFrame(frameShape=QFrame.Shape.HLine)
        line.setStyleSheet("color: palette(mid)")
        layout.addWidget(line)
        layout.addWidget(_section("Model versions"))
        layout.addWidget(self.versions)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        # Start/Cancel/Resume stay below the scrolled part: Cancel is in view whatever is scrolled to
        dock = QWidget()
        outer = QVBoxLayout(dock)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(scroll, 1)
        self.estimate_label.setContentsMargins(6, 4, 6, 0)
        outer.addWidget(self.estimate_label)
        buttons.setContentsMargins(6, 4, 6, 6)
        outer.addLayout(buttons)
        self.setWidget(dock)
        self.scroll = scroll
        guard_fields_from_wheel(scroll)  # scrolling the dock never turns a field under the pointer
        # never narrower than its content: a horizontally clipped button cannot be reached
        scroll.setMinimumWidth(body.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        self.set_running(False, can_resume=False)
        self.show_estimate("")

    # -- state ---------------------------------------------------------------------------------
    def set_data(self, corrected: int, held_out: int, total: int, blocks: bool = False) -> None:
        """How many images a run learns from and what it is judged on: ``held_out`` images, or
        held-out ``blocks`` of a single image, or nothing (a run that cannot be scored)."""
        if blocks:
            share = ", a quarter of it (in blocks) held out to measure it"
        elif held_out:
            share = f", {held_out} held out to measure it"
        else:
            share = " (none held out: set Held out above 0 % for a before/after score)" if corrected else ""
        self.data_label.setText(f"<b>{corrected}</b> marked done of {total} images{share}")

    def show_live_start(self, images: int | None) -> None:
        """Offer "Start from the live model" (fitted on ``images`` done images); None hides it."""
        self.live_start.setVisible(images is not None)
        if images is not None:
            plural = "s" if images != 1 else ""
            self.live_start.setToolTip(
                f"Begin with the live model's classifier, fitted on {images} corrected image{plural}: every project "
                "class, new ones included. It is fitted again without the images the run holds out, so the run's "
                "before/after score is honest. Untick to start from the model itself.")

    def show_estimate(self, text: str) -> None:
        """How long Start would take (or why that is not known yet), beside the Start button."""
        self.estimate_label.setText(text)
        self.estimate_label.setVisible(bool(text))

    def set_base(self, title: str) -> None:
        self.base_label.setText(f"Starts from: <b>{title}</b>")

    def set_running(self, running: bool, can_resume: bool, stopping: bool = False) -> None:
        self.start_button.setEnabled(not running)
        self.resume_button.setEnabled(not running and can_resume)
        self.cancel_button.setEnabled(running)
        self.cancel_button.setText("Stop now" if stopping else "Cancel")
        self.form.setEnabled(not running)
        self.live_start.setEnabled(not running)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(f"color: {BAD.name()}" if error else "")
        self.message.setText(("⚠ " if error else "") + text)

    def show_comparison(self, comparison: Comparison | None) -> None:
        shown = comparison is not None and (comparison.before or comparison.after) is not None
        self.comparison.setVisible(shown)
        self.comparison_title.setVisible(shown)
        if comparison is not None:
            self.comparison.show_comparison(comparison)

    def reveal_results(self) -> None:
        """Scroll so the before/after table and the re-segment button are in view."""
        QTimer.singleShot(0, lambda: self.scroll.ensureWidgetVisible(self.resegment_button, 0, 8))  # laid out

    def handle_event(self, event: dict[str, Any]) -> None:
        self.progress.handle(event)


__all__ = ["ComparisonTable", "FinetunePanel", "ProgressView", "SettingsForm", "VersionList", "duration_text"]
