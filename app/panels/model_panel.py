"""The model panel: which GCNet to run (16 zoo entries by dataset, plus fine-tuned ones),
on which device, in which precision, with or without ms+flip; and the run buttons."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from gcnet_core.project.defaults import GENERAL_MODEL
from gcnet_core.weights.download import cached_checkpoint
from gcnet_core.weights.zoo import ZOO, ZooEntry, get_entry

from ..workers.inference import ModelConfig

ChoiceRole = Qt.ItemDataRole.UserRole + 1

PRECISION_CHOICES = (("auto", "Auto (fast on a GPU)"), ("fp32", "fp32"), ("fp16", "fp16 (CUDA)"),
                     ("bf16", "bf16"))


@dataclass(frozen=True)
class ModelChoice:
    """One selectable model: a zoo entry, or a checkpoint file (fine-tuned) on top of one."""

    name: str  # zoo entry the weights fit
    checkpoint: Path | None = None
    label: str = ""  # shown and recorded instead of the entry name (fine-tuned version id)
    title: str = field(default="", compare=False)  # a version's name (renamed, still the same choice)
    fine_tuned: bool = field(default=False, compare=False)  # a fine-tuned version (Version.fine_tuned), not a file

    @property
    def entry(self) -> ZooEntry:
        return get_entry(self.name)


DOWNLOADED_MARK = "✓"  # before a zoo entry whose checkpoint is in the cache


def entry_title(entry: ZooEntry) -> str:
    crop = "x".join(str(v) for v in entry.crop_size)
    return f"{entry.backbone} · {crop} · {entry.schedule} — mIoU {entry.miou:.2f} ({entry.miou_ms_flip:.2f} ms+flip)"


class ModelPanel(QDockWidget):
    """Emits ``configChanged`` on any change; ``segmentRequested`` / ``segmentAllRequested`` /
    ``cancelBatchRequested`` from its buttons. Fine-tuned versions plug in through
    :meth:`set_extra_choices` (the training panel's hook)."""

    configChanged = Signal(object)
    segmentRequested = Signal()
    segmentAllRequested = Signal()
    cancelBatchRequested = Signal()
    cancelSegmentRequested = Signal()
    importRequested = Signal()
    mapClassesRequested = Signal()  # "Map classes…" beside the model-vs-project classes line

    def __init__(self, parent=None) -> None:
        super().__init__("Model", parent)
        self.setObjectName("model")
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(24)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.items = QStandardItemModel(self)
        self.combo.setModel(self.items)
        self._extra: list[ModelChoice] = []
        self._rebuild()

        self.device = QComboBox()
        self.device.addItem("Auto", "auto")
        self.device.addItem("CPU", "cpu")
        self.device.addItem("CUDA", "cuda")
        if not _cuda_available():
            self.device.model().item(2).setEnabled(False)
        self.precision = QComboBox()
        for value, title in PRECISION_CHOICES:
            self.precision.addItem(title, value)
        self.precision.setToolTip("Auto: half precision through the fast path on a GPU (same masks on "
                                  "more than 99.5 % of pixels), exact fp32 on the CPU")
        self.tta = QCheckBox("Multi-scale + flip (slower, a little better)")
        self.status = QLabel(wordWrap=True)
        self.status.setStyleSheet("color: palette(mid)")
        # A wrapped label does not claim its height in a dock: reserve three lines so the
        # model description is never drawn under the combo boxes.
        self.status.setMinimumHeight(3 * self.status.fontMetrics().lineSpacing() + 4)

        self.classes_line = QLabel(visible=False, wordWrap=True)  # the model's classes are not the project's
        self.map_button = QPushButton("Map classes…", visible=False)
        self.map_button.setToolTip("Which project class each of the model's classes becomes in its predictions "
                                   "(a model class of no project class gives none: masks look empty there)")
        self.map_button.clicked.connect(self.mapClassesRequested)

        self.segment_button = QPushButton("Pre-segment image")
        self.segment_button.setToolTip("Run the model on the current image (Ctrl+Return)")
        self.segment_all_button = QPushButton("Segment all new")
        self.segment_all_button.setToolTip("Segment every image still 'new' in a background process")
        self.segment_button.clicked.connect(self.segmentRequested)
        self.segment_all_button.clicked.connect(self.segmentAllRequested)
        self.batch_bar = QProgressBar(visible=False)
        self.batch_label = QLabel(visible=False, wordWrap=True)
        self.cancel_button = QPushButton("Cancel", visible=False)
        self.cancel_button.clicked.connect(self.cancelBatchRequested)
        self.import_button = QPushButton("Import a checkpoint file…")
        self.import_button.setToolTip("Use a checkpoint file (the official one downloaded elsewhere, or a "
                                      "fine-tuned one); it is kept in the cache")
        self.import_button.clicked.connect(self.importRequested)
        # the single-image pre-segment: a busy bar with the elapsed time, and Cancel
        self.segment_bar = QProgressBar(visible=False, minimum=0, maximum=0)
        self.segment_bar.setTextVisible(False)
        self.segment_label = QLabel(visible=False)
        self.segment_cancel = QPushButton("Cancel", visible=False)
        self.segment_cancel.setToolTip("Stop waiting for this prediction (Esc); the image stays as it is")
        self.segment_cancel.clicked.connect(self.cancelSegmentRequested)

        form = QFormLayout()
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("Weights", self.import_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.segment_button)
        buttons.addWidget(self.segment_all_button)
        segmenting = QHBoxLayout()
        segmenting.addWidget(self.segment_bar, 1)
        segmenting.addWidget(self.segment_label)
        segmenting.addWidget(self.segment_cancel)
        batch = QHBoxLayout()
        batch.addWidget(self.batch_bar, 1)
        batch.addWidget(self.cancel_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.combo)
        layout.addWidget(self.status)
        layout.addWidget(self.classes_line)
        layout.addWidget(self.map_button)
        layout.addLayout(form)
        layout.addWidget(self.tta)
        layout.addLayout(buttons)
        layout.addLayout(segmenting)
        layout.addLayout(batch)
        layout.addWidget(self.batch_label)
        layout.addStretch(1)
        self.setWidget(body)

        for widget in (self.combo, self.device, self.precision):
            widget.currentIndexChanged.connect(self._changed)
        self.tta.toggled.connect(self._changed)

    # -- choices ---------------------------------------------------------------------------
    def _rebuild(self) -> None:
        selected = self.choice() if self.items.rowCount() else None
        self.items.clear()
        groups: dict[str, list[ZooEntry]] = {}
        for entry in ZOO:
            groups.setdefault(entry.dataset.title, []).append(entry)
        for title, entries in groups.items():
            self._header(title)
            for entry in entries:
                self._add(entry_title(entry), ModelChoice(entry.name))
        for title, fine_tuned in (("Fine-tuned", True), ("Imported files", False)):
            listed = [choice for choice in self._extra if choice.fine_tuned == fine_tuned]
            if listed:
                self._header(title)
            for choice in listed:
                name = choice.title or choice.label or Path(choice.checkpoint).name
                self._add(f"{name} (on {choice.entry.backbone}, "
                          f"{choice.entry.dataset.title.split()[0]})", choice)
        self.refresh_marks()
        if selected is None or not self.select(selected):
            self.select(GENERAL_MODEL)  # everyday photos: ADE20K R50, the quickest on a CPU

    def _header(self, title: str) -> None:
        item = QStandardItem(title)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        font = item.font()
        font.setBold(True)
        item.setFont(font)
        self.items.appendRow(item)

    def _add(self, text: str, choice: ModelChoice) -> None:
        item = QStandardItem("    " + text)
        item.setData(choice, ChoiceRole)
        item.setToolTip(f"{choice.name}" + (f"\n{choice.checkpoint}" if choice.checkpoint else ""))
        self.items.appendRow(item)

    def set_extra_choices(self, choices: list[ModelChoice]) -> None:
        """Hook for fine-tuned versions and imported files: listed after the zoo, under
        "Fine-tuned" or "Imported files" (``ModelChoice.fine_tuned``)."""
        self._extra = list(choices)
        self._rebuild()

    def extra_choices(self) -> list[ModelChoice]:
        return list(self._extra)

    def add_extra_choice(self, choice: ModelChoice, select: bool = True) -> None:
        if choice not in self._extra:
            self.set_extra_choices(self._extra + [choice])
        if select:
            self.select(choice)

    def choice(self) -> ModelChoice:
        data = self.combo.currentData(ChoiceRole)
        return data if isinstance(data, ModelChoice) else ModelChoice(ZOO[0].name)

    def find(self, model_id: str, checkpoint: str = "") -> ModelChoice | None:
        """The listed choice recorded as ``model_id`` (a version or imported file's label, or a
        zoo entry's name), or holding ``checkpoint``."""
        for row in range(self.items.rowCount()):
            choice = self.items.item(row).data(ChoiceRole)
            if not isinstance(choice, ModelChoice):
                continue
            if (checkpoint and choice.checkpoint and str(choice.checkpoint) == checkpoint) or (
                    model_id and (choice.label or (choice.name if choice.checkpoint is None else None)) == model_id):
                return choice
        return None

    def select(self, choice: ModelChoice | str) -> bool:
        if isinstance(choice, str):
            choice = ModelChoice(get_entry(choice).name)
        for row in range(self.items.rowCount()):
            if self.items.item(row).data(ChoiceRole) == choice:
                self.combo.setCurrentIndex(row)
                return True
        return False

    # -- configuration ------------------------------------------------------------------------
    def config(self) -> ModelConfig:
        choice = self.choice()
        return ModelConfig(choice.name, choice.checkpoint, self.device.currentData(),
                           self.precision.currentData(), self.tta.isChecked(), choice.label)

    def set_options(self, device: str, precision: str, tta: bool) -> None:
        for combo, value in ((self.device, device), (self.precision, precision)):
            index = combo.findData(value)
            if index >= 0 and combo.model().item(index).isEnabled():
                combo.setCurrentIndex(index)
        self.tta.setChecked(tta)

    def refresh_marks(self) -> None:
        """Mark the zoo entries whose checkpoint is in the cache (✓: works offline)."""
        for row in range(self.items.rowCount()):
            item = self.items.item(row)
            choice = item.data(ChoiceRole)
            if isinstance(choice, ModelChoice) and choice.checkpoint is None:
                here = cached_checkpoint(choice.entry) is not None
                item.setText((f"  {DOWNLOADED_MARK} " if here else "    ") + entry_title(choice.entry))
                item.setToolTip(f"{choice.name}\n" + ("Downloaded: works offline" if here
                                                      else "Not downloaded yet: fetched on first use"))

    def refresh_status(self) -> None:
        self.refresh_marks()
        choice = self.choice()
        entry = choice.entry
        if choice.checkpoint and choice.title:
            where = f"fine-tuned version “{choice.title}”"
        elif choice.checkpoint:
            where = f"file: {Path(choice.checkpoint).name}"
        elif cached_checkpoint(entry):
            where = "checkpoint downloaded"
        else:
            where = "checkpoint not downloaded yet (fetched on first use)"
        fps = f", {entry.fps:g} fps on a V100" if entry.fps else ""
        if choice.checkpoint:  # its own weights, maybe its own classes: only the architecture is the entry's
            self.status.setText(f"{entry.dataset.title} {entry.backbone} architecture{fps}; {where}")
        else:
            self.status.setText(f"{entry.dataset.title}, {len(entry.classes)} classes{fps}; {where}")

    def show_classes_line(self, text: str) -> None:
        """One line when the model's classes are not the project's, with Map classes… (empty: hidden)."""
        self.classes_line.setText(("⚠ " + text) if text else "")
        self.classes_line.setVisible(bool(text))
        self.map_button.setVisible(bool(text))

    def _changed(self, *_args) -> None:
        self.refresh_status()
        self.configChanged.emit(self.config())

    # -- single image ----------------------------------------------------------------------------
    def show_segmenting(self, running: bool, text: str = "") -> None:
        """The busy bar, elapsed time and Cancel of a pre-segment of the current image."""
        for widget in (self.segment_bar, self.segment_label, self.segment_cancel):
            widget.setVisible(running)
        self.segment_label.setText(text)
        self.segment_button.setEnabled(not running)

    # -- batch progress --------------------------------------------------------------------------
    def show_batch(self, running: bool) -> None:
        self.batch_bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.segment_all_button.setEnabled(not running)
        if running:
            self.batch_bar.setValue(0)
            self.batch_label.setVisible(True)

    def set_batch_progress(self, done: int, total: int, text: str) -> None:
        self.batch_bar.setMaximum(max(total, 1))
        self.batch_bar.setValue(done)
        self.batch_label.setText(text)

    def set_batch_message(self, text: str) -> None:
        self.batch_label.setVisible(bool(text))
        self.batch_label.setText(text)


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
